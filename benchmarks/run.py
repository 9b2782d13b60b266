"""`make bench`: measure and write docs/benchmarks.md.

Public data is read in place from $EMBEDSPACE_DATA or ../shared/datasets; a benchmark
whose data is absent is skipped with a note, never faked.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import warnings
from importlib import metadata
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from embedspace.demo import demo_corpus  # noqa: E402
from embedspace.encoders.registry import words  # noqa: E402
from embedspace.errors import EmbedspaceWarning  # noqa: E402
from embedspace.eval.datasets import data_root  # noqa: E402
from embedspace.eval.report import update_section  # noqa: E402
from embedspace.eval.retrieval import evaluate_retrieval, results_markdown  # noqa: E402
from embedspace.eval.throughput import encoding_throughput, throughput_markdown  # noqa: E402
from embedspace.eval.words import words_markdown  # noqa: E402

REPORT = Path("docs/benchmarks.md")


def machine_section() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = ", ".join(
        f"{p} {metadata.version(p)}"
        for p in (
            "embedspace",
            "onnxruntime",
            "tokenizers",
            "numpy",
            "sentence-transformers",
            "torch",
        )
    )
    return "\n".join(
        [
            "### Machine and versions",
            "",
            f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; {versions}.",
            "`TOKENIZERS_PARALLELISM=false`. Command: `make bench` (= `.venv/bin/python benchmarks/run.py`).",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="shared datasets folder")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["encoding", "scifact", "banking77", "words"]
    )
    args = parser.parse_args()
    root = args.data or data_root()

    update_section(REPORT, "machine", machine_section())
    if "encoding" not in args.skip:
        docs = demo_corpus()
        short = [d.text for d in docs if d.metadata["kind"] != "plot"][:2000]
        long = [d.text for d in docs if d.metadata["kind"] == "plot" and len(d.text) > 1000][:300]
        rows = encoding_throughput(short, f"{len(short):,} review snippets (~25 tokens)")
        with warnings.catch_warnings():  # truncation to 256 tokens is the point of this case
            warnings.simplefilter("ignore", EmbedspaceWarning)
            rows += encoding_throughput(long, f"{len(long)} plot summaries (256 tokens, truncated)")
        update_section(REPORT, "encoding", throughput_markdown(rows))
        print(throughput_markdown(rows))
    if "words" not in args.skip:
        section = words_markdown(words(), root / "wordsim" if root else None)
        update_section(REPORT, "words", section)
        print(section)
    for name, relative in (
        ("scifact", "retrieval/scifact/scifact.zip"),
        ("banking77", "cls/banking77"),
    ):
        if name in args.skip:
            continue
        if root is None or not (root / relative).exists():
            print(
                f"skipping {name}: {relative} not found under {root} (set EMBEDSPACE_DATA)",
                file=sys.stderr,
            )
            continue
        results = evaluate_retrieval(root / relative)
        update_section(REPORT, f"retrieval-{results['dataset']}", results_markdown(results))
        print(results_markdown(results))

    # -- issue 2: sentence similarity (packaged Lee + shared STS-B), smaller vectors (SciFact)
    from embedspace.eval.compression import compression_benchmark
    from embedspace.eval.sentences import sentence_similarity_markdown

    section = sentence_similarity_markdown(root / "sts" / "stsbenchmark" if root else None)
    update_section(REPORT, "sentence-similarity", section)
    print(section)
    section = compression_benchmark(REPORT, root)
    print(
        section or "skipping compression: retrieval/scifact/scifact.zip not found", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
