"""The spaces of a server: ``GET /spaces`` (those the key may read), ``POST /spaces``
and ``DELETE /spaces/{name}`` (admin; a server of a folder of spaces only), and the
liveness ``/health`` of a server of several spaces."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from .access import ADMIN, READ, SPACE, named_space, principal_of, require
from .limits import work
from .schemas import CreateSpaceRequest, ServerHealth, SpaceList, SpaceOut
from .service import SpaceService

router = APIRouter(tags=["spaces"])
#: Mounted only when no single space owns the root routes (serve DIR / CONFIG).
liveness = APIRouter()


def _describe(services: list[SpaceService]) -> list[SpaceOut]:
    return [SpaceOut(name=s.name, **s.health()) for s in services]


@router.get("/spaces", response_model=SpaceList, dependencies=[READ])
async def list_spaces(request: Request) -> SpaceList:
    services = list(request.app.state.registry.services(principal_of(request)))
    return SpaceList(spaces=await work(request, _describe, services))


@router.post("/spaces", response_model=SpaceOut, status_code=201, dependencies=[ADMIN])
async def create_space(body: CreateSpaceRequest, request: Request) -> SpaceOut:
    """A new empty space ``DIR/<name>.space``; 409 if the name is taken."""
    require(request, "admin", body.name)  # a key limited to spaces: is this one of them?
    registry = request.app.state.registry
    service = await work(request, registry.create, body.name, body.model, body.dim)
    return (await work(request, _describe, [service]))[0]


@router.delete("/spaces/{name}", status_code=204, dependencies=[Depends(named_space), ADMIN])
async def drop_space(request: Request) -> None:
    """Stop serving the space and delete its folder (requests in flight finish first)."""
    await work(request, request.app.state.registry.drop, request.scope[SPACE])


@liveness.get("/health", response_model=ServerHealth, tags=["spaces"])
async def health(request: Request) -> ServerHealth:
    return ServerHealth(spaces=len(request.app.state.registry.names()))
