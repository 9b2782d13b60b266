"""An encoder that calls any OpenAI-compatible ``POST /v1/embeddings`` endpoint.

Why: OpenAI, Azure-style gateways, Hugging Face TEI, infinity, vLLM and Ollama all speak
this request shape, so one small client lets a space use any of them. Model name:
``openai:<model>@<base url>``, e.g. ``openai:text-embedding-3-small@https://api.openai.com/v1``
or ``openai:bge-small@http://127.0.0.1:7997``; without ``@<base url>`` the base URL comes
from ``$OPENAI_BASE_URL`` (default ``https://api.openai.com/v1``). The API key is read
from an environment variable (``$EMBEDSPACE_API_KEY``, else ``$OPENAI_API_KEY``), never
from the model name, so it is not stored in a space. Texts go in batches; 429 and 5xx
answers and dropped connections are retried with exponential backoff (honouring
``Retry-After``); other failures raise :class:`RemoteModelError` saying what to fix.
Standard library only (urllib), so no extra dependency.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidInputError, RemoteModelError
from ..progress import progress_bar
from .base import Role, l2_normalise, require_text_list

DEFAULT_BASE_URL = "https://api.openai.com/v1"
API_KEY_VARIABLES = ("EMBEDSPACE_API_KEY", "OPENAI_API_KEY")
_RETRYABLE = {408, 409, 429, 500, 502, 503, 504}


class RemoteEncoder:
    """Texts -> vectors through an OpenAI-compatible embeddings API."""

    modalities: tuple[str, ...] = ("text",)

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        dimensions: int | None = None,
    ) -> None:
        if not model:
            raise InvalidInputError("name the remote model: openai:<model>@<base url>")
        base = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"the base URL must start with http:// or https://, got {base!r}"
            )
        self.model = model
        self.url = base + ("/embeddings" if base.endswith("/v1") else "/v1/embeddings")
        self.api_key = api_key or next(
            (os.environ[v] for v in API_KEY_VARIABLES if os.environ.get(v)), None
        )
        self.batch_size, self.timeout = batch_size, timeout
        self.max_retries, self.backoff = max_retries, backoff
        self.dimensions = dimensions
        self.name = f"openai:{model}@{base}"
        self.model_id = self.name + (f"+dim={dimensions}" if dimensions else "")
        self._dim = dimensions

    @classmethod
    def from_spec(cls, spec: str) -> RemoteEncoder:
        """``"<model>@<base url>"`` or ``"<model>"`` (the part after ``openai:``)."""
        model, _, base_url = spec.partition("@")
        return cls(model, base_url or None)

    def __repr__(self) -> str:
        return f"RemoteEncoder({self.model_id!r})"

    @property
    def dim(self) -> int:
        """The model's output size, asked of the server once (one tiny request)."""
        if self._dim is None:
            self._dim = len(self._request(["dimension probe"])[0])
        return self._dim

    def encode(
        self, items: Sequence[str], role: Role = "document", *, progress: bool = False
    ) -> np.ndarray:
        require_text_list(items)
        rows: list[list[float]] = []
        with progress_bar(len(items), f"encoding with {self.name}", progress) as bar:
            for start in range(0, len(items), self.batch_size):
                batch = list(items[start : start + self.batch_size])
                rows.extend(self._request(batch))
                bar.advance(len(batch))
        if not rows:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        vectors = np.asarray(rows, dtype=np.float32)
        self._dim = self._dim or vectors.shape[1]
        if vectors.shape[1] != self._dim or not np.isfinite(vectors).all():
            raise RemoteModelError(f"{self.url} returned vectors of inconsistent size or NaN")
        return l2_normalise(vectors)

    # -- HTTP ---------------------------------------------------------------------------
    def _request(self, texts: list[str]) -> list[list[float]]:
        payload: dict = {"model": self.model, "input": texts, "encoding_format": "float"}
        if self.dimensions:
            payload["dimensions"] = self.dimensions
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(self.url, body, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return self._parse(json.loads(response.read()), len(texts))
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                if exc.code not in _RETRYABLE or attempt == self.max_retries:
                    raise RemoteModelError(self._explain(exc.code, detail)) from None
                delay = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise RemoteModelError(
                        f"cannot reach {self.url} after {attempt + 1} attempts ({exc}); check "
                        "the base URL and that the server is running"
                    ) from None
                delay = None
            except json.JSONDecodeError:
                raise RemoteModelError(f"{self.url} did not answer with JSON") from None
            time.sleep(delay if delay is not None else self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain(self, status: int, detail: str) -> str:
        hint = {
            401: f"the API key was refused: set one of {' or '.join(API_KEY_VARIABLES)}",
            403: "the API key may not use this model",
            404: f"no embeddings endpoint or no model {self.model!r} at {self.url}",
        }.get(status, "see the server's message")
        return f"{self.url} answered HTTP {status}: {hint}. Server said: {detail.strip()}"

    def _parse(self, answer: dict, expected: int) -> list[list[float]]:
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list) or len(data) != expected:
            raise RemoteModelError(
                f"{self.url} answered without {expected} embeddings in 'data': {str(answer)[:200]}"
            )
        ordered = sorted(data, key=lambda row: row.get("index", 0))
        return [row["embedding"] for row in ordered]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (capped at 60), None if absent or a date."""
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None
