"""Zero-shot text classification accuracy: labels as prompts, no training on the data.

TREC question classification (test, 500 questions, 6 coarse classes) and AG News (test,
7,600 news items, 4 classes), through the public API: the texts go into a space and
``space.classify_all(prompts)`` picks the closest prompt for each. Two prompt sets per
dataset, written once from the class definitions and not tuned on the test data: the
bare class names, and a short descriptive sentence per class.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

import numpy as np

#: TREC coarse classes (Li & Roth 2002) -> (bare name, descriptive prompt).
TREC_PROMPTS = {
    "ABBR": ("abbreviation", "a question asking what an abbreviation or acronym stands for"),
    "DESC": ("description", "a question asking for a definition, description or reason"),
    "ENTY": ("entity", "a question asking about a thing, an object, an animal or a substance"),
    "HUM": ("human", "a question asking which person or group of people"),
    "LOC": ("location", "a question asking about a place, a city or a country"),
    "NUM": ("number", "a question asking for a number, a date, an amount or a quantity"),
}
#: AG News classes 1-4 -> (bare name, descriptive prompt).
AGNEWS_PROMPTS = {
    "1": ("World", "world news about politics, governments and international affairs"),
    "2": ("Sports", "sports news about games, teams and athletes"),
    "3": ("Business", "business news about companies, markets and the economy"),
    "4": ("Sci/Tech", "science and technology news about computers, the internet and research"),
}


def load_trec_test(root: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for line in (root / "cls" / "trec" / "test.txt").read_text(encoding="latin-1").splitlines():
        if "\t" not in line:
            continue
        fine_and_question, coarse = line.rsplit("\t", 1)
        texts.append(fine_and_question.split(" ", 1)[1].strip())  # drop the fine label
        labels.append(coarse.strip())
    return texts, labels


def load_agnews_test(root: Path) -> tuple[list[str], list[str]]:
    with (root / "cls" / "agnews" / "test.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [f"{r['title']}. {r['description']}".replace("\\", " ") for r in rows]
    return texts, [r["label"] for r in rows]


def zero_shot_accuracy(
    name: str, texts: list[str], truth: list[str], prompts: dict[str, tuple[str, str]]
) -> list[dict]:
    """Accuracy of each prompt set (bare names, descriptions) over one labelled set."""
    from embedspace.space import Space

    ids = [str(i) for i in range(len(texts))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        space = Space(Path(tmp) / "eval.space", progress=False)
        space.add(texts, ids=ids)
        for style, column in (("class names", 0), ("descriptions", 1)):
            label_of = {pair[column]: cls for cls, pair in prompts.items()}
            started = time.perf_counter()
            predicted = space.classify_all(list(label_of))
            seconds = time.perf_counter() - started
            guesses = np.array([label_of[predicted[i][0].label] for i in ids])
            rows.append(
                {
                    "dataset": name,
                    "prompts": style,
                    "n": len(ids),
                    "classes": len(prompts),
                    "accuracy": float((guesses == np.array(truth)).mean()),
                    "majority": max(truth.count(c) for c in set(truth)) / len(truth),
                    "seconds": seconds,
                }
            )
        space.close()
    return rows


def zero_shot_markdown(rows: list[dict]) -> str:
    lines = [
        "### Zero-shot classification: accuracy with label prompts only",
        "",
        "`space.classify_all(prompts)` (all-MiniLM-L6-v2 int8): every text gets the closest "
        "prompt; nothing is trained. Prompts are in `src/embedspace/eval/zeroshot.py`, "
        "written from the class definitions and not tuned on test. `time` = classifying "
        "the stored items (embedding them is not included).",
        "",
        "| dataset | prompts | items | classes | accuracy | majority class | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['prompts']} | {r['n']:,} | {r['classes']} "
            f"| **{r['accuracy']:.3f}** | {r['majority']:.3f} | {r['seconds']:.2f} s |"
        )
    return "\n".join(lines)
