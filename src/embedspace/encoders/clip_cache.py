"""Where a CLIP/SigLIP folder's ONNX export lives, and whether it can be trusted.

Why a cache: exporting both towers takes torch and tens of seconds (minutes for large
models); running them takes neither. The export of a source folder is written once to
``$EMBEDSPACE_CACHE/models/clip-<name>-<key>/`` and reused by every later process, which
then needs no torch at all. ``key`` hashes the fingerprints of every file that decides
the vectors (weights, config, tokenizer, preprocessor) with ``EXPORT_RECIPE``, so
changed weights, or a changed export, build a new folder instead of reusing a stale one.

The folder's ``manifest.json`` is written last and lists each file's size and sha256
(``artifacts.write_manifest``); a folder that fails ``artifacts.verify_folder`` (an
interrupted or tampered build, a disk error) is rebuilt with a warning. A build is
written into a temporary folder beside the target and renamed into place, so readers
never see half of one, and two processes building at once both end with a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import DamagedModelError, EmbedspaceWarning, ModelNotFoundError
from .artifacts import MANIFEST, ShippedFolder, verify_folder
from .onnx_optimize import cache_dir
from .text import file_fingerprint

#: The export procedure's version: bump it when what ``clip_export`` writes changes
#: (opset, graph rewrite, int8 rule), so every cached build is made again.
EXPORT_RECIPE = "onnx1-r7"
#: Files of a source folder whose content decides the vectors.
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_SOURCE_FILES = (
    "config.json",
    "preprocessor_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "spiece.model",
)
_PREFIX = "clip-"


def resolve_source(source: str) -> Path:
    """The local folder of ``source``: a folder, or a hub id already in the Hugging Face
    cache (never downloaded)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path.resolve()
    if "/" in source and not source.startswith(("/", ".", "~")):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(source, local_files_only=True))
        except Exception as exc:  # noqa: BLE001 - any hub failure means: not available offline
            raise ModelNotFoundError(
                f"cannot load a CLIP model from {source!r}: it is not a folder and not in the "
                f"Hugging Face cache ({type(exc).__name__}). Give a folder saved with "
                "save_pretrained (model and tokenizer), or download the hub id first"
            ) from exc
    raise ModelNotFoundError(
        f"cannot load a CLIP model from {source!r}: no such folder. Give a folder saved with "
        "CLIPModel/SiglipModel.save_pretrained (with its tokenizer) or a downloaded hub id"
    )


def weight_files(folder: Path) -> list[Path]:
    """The folder's weight files, sorted (sharded checkpoints have several)."""
    found = sorted(p for p in folder.iterdir() if p.suffix in _WEIGHT_SUFFIXES and p.is_file())
    if not found:
        raise ModelNotFoundError(
            f"cannot load a CLIP model from {folder}: no *.safetensors or *.bin weights in it"
        )
    return found


def model_fingerprint(folder: Path) -> str:
    """The first weights file's fingerprint: the ``@...`` of the model id, as when CLIP
    ran on torch (so spaces made then open with the fp32 export)."""
    return file_fingerprint(weight_files(folder)[0])


def cache_key(folder: Path) -> str:
    """Hash of the fingerprints of every file that decides the vectors, and the recipe."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    for path in [*weight_files(folder), *(folder / name for name in _SOURCE_FILES)]:
        if path.is_file():
            digest.update(f"{path.name}:{file_fingerprint(path)};".encode())
    return digest.hexdigest()[:16]


def export_dir(folder: Path) -> Path:
    """Where ``folder``'s export is cached (named after the folder, or after the hub repo
    for a Hugging Face cache snapshot, whose own name is a commit hash)."""
    readable = folder.parent.parent.name if folder.parent.name == "snapshots" else folder.name
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-") or "model"
    return cache_dir() / f"{_PREFIX}{name}-{cache_key(folder)}"


def cached_export(folder: Path, build: Callable[[Path, Path], Any]) -> ShippedFolder:
    """The verified export of ``folder``, built by ``build(folder, into)`` when it is
    missing or damaged (with a warning in that case)."""
    target = export_dir(folder)
    if target.exists():
        try:
            return verify_folder(target)
        except DamagedModelError as exc:
            warnings.warn(
                f"the cached ONNX export {target} is damaged ({exc}); rebuilding it",
                EmbedspaceWarning,
                stacklevel=3,
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".building-", dir=target.parent) as tmp:
            staged = Path(tmp) / "export"
            staged.mkdir()
            build(folder, staged)
            _install(staged, target)
    except OSError as exc:  # a read-only home in a container, a full disk
        raise ModelNotFoundError(
            f"the ONNX export of {folder} cannot be written to {target.parent} ({exc}): "
            "set EMBEDSPACE_CACHE to a writable folder"
        ) from exc
    return verify_folder(target)


def _install(staged: Path, target: Path) -> None:
    """Rename the whole ``staged`` folder to ``target``; a damaged ``target`` is moved
    aside first. If another process installed a whole one meanwhile, keep theirs."""
    if target.exists():
        try:
            verify_folder(target)
            return  # another process finished first
        except DamagedModelError:
            trash = target.with_name(f".{target.name}.damaged-{os.getpid()}")
            os.replace(target, trash)
            shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(staged, target)
    except OSError:
        if not (target / MANIFEST).is_file():  # not a concurrent install: a real failure
            raise


def cached_exports() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every cached export's folder and manifest (for ``embedspace models``); folders
    whose manifest is unreadable are skipped (they are rebuilt when next loaded)."""
    root = cache_dir()
    if not root.is_dir():
        return
    for folder in sorted(root.glob(f"{_PREFIX}*")):
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("kind") == "clip-onnx":
            yield folder, manifest
