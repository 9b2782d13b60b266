"""The README's Python examples run as pasted, and print what their comments say.

Blocks that need the reader's own files or a running server (photos, the OpenAI client)
are left out; the PostgreSQL one starts its own throwaway server like test_postgres. The
LangChain and LlamaIndex blocks are skipped when their extra is not installed."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
NEEDS_READER_SETUP = ("photos/", "OpenAI(")
#: A block importing one of these integrations needs that framework (its extra).
NEEDS_EXTRA = {
    "embedspace.integrations.langchain": "langchain_core",
    "embedspace.integrations.llamaindex": "llama_index.core",
}


def _blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return [b for b in blocks if not any(marker in b for marker in NEEDS_READER_SETUP)]


def _run(block: str, folder: Path) -> str:
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    finally:
        os.chdir(cwd)
    return out.getvalue()


@pytest.mark.parametrize("block", _blocks(), ids=lambda b: b.splitlines()[2][:40])
def test_readme_example_runs(block, tmp_path):
    for module, framework in NEEDS_EXTRA.items():
        if module in block:
            pytest.importorskip(framework)
    printed = _run(block, tmp_path)
    if "space.duplicates()" in block:  # the comments show the output
        # ids only: the scores' third digit differs between recipes (fp32, int8)
        shown = ["['forgot', 'reset']", "['order', 'package']", "['crash', 'camera']"]
        assert printed.splitlines()[:3] == shown
        assert "recipe" in printed
    if 'space.sync("manual")' in block:
        assert printed.splitlines()[:2] == ["install.html None Install", "False html"]
    if "space.reembed(" in block:
        assert printed.splitlines() == [
            "2 all-MiniLM-L6-v2 384",
            "['all-MiniLM-L6-v2', 'glove-6b-50d']",
            "cat cat",
        ]
    if "context(" in block:
        assert printed.startswith("[1] The product is great")
    if "integrations.langchain" in block:
        assert printed.split() == ["refund", "0.5", "cancel"]
    if "integrations.llamaindex" in block:
        assert printed.split() == ["refunds"]
