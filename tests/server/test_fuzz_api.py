"""Bad input, fuzzed (hypothesis) over the Python API and the CLI.

Every example either works or raises the project's own EmbedspaceError with a message;
anything else (a crash, a bare ValueError from deep inside, a traceback on the CLI)
fails the test and hypothesis shrinks it to the smallest input that does it. The spaces
the fuzzers hit are checked (``Space.check``) as they go: bad input never damages them.

Budget: about 5,500 examples in total, derandomised (the ``embedspace`` profile in
conftest.py) so CI is repeatable; ``HYPOTHESIS_PROFILE=explore`` draws fresh ones and
``EMBEDSPACE_FUZZ_SCALE=10`` runs ten times as many.
"""

from __future__ import annotations

import io
import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from helpers.figures import record
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app
from embedspace.encoders.image import to_rgb
from embedspace.errors import EmbedspaceError

SCALE = float(os.environ.get("EMBEDSPACE_FUZZ_SCALE", "1"))
DIM = 8
COUNTS: dict[str, int] = {}


def examples(n: int) -> settings:
    return settings(max_examples=max(1, int(n * SCALE)))


def attempt(fn, *args, **kwargs):
    """Run one call: its result, or None after a documented error with a message."""
    try:
        return fn(*args, **kwargs)
    except EmbedspaceError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


def count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


# -- strategies ---------------------------------------------------------------------------
#: Any code point, including lone surrogates, controls, NUL, combining marks and bidi.
any_char = st.one_of(
    st.characters(),
    st.characters(categories=["Cc", "Cs", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]),
)
weird_text = st.one_of(
    st.text(any_char, max_size=40),
    st.sampled_from(["", " ", "\x00", "\n\t", "\ud800", "a\udfffb", "\u202e evil", "🙂" * 50]),
)
huge_text = st.integers(1, 3).map(lambda n: "lorem ipsum dolor " * (20_000 * n))
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    weird_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(weird_text, inner, max_size=3),
    max_leaves=6,
)
metadata_st = st.one_of(
    st.none(),
    st.dictionaries(weird_text, json_value, max_size=3),
    st.sets(st.integers(), max_size=2),
    st.integers(),
)
id_st = st.one_of(
    weird_text,
    st.integers(-5, 5),
    st.none(),
    st.text(max_size=2000),
    st.sampled_from(["../../etc/passwd", "a/b", "x" * 1025]),
)
k_st = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, 1, 2**31, 2**63 - 1, 10**30, True, None, 1.5, "10", float("nan")]),
)
number = st.floats(allow_nan=True, allow_infinity=True, width=32)


def rows_st(n: int, dim: int = DIM):
    """n well-formed rows of floats."""
    return st.lists(
        st.lists(st.floats(-10, 10, width=32), min_size=dim, max_size=dim), min_size=n, max_size=n
    )


def vectors_st(n: int = 1, dim: int = DIM):
    """Arrays of any shape/content, right or wrong: ragged lists, strings, NaN, inf."""
    good = rows_st(n, dim)
    return st.one_of(
        good,
        good,
        good.map(lambda rows: [[*row[:-1], float("nan")] for row in rows]),
        st.lists(st.lists(number, max_size=dim + 2), max_size=4),
        st.lists(number, max_size=dim + 2),
        st.sampled_from([[], [[]], "vector", None, [[0.0] * dim], [["a"] * dim], [[1e39] * dim]]),
        st.just(np.zeros((0, dim))),
        st.just(np.ones((2, dim, 1))),
    )


def lists_of(n: int, element):
    """Mostly one element per row (so the call gets past the length checks), sometimes not."""
    return st.one_of(
        st.none(),
        st.lists(element, min_size=n, max_size=n),
        st.lists(element, min_size=n, max_size=n),
        st.lists(element, max_size=4),
    )


where_st = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(weird_text, st.sampled_from(["group", "a.b", "x'y", "k;DROP TABLE items"])),
        st.one_of(
            json_scalar,
            st.dictionaries(
                st.sampled_from(["$eq", "$ne", "$gt", "$in", "$nin", "$lte", "$bad"]),
                st.one_of(json_scalar, st.lists(json_scalar, max_size=4)),
                max_size=2,
            ),
        ),
        max_size=2,
    ),
    st.sampled_from([{}, [], "group=1", {"group": {"$in": list(range(40_000))}}]),
)


# -- the spaces -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vector_space(tmp_path_factory):
    """A bring-your-own-vectors space: the encoder is not what these properties test."""
    path = tmp_path_factory.mktemp("fuzz") / "vectors.space"
    with es.Space(path, model=None, dim=DIM, progress=False) as space:
        rng = np.random.default_rng(0)
        space.add_vectors(
            rng.normal(size=(50, DIM)),
            ids=[f"seed-{i}" for i in range(50)],
            texts=[f"seed text number {i}" for i in range(50)],
            metadata=[{"group": i % 5} for i in range(50)],
        )
        yield space
        assert space.check().ok


@pytest.fixture(scope="module")
def text_space(tmp_path_factory, demo_docs):
    path = tmp_path_factory.mktemp("fuzz") / "text.space"
    docs = [d for d in demo_docs if d.metadata["kind"] != "plot"][:30]
    with es.Space(path, progress=False) as space:
        space.add([d.text for d in docs], ids=[d.id for d in docs])
        yield space
        assert space.check().ok


def _checked(space: es.Space, every: int, name: str) -> None:
    count(name)
    if COUNTS[name] % every == 0:
        report = space.check()
        assert report.ok, report.errors


# -- Python API ---------------------------------------------------------------------------
@st.composite
def add_vectors_call(draw):
    n = draw(st.integers(1, 4))
    return (
        draw(vectors_st(n)),
        draw(lists_of(n, id_st)),
        draw(lists_of(n, metadata_st)),
        draw(lists_of(n, weird_text | huge_text)),
    )


@examples(1200)
@given(call=add_vectors_call())
def test_add_vectors_any_input(vector_space, call):
    vectors, ids, metadata, texts = call
    before = len(vector_space)
    added = attempt(vector_space.add_vectors, vectors, ids=ids, metadata=metadata, texts=texts)
    if added is None:
        assert len(vector_space) == before  # a refused call writes nothing
    else:
        vector_space.delete([i for i in added if not str(i).startswith("seed-")])
    _checked(vector_space, 100, "add_vectors")


@examples(1200)
@given(vector=vectors_st(), k=k_st, where=where_st)
def test_search_vector_any_input(vector_space, vector, k, where):
    hits = attempt(vector_space.search_vector, vector, k=k, where=where)
    if hits is not None:
        assert len(hits) <= min(int(k), len(vector_space))
        assert all(np.isfinite(h.score) for h in hits)
    count("search_vector")


@examples(600)
@given(
    query=weird_text | huge_text,
    k=k_st,
    mode=st.sampled_from(["sparse", "dense", "x"]),
    where=where_st,
    fusion=st.sampled_from(["convex", "rrf", "?"]),
    alpha=number,
)
def test_keyword_search_any_input(vector_space, query, k, mode, where, fusion, alpha):
    attempt(vector_space.search, query, k=k, mode=mode, where=where, fusion=fusion, alpha=alpha)
    count("search")


@examples(600)
@given(
    ids=st.lists(id_st, max_size=3),
    text=st.one_of(st.none(), weird_text),
    metadata=metadata_st,
    action=st.sampled_from(["get", "items", "vectors", "delete", "update"]),
)
def test_unknown_and_odd_ids(vector_space, ids, text, metadata, action):
    ids = [i for i in ids if not (isinstance(i, str) and i.startswith("seed-"))]
    before = len(vector_space)
    if action == "get":
        attempt(vector_space.get, ids[0] if ids else None)
    elif action == "items":
        attempt(vector_space.items, ids)
    elif action == "vectors":
        attempt(vector_space.vectors, ids)
    elif action == "delete":
        attempt(vector_space.delete, ids)
        assert len(vector_space) == before  # none of them exists
    else:
        attempt(vector_space.update, ids[0] if ids else "nope", text=text, metadata=metadata)
    _checked(vector_space, 100, "ids")


@examples(250)
@given(
    texts=st.lists(weird_text, min_size=1, max_size=3),
    ids=st.one_of(st.none(), st.lists(id_st, max_size=3)),
    query=weird_text,
    mode=st.sampled_from(["dense", "hybrid", "sparse"]),
)
def test_text_model_any_text(text_space, texts, ids, query, mode):
    """Real encoder: random unicode, controls, surrogates, in add, embed and search."""
    added = attempt(text_space.add, texts, ids=ids)
    if added:
        text_space.delete(added)
    attempt(es.embed, texts)
    attempt(text_space.search, query, k=3, mode=mode)
    _checked(text_space, 25, "text")


def test_huge_text_is_chunked_not_refused(text_space):
    """A 30 kB text (about 25 chunks): chunked and stored whole, found by its words."""
    text = "a quiet lighthouse keeper writes letters to the sea. " * 600
    [id_] = text_space.add([text], ids=["huge"])
    assert text_space.get(id_).text == text
    assert text_space.search("lighthouse keeper letters", k=1)[0].id == "huge"
    text_space.delete([id_])
    assert text_space.check().ok


# -- files ----------------------------------------------------------------------------
def _csv_st():
    cell = st.one_of(weird_text, st.sampled_from(['"', '""', "a,b", "x\ny", "\r\n", "\x00"]))
    row = st.lists(cell, max_size=4).map(lambda cells: ",".join(cells))
    header = st.sampled_from(["text,id", "text", "id,content", "", "text,text", '"text'])
    return st.tuples(header, st.lists(row, max_size=5)).map(
        lambda hr: "\n".join([hr[0], *hr[1]]).encode("utf-8", "surrogatepass")
    )


def _jsonl_st():
    line = st.one_of(
        json_value.map(lambda v: json.dumps(v, allow_nan=True)),
        st.dictionaries(
            st.sampled_from(["text", "id", "content", "x"]), json_value, max_size=3
        ).map(json.dumps),
        weird_text,
    )
    return st.lists(line, max_size=5).map(
        lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")
    )


def _parquet_st():
    row = st.dictionaries(
        st.sampled_from(["text", "id", "content", "n"]),
        st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=20), st.binary(max_size=8)),
        max_size=3,
    )

    def to_bytes(rows):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowException, TypeError, ValueError):
            return b"PAR1 not really"
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    valid = st.lists(row, max_size=4).map(to_bytes)
    return st.one_of(valid, valid.map(lambda b: b[: len(b) // 2]), st.binary(max_size=64))


file_st = st.one_of(
    st.tuples(st.just(".csv"), _csv_st()),
    st.tuples(st.just(".tsv"), _csv_st()),
    st.tuples(st.just(".jsonl"), _jsonl_st()),
    st.tuples(st.just(".parquet"), _parquet_st()),
    st.tuples(st.sampled_from([".txt", ".md", ".csv", ".jsonl"]), st.binary(max_size=64)),
    st.tuples(st.sampled_from([".pdf", ".exe", ""]), st.binary(max_size=16)),
)


@examples(400)
@given(
    file=file_st,
    text_field=st.sampled_from([None, "text", "nope"]),
    id_field=st.sampled_from([None, "id", "nope"]),
)
def test_malformed_files_python_api(text_space, tmp_path_factory, file, text_field, id_field):
    suffix, data = file
    path = tmp_path_factory.mktemp("files") / f"input{suffix}"
    path.write_bytes(data)
    before = set(text_space.ids())
    report = attempt(text_space.add_files, [path], text_field=text_field, id_field=id_field)
    if report is not None:
        text_space.delete(sorted(set(text_space.ids()) - before))
    _checked(text_space, 50, "files")


# -- images -----------------------------------------------------------------------------
def _image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    rng = np.random.default_rng(size[0] * 31 + size[1])
    image = Image.fromarray((rng.random((size[1], size[0], 3)) * 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _corrupt(data: bytes, cut: float, flips: list[tuple[float, int]]) -> bytes:
    out = bytearray(data[: max(1, int(len(data) * cut))])
    for where, value in flips:
        out[int(where * (len(out) - 1))] = value
    return bytes(out)


def _png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header for a huge image with almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


#: Truncated and bit-flipped PNG/JPEG/GIF/BMP files, and a PNG that claims 100k x 100k.
bad_image_st = st.one_of(
    st.builds(
        _corrupt,
        st.builds(
            _image_bytes,
            st.sampled_from(["PNG", "JPEG", "GIF", "BMP"]),
            st.tuples(st.integers(1, 40), st.integers(1, 40)),
        ),
        st.floats(0.0, 0.99),
        st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=3),
    ),
    st.just(_png_claiming(100_000, 100_000)),
    st.binary(max_size=64),
)


@examples(400)
@given(data=bad_image_st, suffix=st.sampled_from([".png", ".jpg", ".gif"]))
def test_corrupt_images_decode_or_refuse(tmp_path_factory, data, suffix):
    """The decoding gate every image path goes through (add_images, search_image,
    classify, embed_images) never lets a Pillow exception through."""
    path = tmp_path_factory.mktemp("img") / f"bad{suffix}"
    path.write_bytes(data)
    image = attempt(to_rgb, path)
    if image is not None:
        assert image.mode == "RGB"
    count("images")


@examples(200)
@given(
    array=st.one_of(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 6)).map(
            lambda s: np.full(s, 0.5, dtype=np.float32)
        ),
        st.just(np.full((4, 4, 3), np.nan)),
        st.just(np.array(["a", "b"])),
        st.just(np.zeros((3, 3, 3), dtype=np.complex64)),
        st.sampled_from([None, 3, b"bytes", ["x"]]),
    )
)
def test_odd_image_arrays(array):
    attempt(to_rgb, array)
    count("images")


@pytest.mark.parametrize("n", [int(30 * SCALE) or 1])
def test_add_images_skips_corrupt_files(text_space, tmp_path, n):
    """Through the full add_images path: corrupt files are skipped and reported, a
    good one in the same call still lands, and the space stays whole."""
    pytest.importorskip("torch", reason="the image tower needs the torch extra")
    rng = np.random.default_rng(0)
    folder = tmp_path / "pics"
    folder.mkdir()
    good = _image_bytes("PNG", (32, 32))
    for i in range(n):
        data = _corrupt(good, rng.uniform(0.05, 0.95), [])
        (folder / f"bad-{i}.png").write_bytes(data)
    (folder / "good.png").write_bytes(good)
    report = text_space.add_images([folder])
    assert report.added == 1 and len(report.skipped) == n
    text_space.delete(["good.png"])
    assert text_space.check().ok
    COUNTS["images"] = COUNTS.get("images", 0) + n + 1


# -- CLI ------------------------------------------------------------------------------
runner = CliRunner()


def _cli_ok(result) -> None:
    """Exit 0, 1 (a one-line error) or 2 (a usage error); never a traceback."""
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@examples(300)
@given(
    query=weird_text,
    k=st.one_of(st.integers(-3, 10**12).map(str), weird_text),
    mode=st.sampled_from(["dense", "sparse", "hybrid", "bogus"]),
    where=st.lists(
        weird_text | st.sampled_from(["kind=fresh", "=x", "a=[1,", 'a={"$in":[]}']), max_size=2
    ),
    alpha=st.sampled_from(["0.5", "nan", "-1", "x"]),
)
def test_cli_search_any_input(text_space, query, k, mode, where, alpha):
    assume("\x00" not in query and not any(0xD800 <= ord(c) <= 0xDFFF for c in query + k))
    args = ["search", str(text_space.path), query, "--k", k, "--mode", mode, "--alpha", alpha]
    for w in where:
        if "\x00" not in w and not any(0xD800 <= ord(c) <= 0xDFFF for c in w):
            args += ["--where", w]
    _cli_ok(runner.invoke(app, args))
    count("cli")


@examples(250)
@given(file=file_st)
def test_cli_add_malformed_files(text_space, tmp_path_factory, file):
    suffix, data = file
    path = tmp_path_factory.mktemp("cli") / f"input{suffix}"
    path.write_bytes(data)
    before = set(text_space.ids())
    result = runner.invoke(app, ["add", str(text_space.path), str(path), "--json"])
    _cli_ok(result)
    text_space.delete(sorted(set(text_space.ids()) - before))
    result = runner.invoke(app, ["check", str(text_space.path), "--json"])
    assert result.exit_code == 0, result.output
    count("cli")


def test_fuzz_budget():
    """Runs last in this module: the examples above add up to the promised budget."""
    total = sum(COUNTS.values())
    record("fuzz", examples=total, by_property=COUNTS, scale=SCALE)
    if SCALE >= 1 and len(COUNTS) >= 7:
        assert total >= 5000, COUNTS


def test_cli_check_reports_damage(tmp_path):
    """`embedspace check` exits 1 and names the problem when a space is damaged, and
    `--repair` rebuilds a damaged index file."""
    path = tmp_path / "d.space"
    with es.Space(path, model=None, dim=4, index="hnsw", progress=False) as space:
        space.add_vectors(np.eye(4, dtype=np.float32) + 0.1, ids=list("abcd"))
    (path / "index-hnsw.faiss").write_bytes(b"torn")
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 1
    assert "index-hnsw.faiss" in json.loads(result.output)["errors"][0]
    result = runner.invoke(app, ["check", str(path), "--repair", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["repaired"]
    assert Path(path / "index-hnsw.faiss").stat().st_size > 100
