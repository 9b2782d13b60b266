"""Readers for public retrieval benchmarks (read in place; never copied into the repo).

Two layouts: a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) and
the SciFact release zip (``corpus_train.csv`` + ``claims_validation.csv``, the 300 claims
BEIR calls SciFact-test). ``EMBEDSPACE_DATA`` points at the shared datasets folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tokenize
import zipfile
from ast import literal_eval
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError


@dataclass
class RetrievalSet:
    name: str
    corpus: dict[str, str]  # doc id -> title + text
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: relevance}


def data_root() -> Path | None:
    """The shared datasets folder, from $EMBEDSPACE_DATA or ../shared/datasets."""
    env = os.environ.get("EMBEDSPACE_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "datasets" for p in here.parents]
    return next((c for c in candidates if c.is_dir()), None)


def _string_literals(source: str) -> list[str]:
    """Every Python string literal in ``source``: SciFact stores abstracts as numpy-style
    list reprs without commas, which ``literal_eval`` would silently glue together."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [literal_eval(tok.string) for tok in tokens if tok.type == tokenize.STRING]


@dataclass
class SciFactClaims:
    """SciFact's corpus and the claims of one file that cite any document."""

    corpus: dict[str, str]  # doc id -> title + abstract
    claims: dict[str, str]  # claim id -> claim
    cited: dict[str, list[str]]  # claim id -> cited doc ids, as written (some not in corpus)


def read_scifact(path: Path, claims_file: str) -> SciFactClaims:
    """The one reader of the SciFact release zip: its corpus and ``claims_file``
    (``claims_validation.csv``: the benchmark's test claims; ``claims_train.csv``: training).
    A claim may span several rows; their cited ids are merged."""
    with zipfile.ZipFile(path) as archive:

        def rows(name: str) -> list[dict[str, str]]:
            return list(csv.DictReader(io.TextIOWrapper(archive.open(name), encoding="utf-8")))

        corpus = {
            row["doc_id"]: (
                row["title"] + " " + " ".join(_string_literals(row["abstract"]))
            ).strip()
            for row in rows("corpus_train.csv")
        }
        claims: dict[str, str] = {}
        cited: dict[str, list[str]] = {}
        for row in rows(claims_file):
            docs = re.findall(r"\d+", row["cited_doc_ids"])
            if docs:
                claims[row["id"]] = row["claim"]
                cited.setdefault(row["id"], []).extend(docs)
    return SciFactClaims(corpus, claims, cited)


def load_scifact_zip(path: Path) -> RetrievalSet:
    """SciFact-test as BEIR has it: the 300 validation claims against the corpus."""
    data = read_scifact(path, "claims_validation.csv")
    qrels = {cid: {d: 1 for d in docs if d in data.corpus} for cid, docs in data.cited.items()}
    return RetrievalSet("scifact", data.corpus, data.claims, qrels)


def load_beir_folder(folder: Path, split: str = "test") -> RetrievalSet:
    def jsonl(name: str) -> list[dict]:
        with (folder / name).open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    corpus = {
        str(d["_id"]): (d.get("title", "") + " " + d["text"]).strip() for d in jsonl("corpus.jsonl")
    }
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(row["score"])
    queries = {str(q["_id"]): q["text"] for q in jsonl("queries.jsonl") if str(q["_id"]) in qrels}
    return RetrievalSet(folder.name, corpus, queries, qrels)


def load_retrieval_set(path: Path) -> RetrievalSet:
    path = Path(path)
    if path.is_file() and path.suffix == ".zip":
        return load_scifact_zip(path)
    if path.is_dir() and (path / "corpus.jsonl").is_file():
        return load_beir_folder(path)
    if path.is_dir() and (path / "banking77_test.csv").is_file():
        return load_banking77_paraphrase(path)
    raise InvalidInputError(
        f"{path} is not a BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv), scifact.zip "
        "or the banking77 folder"
    )


def load_banking77_paraphrase(folder: Path, per_intent: int = 20) -> RetrievalSet:
    """Paraphrase retrieval from banking77: customer questions (test) must find other
    customers' questions of the same intent (first ``per_intent`` train examples each).
    Few keywords are shared, which is where keyword fusion can hurt dense search."""

    def rows(name: str) -> list[dict[str, str]]:
        with (folder / name).open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    corpus: dict[str, str] = {}
    by_intent: dict[str, list[str]] = {}
    for n, row in enumerate(rows("banking77_train.csv")):
        docs = by_intent.setdefault(row["category"], [])
        if len(docs) < per_intent:
            corpus[f"d{n}"] = row["text"]
            docs.append(f"d{n}")
    queries, qrels = {}, {}
    for n, row in enumerate(rows("banking77_test.csv")):
        queries[f"q{n}"] = row["text"]
        qrels[f"q{n}"] = {d: 1 for d in by_intent.get(row["category"], [])}
    return RetrievalSet("banking77-paraphrase", corpus, queries, qrels)
