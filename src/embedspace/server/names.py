"""What a space may be called (standard library only: ``embedspace keys`` checks
``--space`` without the server extra).

Letters, digits, ``_`` and ``-`` in parts joined by single dots, at most 64 characters,
no ``.space`` suffix: so a name never holds ``..``, ``/`` or NUL and can be used as a
folder name and a URL segment as it is.
"""

from __future__ import annotations

import re

SUFFIX = ".space"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$"
MAX_LENGTH = 64
RULE = (
    "use letters, digits, '_' and '-' in parts joined by single dots (no '..', '/', NUL "
    f"or {SUFFIX} suffix; at most {MAX_LENGTH} characters)"
)
_NAME = re.compile(NAME_PATTERN)


def is_valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and len(name) <= MAX_LENGTH
        and _NAME.match(name) is not None
        and not name.endswith(SUFFIX)
    )
