"""E-mail (.eml, and .mbox mailboxes) with the standard library's ``email`` package.

An e-mail becomes one item: its subject, then its body (the plain-text part, else the
HTML part's content). What the sender quoted from earlier mails (``>`` lines and the
"On ... wrote:" line before them, a forwarded or "Original Message" block) and the
signature (after the standard ``-- `` line) are dropped: they repeat other items' text
and would make every reply match its whole thread. Subject, from, to, date and
message id are metadata. Attachments that are themselves supported documents (a PDF, a
Word file, a forwarded e-mail...) become their own items, ``mail.eml#report.pdf``;
others are noted. Malformed headers are read leniently (the standard library's
``default`` policy) and noted; a file with no mail header at all is refused.
"""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import PurePosixPath
from typing import Any

from ...errors import UnsupportedFileError
from ..layout import TextBuilder
from .base import LoadedFile, LoadOptions, Source, document
from .detect import SUFFIX_KINDS
from .html import html_tree, write_html

_HEADERS = ("subject", "from", "to", "date", "message-id")
_ATTRIBUTION = re.compile(r"^\s*(On\b.*\bwrote|.*\bwrote)\s*:\s*$", re.I)
_FORWARD = re.compile(
    r"^\s*(-{2,}\s*(Original Message|Forwarded message)\s*-{2,}|_{20,})\s*$", re.I
)
#: content types of attachments without a usable file name
_SUFFIX_OF_TYPE = {
    "application/pdf": ".pdf",
    "text/html": ".html",
    "message/rfc822": ".eml",
    "application/epub+zip": ".epub",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
_MBOX_SEPARATOR = re.compile(rb"(?m)^From [^\n]*\n")
_MBOX_ESCAPE = re.compile(rb"(?m)^>(>*From )")


def drop_replies(text: str) -> str:
    """The author's own words: quoted lines, their attribution, forwarded blocks and the
    signature removed."""
    kept: list[str] = []
    for line in text.splitlines():
        if line.rstrip() in ("--", "-- ") or _FORWARD.match(line):
            break
        if line.lstrip().startswith(">"):
            if kept and _ATTRIBUTION.match(kept[-1]):
                kept.pop()
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _headers(message: EmailMessage, name: str) -> tuple[dict[str, Any], list[str]]:
    """Subject, from, to, date (ISO 8601 when it parses) and message id, and notes on
    headers that were malformed."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    raw = {k.lower(): v for k, v in reversed(list(message.raw_items()))}
    for key in _HEADERS:
        if key not in raw:
            continue
        try:
            header = message[key]
            value = " ".join(str(header).split())
            defects = list(getattr(header, "defects", ()))
        except Exception as exc:  # noqa: BLE001 - the parser gave up on this header
            value, defects = " ".join(str(raw[key]).split()), [exc]
        if key == "date":
            when = getattr(header, "datetime", None) if not defects else None
            if when is not None:
                value = when.isoformat()
            else:
                defects = defects or ["not a date"]
        if defects:
            notes.append(f"{name}: malformed {key.title()} header kept as written: {value!r}")
        out[key.replace("-", "_")] = value or None
    return out, notes


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown or wrong charset
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        tree = html_tree(content)
        if tree is None:
            return ""
        builder = TextBuilder()
        write_html(tree, builder, whole=True)
        content = builder.build()[0]
    return drop_replies(content)


def _attachments(
    message: EmailMessage, source: Source, headers: dict[str, Any]
) -> tuple[list[Source], list[str]]:
    """Attachments that are supported documents, as sources of their own (knowing which
    mail they came with: its path, subject, sender and date); notes on the rest."""
    inherited = {"attachment_of": source.rel} | {
        k: headers[k] for k in ("subject", "from", "date") if headers.get(k)
    }
    found: list[Source] = []
    notes: list[str] = []
    names: set[str] = set()
    for part in message.iter_attachments():
        kind = part.get_content_type()
        filename = part.get_filename() or f"attachment{_SUFFIX_OF_TYPE.get(kind, '')}"
        suffix = PurePosixPath(filename).suffix.lower() or _SUFFIX_OF_TYPE.get(kind, "")
        if suffix not in SUFFIX_KINDS:
            notes.append(f"{source.name}#{filename}: attachment not read (not a supported type)")
            continue
        if kind == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        unique, n = filename, 1
        while unique in names:
            n += 1
            unique = f"{filename}#{n}"
        names.add(unique)
        found.append(
            Source(
                data,
                f"{source.name}#{unique}",
                f"{source.rel}#{unique}",
                source.origin,
                suffix,
                inherited,
            )
        )
    return found, notes


def _parse(data: bytes, name: str) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not any(key in message for key in ("from", "to", "subject", "date")):
        raise UnsupportedFileError(
            f"{name} does not look like an e-mail: it has no From, To, Subject or Date header"
        )
    return message


def _message_file(message: EmailMessage, source: Source, kind: str) -> LoadedFile:
    metadata, notes = _headers(message, source.name)
    builder = TextBuilder()
    builder.block(metadata.get("subject") or "")
    builder.block(_body(message))
    text, _ = builder.build()
    loaded = document(source, kind, text, None, metadata)
    loaded.attachments, attachment_notes = _attachments(message, source, metadata)
    loaded.notes.extend(notes + attachment_notes)
    return loaded


def load_eml(source: Source, options: LoadOptions) -> LoadedFile:
    return _message_file(_parse(source.data, source.name), source, "eml")


def load_mbox(source: Source, options: LoadOptions) -> LoadedFile:
    """Every message of a mailbox, ``box.mbox#<message id>`` (or ``#<n>`` without one)."""
    out = LoadedFile()
    keys: set[str] = set()
    for number, raw in enumerate(_MBOX_SEPARATOR.split(source.data)[1:], start=1):
        raw = _MBOX_ESCAPE.sub(rb"\1", raw)
        try:
            message = _parse(raw, f"{source.name} message {number}")
        except UnsupportedFileError as exc:
            out.skipped.append(str(exc))
            continue
        key = str(message.get("message-id", "")).strip().strip("<>") or str(number)
        key = key if key not in keys else str(number)
        keys.add(key)
        inner = Source(raw, f"{source.name}#{key}", f"{source.rel}#{key}", source.origin, ".eml")
        loaded = _message_file(message, inner, "mbox")
        out.extend(loaded)
        out.attachments.extend(loaded.attachments)
    if not keys and not out.skipped:
        raise UnsupportedFileError(f"{source.name} holds no message (no 'From ' separator line)")
    return out
