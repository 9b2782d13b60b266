"""Distributed ingest on a real local Ray (2 CPUs, no dashboard): add_dataset and
`embedspace add --ray`, resumable after a failure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app

ray = pytest.importorskip("ray", reason="the ray extra is not installed (make install adds it)")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def reviews(demo_docs):
    return [d for d in demo_docs if d.metadata["kind"] != "plot"][:240]


def test_add_dataset_then_resume_after_a_failure(local_ray, reviews, tmp_path, encoder):
    rows = [{"text": d.text, "doc": d.id, "kind": d.metadata["kind"]} for d in reviews]
    broken = rows[:150] + [{"text": "   ", "doc": "blank", "kind": "fresh"}] + rows[150:]
    with es.Space(tmp_path / "ray.space", progress=False, batch_size=40) as space:
        with pytest.raises(Exception, match="empty or non-text"):
            space.add_dataset(ray.data.from_items(broken), text_column="text", id_column="doc")
        before = len(space)
        assert before < 240  # the run died part-way: whatever was written is whole items
        report = space.add_dataset(ray.data.from_items(rows), text_column="text", id_column="doc")
        assert (report.unchanged, report.added) == (before, 240 - before)
        assert len(space) == 240 and sorted(space.ids()) == sorted(d.id for d in reviews)
        assert space.get(reviews[5].id).metadata == {"kind": reviews[5].metadata["kind"]}
        # the same vectors as embedding in this process, up to the batch-mates' effect of
        # int8 dynamic quantisation (scales per batch; see test_encoder_text.py)
        ids = [d.id for d in reviews[:20]]
        local = encoder.encode([d.text for d in reviews[:20]], role="document")
        agreement = np.einsum("ij,ij->i", space.vectors(ids), local)
        assert agreement.min() > 0.965 and agreement.mean() > 0.985
        assert space.search(reviews[9].text, k=1)[0].id == reviews[9].id


def test_cli_add_with_ray(local_ray, reviews, tmp_path):
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"review": d.text}) + "\n" for d in reviews[:60]))
    space = tmp_path / "cli.space"
    args = ["add", str(space), str(source), "--text-field", "review", "--json", "--ray"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["added"] == 60
    again = CliRunner().invoke(app, args)
    assert json.loads(again.output.strip().splitlines()[-1])["unchanged"] == 60
    with es.Space(space, progress=False) as sp:
        assert len(sp) == 60 and all(i.startswith("reviews.jsonl#") for i in sp.ids())
        assert {it.text for it in sp.items(sp.ids())} == {d.text for d in reviews[:60]}


def test_ray_workers_write_to_postgres(local_ray, reviews, postgres_uri):
    """The scale-out path: Ray workers look hashes up in Postgres by its URI."""
    rows = [{"text": d.text, "kind": d.metadata["kind"]} for d in reviews[:80]]
    location = f"{postgres_uri}&collection=from_ray"
    with es.Space(location, progress=False) as space:
        first = space.add_dataset(ray.data.from_items(rows), text_column="text", workers=2)
        again = space.add_dataset(ray.data.from_items(rows), text_column="text", workers=1)
        distinct = len({r["text"] for r in rows})
        assert (first.added, again.unchanged) == (distinct, 80) and len(space) == distinct
        assert space.search(rows[3]["text"], k=1)[0].text == rows[3]["text"]
        assert space.search("boring", k=5, mode="hybrid", where={"kind": "rotten"})
