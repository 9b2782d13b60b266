"""The spaces one server serves, by name: ``embedspace serve SPACE | DIR | CONFIG.toml``.

* ``SPACE`` (a space folder or URI): that one space, also served at the root routes
  (``/search``...) as before; its name is the folder's without ``.space`` (a URI's
  ``collection``), or ``space`` if that is no valid name.
* ``DIR``: every space folder directly inside it, named after the folder without
  ``.space`` (``DIR/shop.space`` -> ``shop``); an admin key can create and drop spaces
  there through the API.
* ``CONFIG.toml``: ``[spaces]`` maps names to locations (folders, relative to the file,
  ``postgresql://`` or ``milvus://`` URIs); an optional top-level ``backups`` names the
  folder API backups go to.

Names are checked (names.py) before they touch anything; a folder in DIR whose name is
not valid is skipped with a warning. Opening every space at start means a broken one
stops the server there, not at a user's first request.
"""

from __future__ import annotations

import logging
import shutil
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..atomic import fsync_dir, temp_path_for
from ..encoders.catalogue import PACKAGED_MODELS
from ..errors import InvalidInputError, NotSupportedError, SpaceExistsError
from ..space import Space
from ..store.factory import backend_name
from ..store.sqlite import DB_NAME
from .errors import ApiError
from .keys import Principal
from .names import RULE, SUFFIX, is_valid_name
from .service import SpaceService

#: Where API backups go unless told: beside the served spaces (hidden, so it is never
#: taken for a space).
BACKUPS = ".backups"
log = logging.getLogger(__name__)


def check_name(name: str) -> str:
    """``name`` if it is a valid space name, else a 400 saying what is allowed."""
    if not is_valid_name(name):
        raise ApiError(
            f"invalid space name {name!r}: {RULE}", param="name", code="invalid_space_name"
        )
    return name


def name_of(location: str | Path) -> str:
    """A space's name from its location: the folder name without ``.space``, or a
    URI's ``collection`` (else its last path segment)."""
    if backend_name(location) == "sqlite":
        return Path(location).resolve().name.removesuffix(SUFFIX)
    parsed = urlparse(str(location))
    collection = parse_qs(parsed.query).get("collection", [""])[0]
    return collection or parsed.path.rstrip("/").rsplit("/", 1)[-1] or "space"


class SpaceRegistry:
    """Name -> SpaceService for every served space; ``default`` is the one the root
    routes serve (single-space mode only)."""

    def __init__(
        self, target: str | Path, *, max_batch: int = 256, backups: str | Path | None = None
    ) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()  # the name table, held briefly
        self._admin = threading.Lock()  # creating and dropping, one at a time
        self.root: Path | None = None  # the DIR spaces are created in (DIR mode)
        self.default: str | None = None
        locations, config_backups = self._discover(target)
        self.backups: Path | None = _backups_folder(target, backups or config_backups)
        self._services: dict[str, SpaceService] = {}
        try:
            for name, location in locations.items():
                self._services[name] = SpaceService(location, name=name, max_batch=max_batch)
        except BaseException:
            self.close()
            raise

    def _discover(self, target: str | Path) -> tuple[dict[str, str | Path], str | None]:
        if backend_name(target) != "sqlite" or (Path(target) / DB_NAME).is_file():
            name = name_of(target)
            self.default = name if is_valid_name(name) else "space"
            return {self.default: target}, None
        path = Path(target)
        if path.is_file() and path.suffix == ".toml":
            return _read_config(path)
        if not path.is_dir():
            raise InvalidInputError(
                f"{target} is neither a space, a folder of spaces nor a .toml config"
            )
        self.root = path
        found: dict[str, str | Path] = {}
        for child in sorted(path.iterdir()):
            if not (child / DB_NAME).is_file():
                continue
            name = child.name.removesuffix(SUFFIX)
            if not is_valid_name(name):
                log.warning("not serving %s: %r is not a valid space name", child, name)
                continue
            if name in found:
                raise InvalidInputError(f"two spaces in {path} are both named {name!r}")
            found[name] = child
        return found, None

    # -- lookups ------------------------------------------------------------------------------
    def get(self, name: str) -> SpaceService:
        check_name(name)
        with self._lock:
            service = self._services.get(name)
        if service is None:
            raise ApiError(f"no space named {name!r} here", 404, code="space_not_found")
        return service

    def names(self, principal: Principal | None = None) -> list[str]:
        """The names ``principal`` may read (every name when the server has no keys)."""
        with self._lock:
            names = sorted(self._services)
        return [n for n in names if principal is None or principal.allows("read", n)]

    def services(self, principal: Principal | None = None) -> Iterator[SpaceService]:
        for name in self.names(principal):
            with self._lock:
                service = self._services.get(name)
            if service is not None:
                yield service

    def for_model(self, model: str, principal: Principal | None) -> SpaceService:
        """A space ``principal`` may read whose model answers to ``model`` (/v1/embeddings
        is one route for every space: ``model`` picks the encoder)."""
        served = [s for s in self.services(principal) if s.space.encoder is not None]
        for service in served:
            if service.serves_model(model):
                return service
        names = sorted({s.model_name for s in served}) or ["none"]
        raise ApiError(
            f"model {model!r} is not served here; this server embeds with {', '.join(names)}",
            404,
            param="model",
            code="model_not_found",
        )

    # -- admin ----------------------------------------------------------------------------------
    def create(self, name: str, model: str | None, dim: int | None) -> SpaceService:
        """A new empty space ``DIR/<name>.space`` (DIR mode only)."""
        root = self._require_root("created")
        check_name(name)
        if model not in (None, "default") and model not in PACKAGED_MODELS:
            raise ApiError(
                f"model must be 'default', null (your own vectors, with dim) or one of "
                f"{sorted(PACKAGED_MODELS)}",
                param="model",
            )
        folder = root / f"{name}{SUFFIX}"
        with self._admin:  # the model may take seconds to load: lookups go on meanwhile
            with self._lock:
                taken = name in self._services
            if taken or folder.exists():
                raise SpaceExistsError(f"a space named {name!r} exists already")
            Space(folder, model=model, dim=dim, progress=False).close()
            service = SpaceService(folder, name=name, max_batch=self.max_batch)
            with self._lock:
                self._services[name] = service
        return service

    def drop(self, name: str) -> None:
        """Stop serving ``name`` and delete its folder (DIR mode only): moved aside first,
        so a crash mid-way never leaves a half-deleted space under the name."""
        self._require_root("dropped")
        with self._admin:
            service = self.get(name)
            with self._lock:
                self._services.pop(name, None)
            folder = service.retire()
            if folder is not None:
                aside = temp_path_for(folder).with_suffix(".dropped")
                folder.rename(aside)
                fsync_dir(folder.parent)
                shutil.rmtree(aside, ignore_errors=True)

    def _require_root(self, what: str) -> Path:
        if self.root is None:
            raise NotSupportedError(
                f"spaces can be {what} only when the server serves a folder of spaces "
                "(embedspace serve DIR)"
            )
        return self.root

    def close(self) -> None:
        with self._lock:
            services, self._services = list(self._services.values()), {}
        for service in services:
            service.close()


def _read_config(path: Path) -> tuple[dict[str, str | Path], str | None]:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(f"{path} cannot be read as TOML: {exc}") from exc
    spaces = config.get("spaces")
    if not isinstance(spaces, dict) or not spaces:
        raise InvalidInputError(f'{path} needs a [spaces] table: name = "location"')
    found: dict[str, str | Path] = {}
    for name, location in spaces.items():
        if not isinstance(location, str):
            raise InvalidInputError(f"{path}: spaces.{name} must be a location string")
        check_name(name)
        found[name] = location if backend_name(location) != "sqlite" else path.parent / location
    backups = config.get("backups")
    return found, str(path.parent / backups) if isinstance(backups, str) else None


def _backups_folder(target: str | Path, chosen: str | Path | None) -> Path | None:
    """The folder API backups go to: ``chosen``, else ``.backups`` in DIR, or beside
    SPACE or CONFIG; None for a remote space (backed up by its own database)."""
    if chosen is not None:
        return Path(chosen)
    if backend_name(target) != "sqlite":
        return None
    path = Path(target)
    return (path if path.is_dir() and not (path / DB_NAME).is_file() else path.parent) / BACKUPS
