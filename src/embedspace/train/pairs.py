"""Public sentence pairs with relevance targets in [0, 1] for the cross-encoder re-ranker.

Each reader takes the shared datasets folder and returns only *training* material:
STS-B train, SICK (a fixed 80 % split, see :func:`sick_split`), MRPC train and SciFact
*train* claims. The SciFact test claims (``claims_validation.csv``, what BEIR calls
test) are never read here: they are the benchmark.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError


@dataclass(frozen=True)
class Pair:
    """Two texts, a target score in [0, 1] and where the pair came from."""

    a: str
    b: str
    label: float
    source: str


def _need(path: Path) -> Path:
    if not path.exists():
        raise InvalidInputError(
            f"{path} is missing: point --data (or EMBEDSPACE_DATA) at the shared datasets folder"
        )
    return path


def stsb_train(root: Path) -> list[Pair]:
    """STS-B train: score 0-5 -> score / 5. Some lines carry extra columns (4, 5, 6 count)."""
    pairs = []
    with _need(root / "sts" / "stsbenchmark" / "sts-train.csv").open(encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 7:
                pairs.append(Pair(cols[5], cols[6], float(cols[4]) / 5.0, "stsb"))
    return pairs


def sick_split(pair_id: int) -> str:
    """The shared SICK.txt has no SemEval split column, so we hold out every fifth pair
    (``pair_ID % 5 == 0``) as our own dev set and train on the rest."""
    return "dev" if pair_id % 5 == 0 else "train"


#: A contradiction keeps a fifth of its relatedness: "The product is not good" is on
#: the topic of "The product is good" but does not answer it.
CONTRADICTION_WEIGHT = 0.2


def sick(root: Path, split: str = "train") -> list[Pair]:
    """SICK: relatedness 1-5 -> (r - 1) / 4, contradictions scaled down (negation signal)."""
    pairs = []
    with _need(root / "sts" / "sick" / "SICK.txt").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if sick_split(int(row["pair_ID"])) != split:
                continue
            target = (float(row["relatedness_score"]) - 1.0) / 4.0
            if row["entailment_judgment"] == "CONTRADICTION":
                target *= CONTRADICTION_WEIGHT
            pairs.append(Pair(row["sentence_A"], row["sentence_B"], target, "sick"))
    return pairs


def mrpc_train(root: Path) -> list[Pair]:
    """MRPC train: paraphrase 1.0, not a paraphrase 0.0."""
    pairs = []
    with _need(root / "pairs" / "mrpc" / "msr_paraphrase_train.txt").open(
        encoding="utf-8-sig"
    ) as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 5 and row[0] in ("0", "1"):
                pairs.append(Pair(row[3], row[4], float(row[0]), "mrpc"))
    return pairs


@dataclass
class SciFactTrain:
    """SciFact corpus and train claims (id -> claim text, id -> cited doc ids)."""

    corpus: dict[str, str]
    claims: dict[str, str]
    relevant: dict[str, set[str]]


def scifact_train(root: Path) -> SciFactTrain:
    """Corpus + ``claims_train.csv`` only (the 809 training claims)."""
    from ..eval.datasets import read_scifact

    data = read_scifact(_need(root / "retrieval" / "scifact" / "scifact.zip"), "claims_train.csv")
    relevant = {cid: {d for d in docs if d in data.corpus} for cid, docs in data.cited.items()}
    relevant = {cid: docs for cid, docs in relevant.items() if docs}
    claims = {cid: data.claims[cid] for cid in relevant}
    return SciFactTrain(data.corpus, claims, relevant)


def split_claims(data: SciFactTrain, dev_claims: int, seed: int) -> tuple[list[str], list[str]]:
    """(train ids, dev ids): ``dev_claims`` train claims held out to tune the re-ranker's
    fusion weight without ever looking at the test claims."""
    ids = sorted(data.claims, key=int)
    random.Random(seed).shuffle(ids)
    return sorted(ids[dev_claims:], key=int), sorted(ids[:dev_claims], key=int)


def scifact_pairs(
    data: SciFactTrain, claim_ids: list[str], negatives: int, depth: int, seed: int
) -> list[Pair]:
    """Each claim with its cited abstracts (1.0) and ``negatives`` BM25 hard negatives
    (0.0), sampled from the top ``depth`` uncited abstracts the project's BM25 returns."""
    import numpy as np

    from ..scoring.sparse import Bm25Model

    doc_ids = list(data.corpus)
    bm25 = Bm25Model().fit([data.corpus[d] for d in doc_ids])
    rng = random.Random(seed)
    pairs = []
    for cid in claim_ids:
        claim, cited = data.claims[cid], data.relevant[cid]
        scores = bm25.scores(claim)
        top = np.argsort(-scores)[: depth + len(cited)]
        pool = [doc_ids[i] for i in top if doc_ids[i] not in cited][:depth]
        pairs += [Pair(claim, data.corpus[d], 1.0, "scifact") for d in sorted(cited)]
        pairs += [Pair(claim, data.corpus[d], 0.0, "scifact") for d in rng.sample(pool, negatives)]
    return pairs


_AUXILIARY = re.compile(
    r"\b(is|are|was|were|can|will|could|would|should|has|have|had|does|do|did)\b", re.IGNORECASE
)
#: target of a sentence paired with its own or its paraphrase's negation
NEGATED_TARGET = 0.1


def negate(sentence: str) -> str | None:
    """Rule-based negation: "not" after the first auxiliary verb ("is" -> "is not");
    None when the sentence has none (those are skipped, not guessed)."""
    m = _AUXILIARY.search(sentence)
    if m is None or sentence[m.end() :].lstrip().lower().startswith(("not", "n't")):
        return None
    return sentence[: m.end()] + " not" + sentence[m.end() :]


def negation_pairs(root: Path, n: int, seed: int) -> list[Pair]:
    """Negation drill from STS-B *train* paraphrases (score >= 3.5): for each sampled pair
    (a, b): (a, b) at its score, (a, not-b) at 0.1, and (not-a, not-b) at its score again,
    so the model learns that *disagreement*, not the mere word "not", lowers relevance."""
    negated = [(p, negate(p.a), negate(p.b)) for p in stsb_train(root) if p.label >= 0.7]
    source = [(p, na, nb) for p, na, nb in negated if na and nb]
    out = []
    for p, na, nb in random.Random(seed).sample(source, min(n, len(source))):
        out += [
            Pair(p.a, p.b, p.label, "negation"),
            Pair(p.a, nb, NEGATED_TARGET, "negation"),
            Pair(na, nb, p.label, "negation"),
        ]
    return out


def mined_negatives(
    pairs: list[Pair], per_positive: int, depth: int, seed: int, workdir: Path
) -> list[Pair]:
    """Hard negatives for sentence-pair sets, mined by the project's own hybrid search.

    Every sentence of ``pairs`` goes into one throwaway space; for each positive pair
    (label >= 0.7) its first sentence is searched (``mode="hybrid"``), and
    ``per_positive`` hits are sampled, as 0.0 targets, from the top ``depth`` that are
    neither sentence of the pair nor paired with it anywhere in the set (STS-B repeats
    sentences across pairs, so a sentence's known partners are excluded, not guessed at).
    The first two candidates are skipped: in a set built from news clusters they are the
    likeliest unlabelled paraphrases, and a near-paraphrase trained at 0.0 teaches the
    model the opposite of what re-ranking needs.
    """
    from ..space import Space

    sentences = sorted({s for p in pairs for s in (p.a, p.b)})
    partners: dict[str, set[str]] = {}
    for p in pairs:
        partners.setdefault(p.a, set()).add(p.b)
        partners.setdefault(p.b, set()).add(p.a)
    rng = random.Random(seed)
    out = []
    with Space(workdir, progress=False) as space:
        if space.info()["items"] != len(sentences):
            space.add(sentences, ids=[f"s{n}" for n in range(len(sentences))])
        for p in pairs:
            if p.label < 0.7:
                continue
            hits = space.search(p.a, k=depth + 2, mode="hybrid")
            pool = [
                h.text
                for h in hits[2:]
                if h.text not in (p.a, p.b) and h.text not in partners.get(p.a, ())
            ]
            out += [
                Pair(p.a, text, 0.0, f"{p.source}-mined")
                for text in rng.sample(pool, min(per_positive, len(pool)))
            ]
    return out
