"""API keys with scopes, kept hashed in a key file (``embedspace keys add|list|revoke``).

A key reads ``es_<id>_<secret>``: the id is public (it names the key in ``keys list``, in
the audit log and in rate limits), the secret is 32 random bytes shown once, when the
key is made. The file keeps only a salted scrypt hash of each secret (the standard
library's ``hashlib.scrypt``), so a copy of the file gives nobody a key that works.

Scopes nest: ``read`` (search, get, map, embeddings...), ``write`` (also add, update,
delete), ``admin`` (also create and drop spaces, back up and restore). A key may be
limited to named spaces. The file must be private to its owner - no permission bits for
group or others: a file others can write lets them add keys, one they can read hands them
the hashes to attack - and the server refuses to start on one that is not.

The server re-reads the file whenever it changes (one ``stat`` per request), so a key
added or revoked with ``embedspace keys`` counts from the next request on, without a
restart. If a changed file cannot be trusted (bad permissions, unreadable), every key is
refused until it is fixed: a revoked key must never keep working because of a typo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..atomic import atomic_path
from ..errors import InsecureKeyFileError, InvalidInputError

log = logging.getLogger(__name__)

#: Each scope includes the ones before it.
SCOPES = ("read", "write", "admin")
_TOKEN = re.compile(r"^es_(?P<id>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_\-]{20,200})$")
#: scrypt cost: ~16 MiB and a few tens of ms per check, paid once per key per process.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 2**20


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a key's id, scope and the spaces it may use (None:
    all of them)."""

    id: str
    scope: str
    spaces: frozenset[str] | None = None
    label: str = ""

    def allows(self, needed: str, space: str | None = None) -> bool:
        """True if this key's scope covers ``needed`` on ``space`` (None: a route of no
        particular space, such as /v1/embeddings)."""
        if SCOPES.index(self.scope) < SCOPES.index(needed):
            return False
        return space is None or self.spaces is None or space in self.spaces


@dataclass
class KeyRecord:
    """One key as the file keeps it (the secret only as its scrypt hash)."""

    id: str
    scope: str
    hash: str
    spaces: list[str] | None = None
    label: str = ""
    created: str = ""
    revoked: str | None = None

    def principal(self) -> Principal:
        spaces = frozenset(self.spaces) if self.spaces is not None else None
        return Principal(self.id, self.scope, spaces, self.label)

    def public(self) -> dict[str, Any]:
        """What ``keys list`` shows: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


@dataclass
class KeyFile:
    """The key file: read, changed and written back atomically, private to its owner."""

    path: Path
    records: list[KeyRecord] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path, *, missing_ok: bool = False) -> KeyFile:
        path = Path(path)
        if missing_ok and not path.exists():
            return cls(path)
        check_private(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            records = [KeyRecord(**entry) for entry in raw["keys"]]
        except FileNotFoundError:
            raise InvalidInputError(
                f"no key file at {path}; make one with `embedspace keys add`"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{path} is not a valid embedspace key file: {exc}") from exc
        for record in records:
            if record.scope not in SCOPES:
                raise InvalidInputError(f"{path}: key {record.id} has unknown scope {record.scope}")
        return cls(path, records)

    def add(self, scope: str, spaces: list[str] | None = None, label: str = "") -> str:
        """Make a key, record its hash and return the key itself (shown once)."""
        if scope not in SCOPES:
            raise InvalidInputError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
        taken = {r.id for r in self.records}
        key_id = secrets.token_hex(4)
        while key_id in taken:
            key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        self.records.append(
            KeyRecord(
                key_id,
                scope,
                hash_secret(secret),
                sorted(set(spaces)) if spaces else None,
                label,
                _now(),
            )
        )
        return f"es_{key_id}_{secret}"

    def revoke(self, key: str) -> KeyRecord:
        """Revoke a key by its id (or the key itself); revoked keys stay listed."""
        match = _TOKEN.match(key)
        key_id = match["id"] if match else key
        for record in self.records:
            if record.id == key_id:
                record.revoked = record.revoked or _now()
                return record
        raise InvalidInputError(f"no key {key_id!r} in {self.path}")

    def save(self) -> None:
        """Replace the file atomically, created private (mode 600) from the start."""
        body = json.dumps({"version": 1, "keys": [asdict(r) for r in self.records]}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body + "\n")


class KeyRing:
    """The key file as a running server sees it: re-read when it changes; a key whose
    secret was verified once is then recognised by a constant-time compare of its
    SHA-256, so scrypt runs once per key, not once per request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._verifying = threading.Lock()
        self._stamp: tuple | None = None
        self._records: dict[str, KeyRecord] = {}
        #: key id -> (its stored hash, SHA-256 of the whole key) once verified
        self._verified: dict[str, tuple[str, bytes]] = {}
        check_private(self.path)  # at start, a bad file is an error: refuse to start
        self._reload(self._stat())

    def known(self, token: str) -> Principal | None:
        """The key's principal if it was verified before (cheap), else None."""
        record, _ = self._find(token)
        if record is None:
            return None
        stored, digest = self._verified.get(record.id, ("", b""))
        if stored == record.hash and hmac.compare_digest(digest, _digest(token)):
            return record.principal()
        return None

    def verify(self, token: str) -> Principal | None:
        """The key's principal after checking its secret against the hash (slow: run it
        off the event loop), None for any key that is not live in the file.

        One check at a time: scrypt takes ~16 MiB and tens of ms, so 64 clients arriving
        at once with a new key must not run 64 of them (a gigabyte); the ones waiting
        find the key verified when their turn comes."""
        with self._verifying:
            known = self.known(token)
            if known is not None:
                return known
            record, secret = self._find(token)
            if record is None or not check_secret(secret, record.hash):
                return None
            with self._lock:
                if self._records.get(record.id) is record:  # not revoked meanwhile
                    self._verified[record.id] = (record.hash, _digest(token))
            return record.principal()

    def _find(self, token: str) -> tuple[KeyRecord | None, str]:
        self._refresh()
        match = _TOKEN.match(token)
        if match is None:
            return None, ""
        return self._records.get(match["id"]), match["secret"]

    def _stat(self) -> tuple:
        info = os.stat(self.path)
        return (info.st_ino, info.st_mtime_ns, info.st_size, info.st_mode)

    def _refresh(self) -> None:
        try:
            stamp = self._stat()
        except OSError:
            stamp = None
        if stamp != self._stamp:
            try:
                self._reload(stamp)
            except (OSError, InvalidInputError) as exc:
                log.error("key file %s cannot be used, refusing every key: %s", self.path, exc)
                with self._lock:
                    self._stamp, self._records, self._verified = stamp, {}, {}

    def _reload(self, stamp: tuple | None) -> None:
        records = {r.id: r for r in KeyFile.load(self.path).records if r.revoked is None}
        with self._lock:
            self._stamp, self._records = stamp, records
            self._verified = {i: v for i, v in self._verified.items() if i in records}


def check_private(path: Path) -> None:
    """Refuse a key file that group or other users may read or write, saying why."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InvalidInputError(
            f"no key file at {path}; make one with `embedspace keys add`"
        ) from None
    if mode & 0o077:
        raise InsecureKeyFileError(
            f"refusing {path}: its permissions ({stat.filemode(mode)}) let other users "
            f"{'change' if mode & 0o022 else 'read'} it; make it private with `chmod 600 {path}`"
        )


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${derived.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison of a presented secret with its stored scrypt hash."""
    try:
        kind, n, r, p, salt, expected = stored.split("$")
        derived = hashlib.scrypt(
            secret.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_MAXMEM,
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return kind == "scrypt" and hmac.compare_digest(derived, bytes.fromhex(expected))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
