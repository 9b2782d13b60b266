"""Tables (.csv, .tsv, .jsonl, .parquet): one item per row.

A row's id is the file's path plus its row number (or ``--id-field`` value), so
re-adding or syncing the same file upserts rather than duplicates; its other columns
become metadata. A bad row is skipped and reported, a bad file refused as a whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from ...errors import UnsupportedFileError
from .base import LoadedFile, LoadedItem, LoadOptions, Source, decode_text, require

_DEFAULT_TEXT_FIELDS = ("text", "content", "body", "document", "abstract")


def _pick_text_field(columns: Iterable[str], text_field: str | None, name: str) -> str:
    columns = list(columns)
    if text_field:
        if text_field not in columns:
            raise UnsupportedFileError(
                f"{name} has no column {text_field!r}; its columns are {columns}. "
                "Pass the right one with --text-field"
            )
        return text_field
    for field_name in _DEFAULT_TEXT_FIELDS:
        if field_name in columns:
            return field_name
    raise UnsupportedFileError(
        f"{name}: which column holds the text? None of {list(_DEFAULT_TEXT_FIELDS)} is present; "
        f"columns are {columns}. Pass --text-field"
    )


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _rows_to_items(
    rows: Iterable[dict[str, Any]], source: Source, text_field: str, id_field: str | None
) -> LoadedFile:
    out = LoadedFile()
    seen: set[str] = set()
    rel = source.rel
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
        out.items.append(LoadedItem(item_id, text, metadata, source.origin))
    return out


def _csv_rows(source: Source) -> tuple[list[str], list[dict[str, Any]]]:
    dialect = "excel-tab" if source.suffix == ".tsv" else "excel"
    reader = csv.DictReader(io.StringIO(decode_text(source)), dialect=dialect)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise UnsupportedFileError(
            f"{source.name}: malformed CSV near line {reader.line_num}: {exc}"
        ) from exc
    if not reader.fieldnames:
        raise UnsupportedFileError(f"{source.name} is empty or has no header row")
    return list(reader.fieldnames), rows


def _jsonl_rows(source: Source) -> tuple[list[str], list[dict[str, Any]]]:
    rows, columns = [], {}
    for number, line in enumerate(decode_text(source).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnsupportedFileError(
                f"{source.name} line {number} is not valid JSON: {exc.msg}"
            ) from exc
        if not isinstance(row, dict):
            raise UnsupportedFileError(f"{source.name} line {number} is not a JSON object")
        rows.append(row)
        columns.update(dict.fromkeys(row))
    return list(columns), rows


def _parquet_rows(source: Source) -> tuple[list[str], list[dict[str, Any]]]:
    """pyarrow (~170 MB) comes with the docs extra: without it a folder ingest reports the
    file as skipped (a sync keeps its items) and a file named directly says what to install."""
    pa = require("pyarrow", "reading .parquet files")
    pq = require("pyarrow.parquet", "reading .parquet files")

    try:
        table = pq.read_table(pa.BufferReader(source.data))
    except (pa.ArrowException, OSError) as exc:
        raise UnsupportedFileError(f"{source.name} is not a readable Parquet file: {exc}") from exc
    return table.column_names, table.to_pylist()


def _load_rows(reader: Any, source: Source, options: LoadOptions) -> LoadedFile:
    columns, rows = reader(source)
    if options.id_field and options.id_field not in columns:
        raise UnsupportedFileError(
            f"{source.name} has no column {options.id_field!r} for --id-field; columns are {columns}"
        )
    field_name = _pick_text_field(columns, options.text_field, source.name)
    return _rows_to_items(rows, source, field_name, options.id_field)


def load_csv(source: Source, options: LoadOptions) -> LoadedFile:
    return _load_rows(_csv_rows, source, options)


def load_jsonl(source: Source, options: LoadOptions) -> LoadedFile:
    return _load_rows(_jsonl_rows, source, options)


def load_parquet(source: Source, options: LoadOptions) -> LoadedFile:
    return _load_rows(_parquet_rows, source, options)
