"""Named vectors: which vector sets a space holds besides its main one, and of which model.

A space's main vectors are described by its ``model_id`` / ``model_name`` / ``dim`` meta
as before; every other set (``Space(vectors={"multilingual": "glove"})``, what ``reembed
--keep-old`` leaves behind, or the set a running re-embed is building) is one entry of
the ``vectors`` meta key, a JSON object name -> spec. Keeping the list in the store's
meta means every process sees the same sets, so a writer in another process embeds the
items it writes under each of them too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InvalidInputError

#: The meta key holding the named sets' specs.
VECTORS_KEY = "vectors"
#: The set a re-embed builds before it becomes the main vectors (never user-visible).
PENDING = "__reembed__"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]{0,63}$")


@dataclass(frozen=True)
class VectorSpec:
    """One named vector set: the model that makes it and its vectors' size."""

    model_name: str
    model_id: str
    dim: int
    #: False while ``add_vector`` is still embedding the items already stored.
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_specs(get_meta: Callable[[str], str | None]) -> dict[str, VectorSpec]:
    """The named sets recorded in a store (``get_meta`` is the store's own)."""
    raw = get_meta(VECTORS_KEY)
    if not raw:
        return {}
    return {name: VectorSpec(**spec) for name, spec in json.loads(raw).items()}


def specs_meta(specs: Mapping[str, VectorSpec]) -> dict[str, str]:
    """The meta entry recording ``specs``."""
    return {VECTORS_KEY: json.dumps({n: s.to_dict() for n, s in sorted(specs.items())})}


def check_vector_name(name: object, main: str, taken: Mapping[str, VectorSpec]) -> str:
    """A new set's name: short, path- and JSON-safe, and not one the space already has."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"a vector name is 1-64 letters, digits or _.+=- starting with a letter or "
            f"digit, e.g. 'multilingual'; got {name!r}"
        )
    if name == main or name in taken:
        raise InvalidInputError(f"this space already has a vector named {name!r}")
    return name
