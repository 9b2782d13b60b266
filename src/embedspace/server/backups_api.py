"""Backups through the API (admin scope): ``POST /backup``, ``GET /backups`` and
``POST /restore`` of a space, mounted beside the space routes (at the root and under
``/spaces/{name}``). Clients name backups by id only, never by path: each lives in the
server's backups folder under ``<space name>/<id>``, so no request can make the server
read or write a folder of its choosing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request

from ..backup import read_manifest
from ..errors import BackupError, SpaceExistsError
from .access import ADMIN, service_of
from .errors import ApiError
from .limits import work
from .schemas import BackupList, BackupOut, RestoreOut, RestoreRequest

router = APIRouter(tags=["backups"])


def _folder(request: Request, space: str) -> Path:
    backups = request.app.state.registry.backups
    if backups is None:
        raise ApiError(
            "this server keeps no backups: start it with --backups FOLDER",
            501,
            code="backups_not_configured",
        )
    return Path(backups) / space


def _describe(backup_id: str, folder: Path) -> BackupOut:
    manifest = read_manifest(folder)
    return BackupOut(
        id=backup_id,
        created=manifest["created"],
        generation=manifest["generation"],
        items=manifest["items"],
        chunks=manifest["chunks"],
        bytes=sum(f["bytes"] for f in manifest["files"].values()),
    )


def _listing(folder: Path) -> list[BackupOut]:
    """Whole backups only, newest first (an interrupted one has no manifest)."""
    found = []
    for path in sorted(folder.glob("[0-9]*"), reverse=True):
        try:
            found.append(_describe(path.name, path))
        except BackupError:
            continue
    return found


@router.post("/backup", response_model=BackupOut, status_code=201, dependencies=[ADMIN])
async def take_backup(request: Request) -> BackupOut:
    """A consistent backup of the space, taken while it keeps serving reads and writes."""
    service = service_of(request)
    backup_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    folder = _folder(request, service.name) / backup_id
    folder.parent.mkdir(parents=True, exist_ok=True)
    await work(request, service.backup, folder)
    return await work(request, _describe, backup_id, folder)


@router.get("/backups", response_model=BackupList, dependencies=[ADMIN])
async def list_backups(request: Request) -> BackupList:
    service = service_of(request)
    return BackupList(backups=await work(request, _listing, _folder(request, service.name)))


@router.post("/restore", response_model=RestoreOut, dependencies=[ADMIN])
async def restore_backup(body: RestoreRequest, request: Request) -> RestoreOut:
    """Replace the space with one of its backups (verified, then checked, then swapped
    in); ``force`` must be true. Requests arriving meanwhile wait, then see the result."""
    service = service_of(request)
    if not body.force:
        raise SpaceExistsError(
            f"restoring replaces the space {service.name!r}: send force=true to do that"
        )
    source = _folder(request, service.name) / body.backup
    if not source.is_dir():
        raise ApiError(f"no backup {body.backup!r} of this space", 404, param="backup")
    report = await work(request, service.restore, source)
    return RestoreOut(
        backup=body.backup,
        generation=report.generation,
        items=report.items,
        chunks=report.chunks,
        notes=report.notes,
    )
