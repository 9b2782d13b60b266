"""Files -> items: plain text, Markdown, CSV, JSONL and Parquet.

Each loader yields :class:`LoadedItem` records with an id that is stable across runs
(the file's path relative to where it was found, plus a row key for tables), so re-adding
or syncing the same files upserts rather than duplicates. Problems become
:class:`UnsupportedFileError` (whole file unusable) or entries in ``skipped`` (one bad
row), never a silent drop.
"""

from __future__ import annotations

import csv
import glob
import io
import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, UnsupportedFileError

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".ndjson", ".parquet"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | TABLE_SUFFIXES
#: Files above this size are refused: they are almost never one document and would be
#: read into memory whole. Override with ``max_bytes``.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_DEFAULT_TEXT_FIELDS = ("text", "content", "body", "document", "abstract")


@dataclass
class LoadedItem:
    id: str
    text: str
    metadata: dict[str, Any]
    #: where it was read from; None for texts given directly (``Space.add``)
    source: str | None


@dataclass
class LoadedFile:
    items: list[LoadedItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "where: why" for rows we could not use


def read_text_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read a UTF-8 text file, refusing binary, non-UTF-8 and oversized files clearly."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnsupportedFileError(
                f"{path} is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit per file; "
                "split it into smaller files or raise max_bytes"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise UnsupportedFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if b"\x00" in data[:8192]:
        raise UnsupportedFileError(
            f"{path} looks binary (contains NUL bytes); only text files are supported"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedFileError(
            f"{path} is not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-encode it, e.g. `iconv -f latin1 -t utf-8`"
        ) from exc


def _pick_text_field(columns: Iterable[str], text_field: str | None, path: Path) -> str:
    columns = list(columns)
    if text_field:
        if text_field not in columns:
            raise UnsupportedFileError(
                f"{path} has no column {text_field!r}; its columns are {columns}. "
                "Pass the right one with --text-field"
            )
        return text_field
    for name in _DEFAULT_TEXT_FIELDS:
        if name in columns:
            return name
    raise UnsupportedFileError(
        f"{path}: which column holds the text? None of {list(_DEFAULT_TEXT_FIELDS)} is present; "
        f"columns are {columns}. Pass --text-field"
    )


def _rows_to_items(
    rows: Iterable[dict[str, Any]], rel: str, source: str, text_field: str, id_field: str | None
) -> LoadedFile:
    out = LoadedFile()
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        where = f"{rel} row {number}"
        text = row.get(text_field)
        if not isinstance(text, str) or not text.strip():
            out.skipped.append(f"{where}: empty or non-text {text_field!r}")
            continue
        if id_field:
            key = row.get(id_field)
            if key is None or str(key).strip() == "":
                out.skipped.append(f"{where}: empty id in {id_field!r}")
                continue
            item_id = f"{rel}#{key}"
        else:
            item_id = f"{rel}#{number}"
        if item_id in seen:
            out.skipped.append(f"{where}: duplicate id {item_id!r} (first one kept)")
            continue
        seen.add(item_id)
        metadata = {
            k: v for k, v in row.items() if k not in (text_field, id_field) and _jsonable(v)
        }
        out.items.append(LoadedItem(item_id, text, metadata, source))
    return out


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _csv_rows(path: Path, text: str) -> tuple[list[str], list[dict[str, Any]]]:
    dialect = "excel-tab" if path.suffix == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise UnsupportedFileError(
            f"{path}: malformed CSV near line {reader.line_num}: {exc}"
        ) from exc
    if not reader.fieldnames:
        raise UnsupportedFileError(f"{path} is empty or has no header row")
    return list(reader.fieldnames), rows


def _jsonl_rows(path: Path, text: str) -> tuple[list[str], list[dict[str, Any]]]:
    rows, columns = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnsupportedFileError(
                f"{path} line {number} is not valid JSON: {exc.msg}"
            ) from exc
        if not isinstance(row, dict):
            raise UnsupportedFileError(f"{path} line {number} is not a JSON object")
        rows.append(row)
        columns.update(dict.fromkeys(row))
    return list(columns), rows


def _parquet_rows(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows of a Parquet file. pyarrow is an extra (~170 MB): without it the file cannot
    be read here, which a folder ingest reports as skipped (and a sync never deletes its
    items for it), and a file named directly raises, saying what to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UnsupportedFileError(
            f"{path}: reading .parquet files needs pyarrow: pip install 'embedspace[docs]'"
        ) from None

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnsupportedFileError(f"{path} is not a readable Parquet file: {exc}") from exc
    return table.column_names, table.to_pylist()


def load_file(
    path: Path,
    rel: str | None = None,
    *,
    text_field: str | None = None,
    id_field: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedFile:
    """Items of one file. ``rel`` is the id prefix (default: the file name)."""
    path = Path(path)
    rel = rel or path.name
    source = str(path.resolve())
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; supported: {sorted(SUPPORTED_SUFFIXES)}"
        )
    if suffix in TEXT_SUFFIXES:
        text = read_text_file(path, max_bytes)
        if not text.strip():
            return LoadedFile(skipped=[f"{rel}: empty file"])
        return LoadedFile(items=[LoadedItem(rel, text, {"path": rel}, source)])
    if suffix == ".parquet":
        columns, rows = _parquet_rows(path)
    else:
        text = read_text_file(path, max_bytes)
        columns, rows = (_jsonl_rows if suffix in (".jsonl", ".ndjson") else _csv_rows)(path, text)
    if id_field and id_field not in columns:
        raise UnsupportedFileError(
            f"{path} has no column {id_field!r} for --id-field; columns are {columns}"
        )
    field_name = _pick_text_field(columns, text_field, path)
    return _rows_to_items(rows, rel, source, field_name, id_field)


def _expand_globs(paths: Iterable[Path]) -> list[Path]:
    """``covers/*.jpg`` -> the matching paths (sorted); other paths pass through."""
    expanded: list[Path] = []
    for path in paths:
        if not path.exists() and any(ch in str(path) for ch in "*?["):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            if not matches:
                raise InvalidInputError(f"no file matches {path}")
            expanded.extend(matches)
        else:
            expanded.append(path)
    return expanded


def discover(
    paths: Iterable[Path], suffixes: Collection[str] = SUPPORTED_SUFFIXES
) -> list[tuple[Path, str]]:
    """Expand files, folders and glob patterns into (file, id prefix) pairs, sorted.

    Inside folders only ``suffixes`` are picked up. Files inside a folder get ids relative
    to that folder, so a folder can be moved and synced again without changing ids.
    """
    found: list[tuple[Path, str]] = []
    for path in _expand_globs(map(Path, paths)):
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.suffix.lower() in suffixes and not any(
                    part.startswith(".") for part in file.relative_to(path).parts
                ):
                    found.append((file, file.relative_to(path).as_posix()))
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise InvalidInputError(f"{path} does not exist")
    return found
