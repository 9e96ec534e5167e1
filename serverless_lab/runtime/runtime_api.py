"""Host side of the Lambda Runtime API, for one execution environment.

The runtime inside the sandbox speaks HTTP/1.1 to ``127.0.0.1:9001``; a relay in the sandbox
carries every connection to a Unix socket served by :class:`RuntimeApiServer`.  The server runs in
the caller's selector loop (the environment drives it while an invocation is in progress), so a
warm invocation costs no thread hand-off and no process spawn.  Requests are parsed by
:class:`HttpRequestParser` (sans I/O, unit-tested on bytes) and routed by :func:`route`.

Endpoints, as documented by AWS ("Using the Lambda runtime API for custom runtimes"):
``GET /2018-06-01/runtime/invocation/next``, ``POST .../invocation/{id}/response``,
``POST .../invocation/{id}/error`` and ``POST .../init/error``.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

API_PREFIX = "/2018-06-01/runtime"
# Lambda's quota for a synchronous response (and request) payload.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 + 100
MAX_HEADER_BYTES = 64 * 1024
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
}


class HttpError(Exception):
    """The request cannot be parsed; the connection answers ``status`` and is closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    too_large: bool = False  # the body exceeded the cap and was discarded unread


class HttpRequestParser:
    """Incremental HTTP/1.1 request parser: Content-Length or chunked bodies, size-capped.

    A Content-Length body over the cap is skipped as it arrives (never buffered) and the request
    is returned with ``too_large`` set, so the caller can answer 413 and keep the connection.
    """

    def __init__(self, max_body: int = MAX_PAYLOAD_BYTES) -> None:
        self._buffer = bytearray()
        self._max_body = max_body
        self._skip = 0

    def feed(self, data: bytes) -> list[HttpRequest]:
        """Add received bytes; return every request now complete. Raises :class:`HttpError`."""
        self._buffer += data
        requests: list[HttpRequest] = []
        while True:
            if self._skip:
                dropped = min(self._skip, len(self._buffer))
                del self._buffer[:dropped]
                self._skip -= dropped
                if self._skip:
                    return requests
            request = self._parse_one()
            if request is None:
                return requests
            requests.append(request)

    def _parse_one(self) -> HttpRequest | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise HttpError(400, "request header too large")
            return None
        lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise HttpError(400, "malformed request line")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError(400, "malformed header line")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parsed = self._chunked_body(start)
            if parsed is None:
                return None
            body, consumed = parsed
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise HttpError(400, "bad Content-Length") from None
            if length < 0:
                raise HttpError(400, "bad Content-Length")
            if length > self._max_body:
                del self._buffer[:start]
                self._skip = length
                return HttpRequest(parts[0], parts[1], headers, b"", too_large=True)
            if len(self._buffer) < start + length:
                return None
            body, consumed = bytes(self._buffer[start : start + length]), start + length
        del self._buffer[:consumed]
        return HttpRequest(parts[0], parts[1], headers, body)

    def _chunked_body(self, pos: int) -> tuple[bytes, int] | None:
        body = bytearray()
        while True:
            line_end = self._buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            try:
                size = int(bytes(self._buffer[pos:line_end]).split(b";")[0], 16)
            except ValueError:
                raise HttpError(400, "bad chunk size") from None
            if len(body) + size > self._max_body:
                raise HttpError(413, "payload too large")
            chunk_start = line_end + 2
            if size == 0:
                trailer_end = self._buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    return None
                return bytes(body), trailer_end + 4
            if len(self._buffer) < chunk_start + size + 2:
                return None
            body += self._buffer[chunk_start : chunk_start + size]
            pos = chunk_start + size + 2


class Route(Enum):
    NEXT = "next"
    RESPONSE = "response"
    ERROR = "error"
    INIT_ERROR = "init_error"
    UNKNOWN = "unknown"


def route(method: str, path: str) -> tuple[Route, str | None]:
    """Which Runtime API call a request is, and its request id for response/error."""
    path = path.split("?", 1)[0]
    if not path.startswith(API_PREFIX + "/"):
        return Route.UNKNOWN, None
    parts = path[len(API_PREFIX) + 1 :].split("/")
    if method == "GET" and parts == ["invocation", "next"]:
        return Route.NEXT, None
    if method == "POST" and parts == ["init", "error"]:
        return Route.INIT_ERROR, None
    if method == "POST" and len(parts) == 3 and parts[0] == "invocation" and parts[1]:
        if parts[2] == "response":
            return Route.RESPONSE, parts[1]
        if parts[2] == "error":
            return Route.ERROR, parts[1]
    return Route.UNKNOWN, None


@dataclass(frozen=True)
class Invocation:
    """One event handed to the runtime as the answer to ``GET /invocation/next``."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str | None = None
    client_context: str | None = None
    cognito_identity: str | None = None

    def http_response(self) -> bytes:
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
        ]
        if self.trace_id:
            headers.append(("Lambda-Runtime-Trace-Id", self.trace_id))
        if self.client_context:
            headers.append(("Lambda-Runtime-Client-Context", self.client_context))
        if self.cognito_identity:
            headers.append(("Lambda-Runtime-Cognito-Identity", self.cognito_identity))
        return http_response(200, self.payload, headers)


def http_response(status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}"]
    for name, value in headers or [("Content-Type", "application/json")]:
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} contains a line break")
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


@dataclass(eq=False)
class ApiConnection:
    """One HTTP connection from the runtime (through the relay)."""

    sock: socket.socket
    parser: HttpRequestParser = field(default_factory=HttpRequestParser)
    out: bytearray = field(default_factory=bytearray)
    closing: bool = False  # close once ``out`` is written
    close_when_answered: bool = False  # the client sent "Connection: close"


@dataclass
class ApiCall:
    """A parsed, routed request waiting for the environment to answer it."""

    route: Route
    request_id: str | None
    request: HttpRequest
    connection: ApiConnection


class RuntimeApiServer:
    """The Runtime API on a Unix socket, driven by the owner's selector.

    Register with :meth:`register`; pass every ready key whose ``data`` is this server or one of
    its connections to :meth:`handle`, which returns the complete calls.  Unknown routes and
    malformed requests are answered here; the environment answers the rest with :meth:`reply`.
    """

    def __init__(self, path: Path, *, owner_uid: int | None = None) -> None:
        self.path = path
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        if owner_uid is not None:
            os.chown(path, owner_uid, owner_uid)
        os.chmod(path, 0o600)
        self._listener.listen(16)
        self._listener.setblocking(False)
        self._selector: selectors.BaseSelector | None = None
        self._connections: set[ApiConnection] = set()

    def register(self, selector: selectors.BaseSelector) -> None:
        self._selector = selector
        selector.register(self._listener, selectors.EVENT_READ, self)

    def owns(self, data: object) -> bool:
        return data is self or isinstance(data, ApiConnection)

    def handle(self, data: object, mask: int) -> list[ApiCall]:
        if data is self:
            self._accept()
            return []
        assert isinstance(data, ApiConnection)
        if mask & selectors.EVENT_WRITE:
            self._flush(data)
        if mask & selectors.EVENT_READ and data in self._connections:
            return list(self._read(data))
        return []

    def reply(self, connection: ApiConnection, status: int, body: bytes = b"") -> None:
        self.send(connection, http_response(status, body))

    def send(self, connection: ApiConnection, data: bytes) -> None:
        if connection not in self._connections:
            return
        connection.out += data
        connection.closing = connection.closing or connection.close_when_answered
        self._flush(connection)

    def close(self) -> None:
        for connection in list(self._connections):
            self._drop(connection)
        if self._selector is not None:
            self._selector.unregister(self._listener)
        self._listener.close()

    def _accept(self) -> None:
        assert self._selector is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            connection = ApiConnection(sock)
            self._connections.add(connection)
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _read(self, connection: ApiConnection) -> Iterator[ApiCall]:
        try:
            data = connection.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(connection)
            return
        try:
            requests = connection.parser.feed(data)
        except HttpError as exc:
            connection.closing = True
            self.reply(connection, exc.status, error_body("InvalidRequest", str(exc)))
            return
        for request in requests:
            if request.headers.get("connection", "").lower() == "close":
                connection.close_when_answered = True
            kind, request_id = route(request.method, request.path)
            if kind is Route.UNKNOWN:
                self.reply(connection, 404, error_body("InvalidRequest", f"no route {request.method} {request.path}"))
                continue
            yield ApiCall(kind, request_id, request, connection)

    def _flush(self, connection: ApiConnection) -> None:
        assert self._selector is not None
        if connection.out:
            try:
                sent = connection.sock.send(connection.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(connection)
                return
            del connection.out[:sent]
        if not connection.out and connection.closing:
            self._drop(connection)
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.out else 0)
        self._selector.modify(connection.sock, events, connection)

    def _drop(self, connection: ApiConnection) -> None:
        assert self._selector is not None
        if connection not in self._connections:
            return
        self._connections.discard(connection)
        self._selector.unregister(connection.sock)
        connection.sock.close()
