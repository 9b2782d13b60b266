"""The retrieval suite's tasks, built from public data read in place (never copied).

Hybrid fusion was first tuned on two sets (SciFact, banking77-paraphrase) and then failed
on a 20-answer FAQ: a rule has to hold on corpora of every size and kind. So the suite
spans keyword-heavy science claims, paraphrased questions, small FAQ draws of 10-50
answers, hand-written shop answers, very short intent names, duplicate sentences, highly
similar pairs and topic retrieval. Big sets are subsampled with fixed seeds so the whole
suite stays within minutes on two cores.

Splits are chosen so the packaged cross-encoder, trained on STS-B train, SICK train
(``pair_ID % 5 != 0``), MRPC train and SciFact train claims, is evaluated only on text
it has not seen: STS-B test, SICK dev, MRPC test, SciFact test claims.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from benchmarks.clustering import strip_header
from benchmarks.duplicates import MRPC, load_mrpc
from benchmarks.sentences import read_stsb
from benchmarks.shop_faq import SHOP_ANSWERS, SHOP_QUESTIONS
from embedspace.eval.datasets import RetrievalSet, load_banking77_paraphrase, load_scifact_zip
from embedspace.train.pairs import sick_split

#: Queries kept per task (a fixed-seed sample of larger sets).
MAX_QUERIES = 300
#: FAQ draws from banking77: (answers, seed). One answer text per intent.
FAQ_DRAWS = ((10, 1), (20, 2), (35, 3), (50, 4))
#: A pair at or above this share of its scale's top counts as "the same meaning".
HIGH_SCORE = 0.75


@dataclass(frozen=True)
class SuiteTask:
    """One retrieval task; ``single_answer`` tasks also report top-1 accuracy."""

    data: RetrievalSet
    kind: str
    single_answer: bool = False


def _sample(items: list, n: int, seed: int) -> list:
    return items if len(items) <= n else random.Random(seed).sample(items, n)


def _keep_queries(data: RetrievalSet, n: int = MAX_QUERIES, seed: int = 0) -> RetrievalSet:
    kept = _sample([q for q in data.queries if data.qrels.get(q)], n, seed)
    return RetrievalSet(
        data.name, data.corpus, {q: data.queries[q] for q in kept}, {q: data.qrels[q] for q in kept}
    )


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _pairs_task(name: str, kind: str, pairs: Iterable[tuple[str, str]], seed: int) -> RetrievalSet:
    """Query -> document retrieval from (a, b) pairs: every distinct b is a document, an
    a's relevant documents are its partners. A sentence that is itself a document is no
    query (it would find its own copy)."""
    corpus: dict[str, str] = {}
    doc_of: dict[str, str] = {}
    partners: dict[str, set[str]] = {}
    for a, b in pairs:
        if b not in doc_of:
            doc_of[b] = f"d{len(doc_of)}"
            corpus[doc_of[b]] = b
        if a != b:
            partners.setdefault(a, set()).add(b)
    queries, qrels = {}, {}
    for n, (text, wanted) in enumerate(partners.items()):
        if text not in doc_of:
            queries[f"q{n}"] = text
            qrels[f"q{n}"] = {doc_of[t]: 1 for t in wanted}
    return _keep_queries(RetrievalSet(name, corpus, queries, qrels), seed=seed)


def scifact(root: Path) -> SuiteTask:
    data = load_scifact_zip(root / "retrieval" / "scifact" / "scifact.zip")
    return SuiteTask(_keep_queries(data), "keywords: science claims -> abstracts")


def banking77_paraphrase(root: Path) -> SuiteTask:
    data = load_banking77_paraphrase(root / "cls" / "banking77")
    return SuiteTask(_keep_queries(data), "paraphrase: question -> same-intent questions")


def banking77_faq(root: Path, answers: int, seed: int) -> SuiteTask:
    """A small FAQ: ``answers`` intents drawn at random, one train question each as the
    answer text; held-out test questions of those intents are the queries."""
    folder = root / "cls" / "banking77"
    by_intent: dict[str, list[str]] = {}
    for row in _csv_rows(folder / "banking77_train.csv"):
        by_intent.setdefault(row["category"], []).append(row["text"])
    rng = random.Random(seed)
    intents = rng.sample(sorted(by_intent), answers)
    corpus = {intent: rng.choice(by_intent[intent]) for intent in intents}
    tests = [r for r in _csv_rows(folder / "banking77_test.csv") if r["category"] in corpus]
    queries = {f"q{n}": r["text"] for n, r in enumerate(tests)}
    qrels = {f"q{n}": {r["category"]: 1} for n, r in enumerate(tests)}
    data = RetrievalSet(f"faq-banking77-{answers}-s{seed}", corpus, queries, qrels)
    return SuiteTask(_keep_queries(data, seed=seed), f"FAQ: {answers} answers", True)


def banking77_intent_names(root: Path) -> SuiteTask:
    """The 77 intent names as tiny documents ("card arrival"): a title-only FAQ."""
    tests = _csv_rows(root / "cls" / "banking77" / "banking77_test.csv")
    corpus = {r["category"]: r["category"].replace("_", " ") for r in tests}
    queries = {f"q{n}": r["text"] for n, r in enumerate(tests)}
    qrels = {f"q{n}": {r["category"]: 1} for n, r in enumerate(tests)}
    data = RetrievalSet("banking77-intent-names", corpus, queries, qrels)
    return SuiteTask(_keep_queries(data), "FAQ: 77 intent names", True)


def shop_faq(_root: Path) -> SuiteTask:
    """The issue's case: short shop answers, customer questions that share few words."""
    corpus = dict(SHOP_ANSWERS)
    queries = {f"q{n}": q for n, (q, _) in enumerate(SHOP_QUESTIONS)}
    qrels = {f"q{n}": {answer: 1} for n, (_, answer) in enumerate(SHOP_QUESTIONS)}
    data = RetrievalSet("shop-faq", corpus, queries, qrels)
    return SuiteTask(data, f"FAQ: {len(corpus)} hand-written shop answers", True)


def mrpc_duplicates(root: Path) -> SuiteTask:
    pairs = load_mrpc(root, "test")
    positives = [(a, b) for a, b, ok in zip(pairs.a, pairs.b, pairs.labels, strict=True) if ok]
    negatives = [(b, b) for b, ok in zip(pairs.b, pairs.labels, strict=True) if not ok]
    data = _pairs_task("mrpc-duplicates", "duplicate", positives + negatives, seed=0)
    return SuiteTask(data, "duplicates: sentence -> its paraphrase (MRPC test)")


def stsb_pairs(root: Path) -> SuiteTask:
    rows = read_stsb(root / "sts" / "stsbenchmark" / "sts-test.csv")
    pairs = [(a, b) if s >= 5 * HIGH_SCORE else (b, b) for a, b, s in rows]
    data = _pairs_task("stsb-pairs", "similar", pairs, seed=0)
    return SuiteTask(data, "similar: sentence -> its score >= 3.75/5 partner (STS-B test)")


def sick_pairs(root: Path) -> SuiteTask:
    pairs = []
    with (root / "sts" / "sick" / "SICK.txt").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if sick_split(int(row["pair_ID"])) == "dev":
                a, b = row["sentence_A"], row["sentence_B"]
                high = float(row["relatedness_score"]) >= 1 + 4 * HIGH_SCORE
                pairs.append((a, b) if high else (b, b))
    data = _pairs_task("sick-pairs", "similar", pairs, seed=0)
    return SuiteTask(data, "similar: sentence -> its relatedness >= 4/5 partner (SICK dev)")


def _topic_task(
    name: str, items: list[tuple[str, str, str]], docs_per_class: int, queries_per_class: int
) -> RetrievalSet:
    """(label, title, body) items -> title queries finding bodies of the same class; the
    query's own item is never in the corpus."""
    by_label: dict[str, list[tuple[str, str]]] = {}
    for label, title, body in items:
        by_label.setdefault(label, []).append((title, body))
    rng = random.Random(0)
    corpus, queries, qrels = {}, {}, {}
    for label, group in sorted(by_label.items()):
        picked = rng.sample(group, min(len(group), docs_per_class + queries_per_class))
        docs, asked = picked[:-queries_per_class], picked[-queries_per_class:]
        members = {f"{label}/{n}": body for n, (_, body) in enumerate(docs)}
        corpus.update(members)
        for n, (title, _) in enumerate(asked):
            queries[f"{label}/q{n}"] = title
            qrels[f"{label}/q{n}"] = dict.fromkeys(members, 1)
    return RetrievalSet(name, corpus, queries, qrels)


def agnews_topics(root: Path) -> SuiteTask:
    rows = _csv_rows(root / "cls" / "agnews" / "test.csv")
    items = [(r["label"], r["title"], r["description"].replace("\\", " ")) for r in rows]
    data = _topic_task("agnews-topics", items, docs_per_class=500, queries_per_class=75)
    return SuiteTask(data, "topic: news title -> same-class articles (AG News test)")


_SUBJECT = re.compile(r"^Subject:\s*(?:re:\s*)*(.*)$", re.I | re.M)
#: Posts are cut to their first characters: a topic shows early, and ingest stays short.
POST_CHARS = 1500


def newsgroups_topics(root: Path) -> SuiteTask:
    items = []
    for group in sorted((root / "cls" / "mini_newsgroups").iterdir()):
        for post in sorted(group.iterdir()):
            text = post.read_text(encoding="latin-1")
            subject, body = _SUBJECT.search(text), strip_header(text)[:POST_CHARS]
            if subject and subject.group(1).strip() and body:
                items.append((group.name, subject.group(1).strip(), body))
    data = _topic_task("newsgroups-topics", items, docs_per_class=50, queries_per_class=10)
    return SuiteTask(data, "topic: post subject -> same-group posts (mini 20 Newsgroups)")


#: (files it needs under the data root, builder). A task whose files are absent is skipped.
BUILDERS: tuple[tuple[str, Callable[[Path], SuiteTask]], ...] = (
    ("retrieval/scifact/scifact.zip", scifact),
    ("cls/banking77", banking77_paraphrase),
    *(("cls/banking77", lambda root, a=a, s=s: banking77_faq(root, a, s)) for a, s in FAQ_DRAWS),
    ("cls/banking77", banking77_intent_names),
    ("", shop_faq),
    (str(MRPC), mrpc_duplicates),
    ("sts/stsbenchmark", stsb_pairs),
    ("sts/sick", sick_pairs),
    ("cls/agnews", agnews_topics),
    ("cls/mini_newsgroups", newsgroups_topics),
)


def suite_tasks(root: Path | None) -> tuple[list[SuiteTask], list[str]]:
    """Every task whose data is present, and the paths of the ones skipped."""
    tasks, skipped = [], []
    for needs, build in BUILDERS:
        if needs and (root is None or not (root / needs).exists()):
            skipped.append(needs)
        else:  # root is None only for a task that needs no files (shop_faq ignores it)
            tasks.append(build(cast(Path, root)))
    return tasks, skipped
