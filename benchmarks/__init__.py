"""The benchmark harness: runners, the retrieval suite's task loaders and the studies that
choose shipped defaults. It lives beside the library, not in it: it reads public data from
``../shared/datasets`` and writes docs/benchmarks.md. Run from the repository root, e.g.
``python -m benchmarks.run`` (``make bench``) or ``python -m benchmarks.fusion_study``."""
