"""Metadata filters (``where=``) translated to SQL over JSON metadata.

Supported, Mongo/Chroma-style: ``{"lang": "en"}`` (equality), and per key an operator
dict ``{"year": {"$gte": 2000}}`` with ``$eq $ne $gt $gte $lt $lte $in $nin``.
Several keys are ANDed. Keys are restricted to a safe alphabet because they become JSON
paths inside SQL.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import InvalidInputError

_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_COMPARE = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)  # json_extract returns 0/1 for JSON booleans
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise InvalidInputError(f"filter integer {value} is outside the 64-bit range")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInputError(
                "filter value holds lone surrogates (not valid Unicode)"
            ) from exc
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise InvalidInputError(f"filter values must be str, number, bool or null, not {value!r}")


def where_to_sql(where: dict[str, Any], column: str = "metadata") -> tuple[str, list[Any]]:
    """Return an SQL boolean expression and its parameters."""
    if not isinstance(where, dict) or not where:
        raise InvalidInputError('where must be a non-empty dict such as {"lang": "en"}')
    clauses, params = [], []
    for key, condition in where.items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInputError(f"filter key {key!r} may only use letters, digits, _ . -")
        path = "$." + ".".join(f'"{part}"' for part in key.split("."))
        expr = f"json_extract({column}, '{path}')"
        ops = condition if isinstance(condition, dict) else {"$eq": condition}
        for op, value in ops.items():
            if op in ("$in", "$nin"):
                if not isinstance(value, (list, tuple)) or not value:
                    raise InvalidInputError(f"{op} needs a non-empty list, got {value!r}")
                marks = ",".join("?" * len(value))
                negate = "NOT " if op == "$nin" else ""
                clauses.append(f"{expr} {negate}IN ({marks})")
                params.extend(_sql_value(v) for v in value)
            elif op in _COMPARE:
                if value is None:
                    clauses.append(f"{expr} IS {'NOT ' if op == '$ne' else ''}NULL")
                    continue
                clauses.append(f"{expr} {_COMPARE[op]} ?")
                params.append(_sql_value(value))
            else:
                raise InvalidInputError(
                    f"unknown filter operator {op!r}; use one of {sorted(_COMPARE) + ['$in', '$nin']}"
                )
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
