"""Metadata filters (``where=``): parsed once into conditions, rendered per backend.

Supported, Mongo/Chroma-style: ``{"lang": "en"}`` (equality), and per key an operator
dict ``{"year": {"$gte": 2000}}`` with ``$eq $ne $gt $gte $lt $lte $in $nin``.
Several keys are ANDed. Keys are restricted to a safe alphabet because they become JSON
paths inside SQL (or Milvus expressions). ``where_to_sql`` renders SQLite; the Postgres
and Milvus stores render the same ``Condition`` list in their own dialects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
OPERATORS = (*_COMPARE, "$in", "$nin")


def _sql_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value  # json_extract gives 0/1 for booleans


@dataclass(frozen=True)
class Condition:
    """One checked test on one metadata key: ``path`` (the key split on dots), an operator
    from ``OPERATORS`` and its value (a list for ``$in``/``$nin``). Every backend renders the
    same conditions, so a filter means the same thing on SQLite, Postgres and Milvus."""

    path: tuple[str, ...]
    op: str
    value: Any


def parse_where(where: dict[str, Any]) -> list[Condition]:
    """Check a ``where`` dict and flatten it into conditions (ANDed)."""
    if not isinstance(where, dict) or not where:
        raise InvalidInputError('where must be a non-empty dict such as {"lang": "en"}')
    conditions = []
    for key, condition in where.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInputError(f"filter key {key!r} may only use letters, digits, _ . -")
        ops = condition if isinstance(condition, dict) else {"$eq": condition}
        for op, value in ops.items():
            if op in ("$in", "$nin"):
                if not isinstance(value, (list, tuple)) or not value:
                    raise InvalidInputError(f"{op} needs a non-empty list, got {value!r}")
                value = [_checked_value(v) for v in value]
            elif op in _COMPARE:
                value = None if value is None else _checked_value(value)
            else:
                raise InvalidInputError(f"unknown filter operator {op!r}; use one of {OPERATORS}")
            conditions.append(Condition(tuple(key.split(".")), op, value))
    return conditions


def _checked_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise InvalidInputError(f"filter integer {value} is outside the 64-bit range")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInputError(
                "filter value holds lone surrogates (not valid Unicode)"
            ) from exc
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidInputError(f"filter values must be str, number, bool or null, not {value!r}")


def json_expression(path: tuple[str, ...], column: str = "metadata") -> str:
    """The SQLite expression reading one metadata key. An index on a key must be built
    on exactly this text, or SQLite's planner will not use it for the filter."""
    return f"json_extract({column}, '$." + ".".join(f'"{part}"' for part in path) + "')"


def where_to_sql(where: dict[str, Any], column: str = "metadata") -> tuple[str, list[Any]]:
    """Return an SQLite boolean expression over JSON metadata and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for cond in parse_where(where):
        expr = json_expression(cond.path, column)
        if cond.op in ("$in", "$nin"):
            marks = ",".join("?" * len(cond.value))
            negate = "NOT " if cond.op == "$nin" else ""
            clauses.append(f"{expr} {negate}IN ({marks})")
            params.extend(_sql_value(v) for v in cond.value)
        elif cond.value is None:
            clauses.append(f"{expr} IS {'NOT ' if cond.op == '$ne' else ''}NULL")
        else:
            clauses.append(f"{expr} {_COMPARE[cond.op]} ?")
            params.append(_sql_value(cond.value))
    return " AND ".join(clauses), params


def parse_cli_where(pairs: list[str]) -> dict[str, Any]:
    """``["lang=en", "year=2001"]`` -> ``{"lang": "en", "year": 2001}`` (JSON values allowed)."""
    where: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--where takes key=value, got {pair!r}")
        try:
            where[key] = json.loads(raw)
        except json.JSONDecodeError:
            where[key] = raw
    return where
