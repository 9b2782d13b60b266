"""Running a server for a team: ``serve`` (one space, a folder of spaces or a TOML list)
and the ``keys`` group that manages its key file (``add``, ``list``, ``revoke``)."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from ..errors import InvalidInputError, MissingDependencyError
from .options import JsonOpt, handles_errors
from .render import console, emit, err_console

app = typer.Typer()
keys_app = typer.Typer(help="API keys of `embedspace serve --keys KEYFILE`: add, list, revoke.")

KeyFileArg = Annotated[
    str, typer.Argument(help="The key file (JSON, private to its owner: mode 600).")
]


@app.command()
@handles_errors
def serve(
    path: Annotated[
        str,
        typer.Argument(
            help="A space (folder or URI), a folder of spaces (each served as "
            "/spaces/NAME/...), or a .toml config mapping names to locations (its spaces table)."
        ),
    ],
    host: Annotated[
        str, typer.Option(help="Interface to listen on (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    keys: Annotated[
        str | None,
        typer.Option(help="Key file of scoped keys (`embedspace keys add`); re-read on change."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(help="Name of an environment variable holding one admin key (Bearer auth)."),
    ] = None,
    backups: Annotated[
        str | None,
        typer.Option(
            help="Folder of backups taken through the API [default: .backups beside PATH's spaces]."
        ),
    ] = None,
    audit_log: Annotated[
        str | None, typer.Option(help="Append the audit log (writes, admin calls) to this file.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0, help="Requests per second per key (or address); 0 = no limit."),
    ] = None,
    concurrent: Annotated[
        int | None, typer.Option(min=1, help="Requests in flight per key.")
    ] = None,
    heavy_slots: Annotated[
        int | None,
        typer.Option(min=1, help="Expensive requests (re-ranking, analyses) at once."),
    ] = None,
    heavy_queue: Annotated[
        int | None, typer.Option(min=0, help="Expensive requests waiting; beyond, 429.")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host.")
    ] = False,
) -> None:
    """Serve PATH over HTTP: OpenAI-compatible /v1/embeddings, search, items, backups, and the web explorer at /.

    Limits left out take the server's defaults (docs/reliability.md, "Limits")."""
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InvalidInputError(f"--api-key-env {api_key_env}: that variable is empty or unset")
    try:
        from ..server import serve as run_server
        from ..server.limits import Limits
    except ImportError as exc:
        raise MissingDependencyError(
            "the server needs its extra: pip install 'embedspace[server]'"
        ) from exc
    given: dict[str, Any] = {
        "rate": rate,
        "concurrent": concurrent,
        "heavy_slots": heavy_slots,
        "heavy_queue": heavy_queue,
    }
    limits = Limits(**{k: v for k, v in given.items() if v is not None})  # else its defaults
    err_console.print(f"explorer and API on http://{host}:{port}/", highlight=False)
    run_server(
        path,
        host,
        port,
        api_key=api_key,
        keys=keys,
        limits=limits,
        backups=backups,
        audit_file=audit_log,
        allow_remote=allow_remote,
    )


@keys_app.command("add")
@handles_errors
def add_key(
    keyfile: KeyFileArg,
    scope: Annotated[
        str,
        typer.Option(
            help="read (search, get, map, embeddings), write (+ add, update, "
            "delete) or admin (+ create/drop spaces, backup, restore)."
        ),
    ],
    space: Annotated[
        list[str] | None,
        typer.Option(help="Limit the key to this space (repeatable); default: every space."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note on whose key it is (shown by list).")] = "",
) -> None:
    """Make a key, store its hash in KEYFILE (created private) and print the key once."""
    from ..server.keys import KeyFile
    from ..server.names import RULE, is_valid_name

    for name in space or []:
        if not is_valid_name(name):
            raise InvalidInputError(f"--space {name!r} is not a space name: {RULE}")
    keyfile_ = KeyFile.load(keyfile, missing_ok=True)
    key = keyfile_.add(scope, space, label)
    keyfile_.save()
    typer.echo(key)
    err_console.print(
        f"key {keyfile_.records[-1].id} ({scope}) added to {keyfile}; it is shown only now: "
        "store it somewhere safe",
        highlight=False,
    )


@keys_app.command("list")
@handles_errors
def list_keys(keyfile: KeyFileArg, as_json: JsonOpt = False) -> None:
    """The keys in KEYFILE: id, scope, spaces, label, created, revoked (never secrets)."""
    from ..server.keys import KeyFile

    for record in KeyFile.load(keyfile).records:
        row = record.public()
        if as_json:
            emit(row)
            continue
        spaces = ",".join(row["spaces"]) if row["spaces"] else "*"
        state = f"revoked {row['revoked']}" if row["revoked"] else "live"
        console.print(
            f"{row['id']}  {row['scope']:<5}  spaces={spaces}  {state}  created {row['created']}"
            + (f"  {row['label']}" if row["label"] else ""),
            highlight=False,
        )


@keys_app.command("revoke")
@handles_errors
def revoke_key(
    keyfile: KeyFileArg,
    key: Annotated[str, typer.Argument(help="The key's id (from `keys list`) or the key.")],
) -> None:
    """Revoke a key: a running server refuses it from its next request on."""
    from ..server.keys import KeyFile

    keyfile_ = KeyFile.load(keyfile)
    record = keyfile_.revoke(key)
    keyfile_.save()
    console.print(f"key {record.id} revoked", highlight=False)
