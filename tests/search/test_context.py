"""space.context: retrieved passages, de-duplicated, within a token budget, with citations."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app
from embedspace.errors import InvalidInputError

runner = CliRunner()


@pytest.fixture
def movie_space(space, demo_docs):
    docs = [d for d in demo_docs if d.metadata["kind"] == "plot"][:60]
    space.add([d.text for d in docs], ids=[d.id for d in docs])
    # a second copy of one plot under another id: a near-duplicate the context must drop
    space.add([docs[0].text + " "], ids=["copy-of-" + docs[0].id])
    return space, docs


def _question(docs) -> str:
    return docs[0].text.split(".")[0]  # the first sentence of the duplicated plot


def test_context_fits_budget_and_cites_spans(movie_space, encoder):
    space, docs = movie_space
    ctx = space.context(_question(docs), max_tokens=300)
    assert ctx.citations and ctx.tokens <= 300
    assert ctx.tokens == len(encoder.token_spans(ctx.text))
    for c in ctx.citations:
        item = space.get(c.id)
        assert f"[{c.n}] {item.text[c.span[0] : c.span[1]].strip()}" in ctx.text


def test_context_drops_near_duplicates(movie_space):
    space, docs = movie_space
    # hybrid alone ranks both copies first; the check is about de-duplication
    ctx = space.context(_question(docs), max_tokens=2000, rerank=False)
    cited = {c.id for c in ctx.citations}
    assert len(cited & {docs[0].id, "copy-of-" + docs[0].id}) == 1
    assert set(ctx.dropped_duplicates) & {docs[0].id, "copy-of-" + docs[0].id}


def test_tiny_budget_cuts_the_best_passage(movie_space):
    space, docs = movie_space
    ctx = space.context(_question(docs), max_tokens=24)
    assert len(ctx.citations) == 1 and ctx.tokens <= 24
    c = ctx.citations[0]
    assert c.span[1] - c.span[0] < len(space.get(c.id).text)


def test_source_order_groups_documents(space, demo_docs):
    plot = next(d for d in demo_docs if d.metadata["kind"] == "plot" and len(d.text) > 1200)
    space.add([plot.text], ids=["long"])
    space.add([d.text for d in demo_docs[300:320]])
    ctx = space.context(plot.text[:200], max_tokens=2000, order="source", k=10)
    spans = [c.span for c in ctx.citations if c.id == "long"]
    assert spans == sorted(spans)


def test_context_arguments_are_checked(movie_space):
    space, _ = movie_space
    with pytest.raises(InvalidInputError):
        space.context("q", max_tokens=3)
    with pytest.raises(InvalidInputError):
        space.context("q", order="random")
    with pytest.raises(InvalidInputError):
        space.context("q", dedupe=0.0)


def test_cli_context_json(tmp_path, demo_docs):
    path = str(tmp_path / "c.space")
    with es.Space(path, progress=False) as sp:
        sp.add([d.text for d in demo_docs[:40]], ids=[d.id for d in demo_docs[:40]])
    result = runner.invoke(
        app, ["context", path, "a movie about a band", "--max-tokens", "200", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["tokens"] <= 200 and body["citations"]
    assert {"n", "id", "span", "score"} <= set(body["citations"][0])


def test_server_context(server_url):
    body = httpx.post(
        f"{server_url}/context", json={"question": "a movie about music", "max_tokens": 256}
    ).json()
    assert body["tokens"] <= 256 and body["citations"]
    bad = httpx.post(f"{server_url}/context", json={"question": "x", "max_tokens": 2})
    assert bad.status_code in (400, 422)
