"""The project's own error types.

Every error embedspace raises on purpose derives from :class:`EmbedspaceError`, so callers
can catch one type; each also derives from the closest built-in (``ValueError``,
``KeyError``, ...) so ordinary Python habits keep working. Messages say what to do next.
"""

from __future__ import annotations


class EmbedspaceError(Exception):
    """Base class of every error embedspace raises on purpose."""


class InvalidInputError(EmbedspaceError, ValueError):
    """The caller passed something we cannot use (empty text, NaN vector, bad k...)."""


class NotASpaceError(EmbedspaceError, FileNotFoundError):
    """A path that should hold a space holds something else."""


class ModelMismatchError(EmbedspaceError, ValueError):
    """A space built with one model was opened with another: vectors would not mix."""


class ModelChangedError(ModelMismatchError):
    """A write embedded with the space's old model arrived after a re-embed swapped in
    a new one: refused, so the writer embeds it again with the new model."""


class _ReadableKeyError(EmbedspaceError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ItemNotFoundError(_ReadableKeyError):
    """An id that is not in the space."""


class UnknownWordError(_ReadableKeyError):
    """A word that a static word-vector model has no vector for."""


class UnsupportedFileError(EmbedspaceError, ValueError):
    """A file we cannot read as text: binary, not UTF-8, too large, wrong format."""


class ModelNotFoundError(EmbedspaceError, LookupError):
    """A model name or path that no loader recognises."""


class MissingDependencyError(EmbedspaceError, ImportError):
    """An optional dependency a feature needs is not installed."""


class DamagedModelError(EmbedspaceError, OSError):
    """A model file on disk does not match the hash its manifest records (truncated,
    altered, half-copied); the message names the command that repairs it."""


class SpaceLockedError(EmbedspaceError, RuntimeError):
    """Another process held the write lock longer than we were willing to wait."""


class EmbedspaceWarning(UserWarning):
    """Something worked but not the way the caller may assume (e.g. truncated text)."""


class RemoteModelError(EmbedspaceError, RuntimeError):
    """A remote embedding API refused, failed or answered something unusable."""


class NotSupportedError(EmbedspaceError, NotImplementedError):
    """An operation this space's backend cannot do (see the capability table in docs/scale.md)."""


class BackendError(EmbedspaceError, ConnectionError):
    """A remote backend (Postgres, Milvus) could not be reached or refused a request."""


class SpaceExistsError(EmbedspaceError, FileExistsError):
    """A target that already holds a space (or files) and was not to be replaced."""


class BackupError(EmbedspaceError, OSError):
    """A backup that could not be taken, or a folder that is not a whole backup."""


class InsecureKeyFileError(EmbedspaceError, PermissionError):
    """A key file other users could read or change: the server refuses to trust it."""
