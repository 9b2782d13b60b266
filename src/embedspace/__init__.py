"""embedspace: words, sentences, documents and images as points in one searchable space.

import embedspace as es
space = es.Space("shop.space")
space.add(["Refunds: return an item within 30 days for your money back"])
space.search("I'd like my money back", k=5)
"""

from .analysis.classify import Prediction
from .analysis.compare import compare
from .analysis.tokens import token_vectors
from .encoders.registry import load_encoder, models, words
from .encoders.reranker import reranker
from .encoders.words import WordVectors
from .errors import (
    BackendError,
    DamagedModelError,
    EmbedspaceError,
    EmbedspaceWarning,
    InvalidInputError,
    ItemNotFoundError,
    MissingDependencyError,
    ModelMismatchError,
    ModelNotFoundError,
    NotASpaceError,
    NotSupportedError,
    RemoteModelError,
    SpaceLockedError,
    UnknownWordError,
    UnsupportedFileError,
)
from .migrate import migrate
from .search.context import Citation, Context
from .search.results import Hit
from .space import Item, Space, SyncReport, classify, cosine, embed, embed_images

__version__ = "0.1.0"

__all__ = [
    "Space",
    "Hit",
    "Item",
    "SyncReport",
    "embed",
    "embed_images",
    "token_vectors",
    "compare",
    "classify",
    "Prediction",
    "cosine",
    "migrate",
    "load_encoder",
    "reranker",
    "Context",
    "Citation",
    "models",
    "words",
    "WordVectors",
    "EmbedspaceError",
    "DamagedModelError",
    "EmbedspaceWarning",
    "InvalidInputError",
    "ItemNotFoundError",
    "MissingDependencyError",
    "ModelMismatchError",
    "ModelNotFoundError",
    "NotASpaceError",
    "NotSupportedError",
    "BackendError",
    "RemoteModelError",
    "SpaceLockedError",
    "UnknownWordError",
    "UnsupportedFileError",
]
