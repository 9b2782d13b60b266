"""Framework metadata filters as one embedspace ``where`` dict.

LangChain's dict filters and LlamaIndex's MetadataFilters both come down to ANDed
comparisons on metadata keys, which is what a space filters by (``store/filters.py``:
$eq $ne $gt $gte $lt $lte $in $nin, keys ANDed, every backend alike). Each framework
module turns its filters into (key, operator, value) conditions; ``where_of`` merges
them, several operators on one key into one operator dict. OR, NOT and operators a
space lacks are refused by name rather than approximated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import NotSupportedError

Condition = tuple[str, str, Any]


def where_of(conditions: Iterable[Condition]) -> dict[str, dict[str, Any]] | None:
    """The ``where`` dict ANDing ``conditions`` (None when there are none)."""
    where: dict[str, dict[str, Any]] = {}
    for key, op, value in conditions:
        ops = where.setdefault(key, {})
        if op in ops and ops[op] != value:
            raise NotSupportedError(
                f"two {op} conditions on {key!r}: a space's filter holds one value per key "
                "and operator (use $in for a choice of values)"
            )
        ops[op] = value
    return where or None


def unsupported_logic(name: str) -> NotSupportedError:
    """The error for OR / NOT: a space's filter ANDs its conditions, nothing else."""
    return NotSupportedError(
        f"{name} filters are not supported: a space's filter ANDs conditions on metadata "
        "keys ($eq $ne $gt $gte $lt $lte $in $nin); run one search per alternative instead"
    )
