"""Word-vector quality: similarity (Spearman vs human scores) and analogies (accuracy).

Two standard checks of "closeness means similarity" for static word vectors. The readers
accept the formats the sets ship in: gensim's packaged ``wordsim353.tsv`` /
``simlex999.txt`` (tab-separated, ``#`` comments) and the ``word1 word2 score`` files of
the shared word-similarity collection; ``questions-words.txt`` (Mikolov et al.) for
analogies. Pairs or questions with a word the model lacks are counted and skipped, as
every published figure does, so coverage is reported beside each score.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from scipy.stats import spearmanr

from embedspace.encoders.words import AnalogyMethod, WordVectors
from embedspace.errors import MissingDependencyError

Pair = tuple[str, str, float]
Analogy = tuple[str, str, str, str]


def gensim_test_data(name: str) -> Path:
    """A file of the evaluation data that ships in gensim's wheel (installed --no-deps)."""
    try:
        path = Path(
            str(metadata.distribution("gensim").locate_file(f"gensim/test/test_data/{name}"))
        )
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise MissingDependencyError(
            f"gensim's test data ({name}) is not installed; run "
            "`pip install --no-deps gensim` (only its data files are used)"
        )
    return path


def read_pairs(path: Path) -> list[Pair]:
    """``word1 word2 score`` lines (tabs or spaces); ``#`` lines and headers are skipped."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) < 3 or line.startswith("#"):
            continue
        try:
            pairs.append((fields[0].lower(), fields[1].lower(), float(fields[2])))
        except ValueError:  # a header row
            continue
    return pairs


def read_analogies(path: Path) -> dict[str, list[Analogy]]:
    """``questions-words.txt``: sections (``: capital-common-countries``) of a b c d lines."""
    sections: dict[str, list[Analogy]] = defaultdict(list)
    section = ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            section = line[1:].strip()
        elif len(fields := line.lower().split()) == 4:
            sections[section].append((fields[0], fields[1], fields[2], fields[3]))
    return dict(sections)


@dataclass(frozen=True)
class SimilarityResult:
    spearman: float
    pairs: int
    covered: int


def similarity_spearman(vectors: WordVectors, pairs: list[Pair]) -> SimilarityResult:
    """Spearman correlation between the model's cosines and human similarity scores."""
    known = [(a, b, s) for a, b, s in pairs if a in vectors and b in vectors]
    model = [vectors.similarity(a, b) for a, b, _ in known]
    rho = float(spearmanr(model, [s for *_, s in known]).statistic) if len(known) > 2 else 0.0
    return SimilarityResult(rho, len(pairs), len(known))


@dataclass(frozen=True)
class AnalogyResult:
    correct: int
    answered: int
    questions: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def analogy_accuracy(
    vectors: WordVectors,
    questions: list[Analogy],
    *,
    restrict: int | None = 30_000,
    method: AnalogyMethod = "add",
) -> AnalogyResult:
    """Accuracy: for ``a b c d`` ("Athens Greece Baghdad Iraq"), is ``b - a + c`` best
    answered by ``d`` (3CosAdd, or 3CosMul with ``method="mul"``)? Like gensim, only the
    ``restrict`` most frequent words are candidates and questions outside them are skipped."""
    allowed = set(vectors.vocabulary(restrict)) if restrict else None
    usable = [q for q in questions if allowed is None or allowed.issuperset(q)]
    usable = [q for q in usable if all(w in vectors for w in q)]
    answers = vectors.analogies(
        [(b, a, c) for a, b, c, _ in usable], restrict=restrict, method=method
    )
    correct = sum(ans == q[3] for ans, q in zip(answers, usable, strict=True))
    return AnalogyResult(correct, len(usable), len(questions))


def words_markdown(vectors: WordVectors, wordsim_dir: Path | None) -> str:
    """The word-vector section of docs/benchmarks.md: packaged sets always, the shared
    word-similarity collection when ``wordsim_dir`` exists."""
    lines = [
        f"### Word vectors: {vectors.name} ({len(vectors):,} words, {vectors.dim}d)",
        "",
        "Similarity: Spearman ρ between cosine and human scores (pairs with an unknown word "
        "skipped, coverage shown). Analogies: a − b + c over the 30,000 most frequent words "
        "(gensim's protocol: questions outside them skipped), 3CosAdd and 3CosMul.",
        "",
        "| similarity set | pairs covered | Spearman ρ |",
        "|---|---|---|",
    ]
    sets = [(name, gensim_test_data(name)) for name in ("wordsim353.tsv", "simlex999.txt")]
    if wordsim_dir is not None and wordsim_dir.is_dir():
        sets += [(p.stem, p) for p in sorted(wordsim_dir.glob("*.txt"))]
    for name, path in sets:
        result = similarity_spearman(vectors, read_pairs(path))
        lines.append(f"| {name} | {result.covered}/{result.pairs} | {result.spearman:.3f} |")
    lines += [
        "",
        "| analogy section (questions-words.txt) | answered | 3CosAdd | 3CosMul |",
        "|---|---|---|---|",
    ]
    totals: dict[str, list[int]] = {"semantic": [0, 0, 0], "syntactic": [0, 0, 0]}
    for name, questions in read_analogies(gensim_test_data("questions-words.txt")).items():
        add = analogy_accuracy(vectors, questions)
        mul = analogy_accuracy(vectors, questions, method="mul")
        group = totals["syntactic" if name.startswith("gram") else "semantic"]
        for i, value in enumerate((add.answered, add.correct, mul.correct)):
            group[i] += value
        lines.append(
            f"| {name} | {add.answered}/{add.questions} | {add.accuracy:.3f} | {mul.accuracy:.3f} |"
        )
    totals["all"] = [sum(col) for col in zip(*totals.values(), strict=True)]
    for label, (answered, add_ok, mul_ok) in totals.items():
        lines.append(
            f"| **{label}** | {answered} | **{add_ok / answered:.3f}** | **{mul_ok / answered:.3f}** |"
        )
    return "\n".join(lines)
