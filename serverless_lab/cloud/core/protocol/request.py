"""The HTTP request and response as the protocol layer sees them."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl

from serverless_lab.cloud.core import digests
from serverless_lab.cloud.core.errors import SerializationError


@dataclass
class AwsRequest:
    """One incoming request, with the endpoint prefix already stripped from ``path``.

    ``path`` is still percent-encoded and starts with ``/``; ``query`` is the raw query
    string without ``?``. Header names are matched case-insensitively.
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    _digests: dict[str, Future[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    # The body as its service began storing it while it arrived (S3's ``storage.StreamedFile``).
    stored_body: Any = field(default=None, init=False, repr=False, compare=False)

    def body_digest(self, algorithm: str) -> Future[str]:
        """The body's hex digest with ``algorithm`` (a hashlib name), started on first use (a large
        body's on another thread, see ``core.digests``) and shared by every later use: the endpoint
        starts the ones a request will need together."""
        if algorithm not in self._digests:
            self._digests[algorithm] = digests.started(algorithm, self.body)
        return self._digests[algorithm]

    def adopt_digests(self, computed: Mapping[str, Future[str]]) -> None:
        """Use digests of this body computed already (while it arrived: see the endpoint's ASGI app)."""
        self._digests.update(computed)

    @cached_property
    def lower_headers(self) -> dict[str, str]:
        """Headers keyed by lower-case name."""
        return {name.lower(): value for name, value in self.headers.items()}

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None."""
        return self.lower_headers.get(name.lower())

    @cached_property
    def query_pairs(self) -> list[tuple[str, str]]:
        """The decoded query string as ordered (name, value) pairs; ``?uploads`` gives ``("uploads", "")``."""
        return parse_qsl(self.query, keep_blank_values=True) if self.query else []

    @cached_property
    def query_dict(self) -> dict[str, str]:
        """The decoded query string; for a repeated name the last value wins."""
        return dict(self.query_pairs)

    @cached_property
    def form(self) -> dict[str, str]:
        """Query-protocol parameters: the query string overlaid with a form-encoded body."""
        params = dict(self.query_pairs)
        if self.body:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SerializationError(f"The request body is not valid UTF-8: {exc}") from None
            params.update(parse_qsl(text, keep_blank_values=True))
        return params


@dataclass
class AwsResponse:
    """What the endpoint sends back: status, headers and the finished body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
