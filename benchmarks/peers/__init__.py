"""Whole tools side by side: Chroma, LanceDB, Qdrant local + fastembed, txtai and embedspace.

Each tool runs in its own venv (``make peers``) through ``worker.py``, behind one small
adapter protocol (``protocol.py``); ``runner.py`` drives them and ``report.py`` writes the
``peers`` section of docs/benchmarks.md and docs/img/peers.png. Modules imported by the
worker (``protocol``, ``worker``, the adapters) import no embedspace code except
``embedspace_peer``, since the peers' venvs do not have it.
"""
