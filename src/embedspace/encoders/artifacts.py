"""The models (and the demo corpus) that ship inside embedspace, found and verified before
anything loads them.

Why verify: an interrupted copy, a disk error or a broken mirror can leave a shipped model
file truncated or altered. ONNX Runtime then fails with a protobuf parse error deep in its
C++, or, worse, a changed weight byte silently moves every vector. So each folder under
``embedspace/models/`` (and ``embedspace/data/``) carries a ``manifest.json`` (written by ``tools/build_models.py``,
``make models``) with every file's size and sha256, its source and licence; a folder is
checked once per process before its first use (~0.1 s for the 58 MB text model), and a
mismatch raises :class:`DamagedModelError` naming the command that repairs it.

A leaf module (it imports only ``errors`` and ``atomic``), like ``packaged.py``: the
registry, the image tower, the re-ranker and the builders (the build tool, the re-ranker's
export) all read and write shipped folders through it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ..atomic import write_bytes_atomic
from ..errors import DamagedModelError

#: The installed package; its shipped folders are package data, read-only at run time.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"
#: The shipped folders, relative to the package.
TEXT_MODEL_DIR = "models/minilm-l6-r7"
IMAGE_MODEL_DIR = "models/efficientnet-lite0"
CONCEPTS_DIR = "models/imagenet-wordnet"
BRIDGE_DIR = "models/image-bridge"
RERANKER_DIR = "models/reranker-minilm-l6"
WORDS_DIR = "models/glove-6b-50d"
DEMO_CORPUS_DIR = "data/rotten-tomatoes"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks (model files are tens of MB)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, files: Sequence[str], info: dict[str, Any]) -> dict[str, Any]:
    """Write ``folder/manifest.json``: ``info`` (source, licence, recipe...) plus the size
    and sha256 of each of ``files``, the ones loaders read and the run time verifies."""
    folder = Path(folder)
    record = {
        **info,
        "files": {
            name: {"bytes": (folder / name).stat().st_size, "sha256": sha256_file(folder / name)}
            for name in files
        },
    }
    write_bytes_atomic(folder / MANIFEST, (json.dumps(record, indent=2) + "\n").encode())
    return record


@dataclass(frozen=True)
class ShippedFolder:
    """A verified shipped folder and its manifest."""

    folder: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        """A file the manifest lists (so it was verified with the folder)."""
        if name not in self.manifest["files"]:
            raise KeyError(f"{name} is not a file of {self.folder.name}'s manifest")
        return self.folder / name


def repair_hint(folder: Path) -> str:
    """The command that puts ``folder`` back: in a source checkout, git restores the
    committed files (``make models`` rebuilds the ones it builds); in an installed wheel,
    reinstalling the same version does."""
    folder = Path(folder).resolve()
    package = next((p for p in folder.parents if p.name == "embedspace"), None)
    root = package.parent.parent if package is not None else None
    in_checkout = package is not None and package.parent.name == "src"
    if root is not None and in_checkout and (root / "pyproject.toml").is_file():
        return (
            f"run `git checkout -- {folder.relative_to(root)}` in {root} "
            "(or `make models` to rebuild the built ones)"
        )
    try:
        version = metadata.version("embedspace")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare copy
        version = "<your version>"
    return f"run `pip install --force-reinstall --no-deps embedspace=={version}`"


def _damaged(folder: Path, what: str) -> DamagedModelError:
    return DamagedModelError(
        f"the packaged files in {folder} are damaged: {what}. To repair them, {repair_hint(folder)}"
    )


def verify_folder(folder: Path) -> ShippedFolder:
    """Check every file ``folder/manifest.json`` lists (size, then sha256)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = {n: (int(e["bytes"]), str(e["sha256"])) for n, e in manifest["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _damaged(folder, f"its {MANIFEST} is missing or unreadable ({exc})") from exc
    for name, (expected_bytes, expected_sha256) in files.items():
        path = folder / name
        if not path.is_file():
            raise _damaged(folder, f"{name} is missing")
        size = path.stat().st_size
        if size != expected_bytes:
            raise _damaged(folder, f"{name} has {size:,} bytes, its manifest {expected_bytes:,}")
        if sha256_file(path) != expected_sha256:
            raise _damaged(folder, f"{name} does not match the sha256 in its manifest")
    return ShippedFolder(folder, manifest)


_verified: dict[Path, ShippedFolder] = {}
_lock = threading.Lock()


def shipped_folder(name: str) -> ShippedFolder:
    """The shipped folder ``name`` (e.g. ``TEXT_MODEL_DIR``), verified on its first use in
    this process."""
    folder = PACKAGE_DIR / name
    with _lock:
        if folder not in _verified:
            _verified[folder] = verify_folder(folder)
        return _verified[folder]
