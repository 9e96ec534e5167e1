"""The ASGI application of the AWS endpoint: a request, a response, little else.

The site's middleware (sessions, CSRF, messages, htmx…) is sync-only, so under ASGI Django hops
into a thread for each of them and gives every request its own thread-sensitive executor. Django's
handler also resolves the URL, sends the request_started/finished signals (whose receivers manage
the event loop thread's database connections, which the endpoint never uses: its ORM work runs in
``offloop``'s pool, with its own connection hygiene), runs a second task to watch for a disconnect
and closes every response in a thread. The endpoint needs none of it (SigV4 is its
authentication, and a call runs to its end even when the client has gone); measured, skipping it
all roughly halved the server's CPU for a simple call.

Nor does it need Django's request object: the view reads the method, the path, the query, the
headers and the body, so ``_EndpointRequest`` carries just those (the body gathered in memory at
once, where Django spools it through a temporary file and copies it out again). A plain response
goes out as one body message, where Django cuts it into 64 KiB messages (16 socket writes for a
1 MiB object).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponse
from django.urls import set_script_prefix

from serverless_lab.cloud.core import digests

from .views import WhileArriving, aws_endpoint, while_arriving


class _EndpointRequest:
    """What ``aws_endpoint`` reads of a request, straight from the ASGI scope (with Django's rules:
    header names with an underscore are dropped, repeated headers are joined with commas)."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.path = scope["path"]
        self.method = scope["method"].upper()
        query = scope.get("query_string", b"")
        self.META = {"QUERY_STRING": query.decode() if isinstance(query, bytes) else query}
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin1").lower()
            if "_" in name:
                continue
            value = raw_value.decode("latin1")
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        self.headers = headers
        if "content-length" in headers:
            self.META["CONTENT_LENGTH"] = headers["content-length"]
        self._body = b""
        self._too_big = False
        self.digests: dict[str, Future[str]] = {}  # the body's, computed while it arrived
        self.stored_body: Any = None  # the body as its service began storing it while it arrived

    def received(self, body: bytes, *, too_big: bool) -> None:
        self._body, self._too_big = body, too_big
        if too_big:
            self.digests = {}

    @property
    def body(self) -> bytes:
        if self._too_big:
            raise RequestDataTooBig("Request body exceeded LAB_MAX_REQUEST_BYTES.")
        return self._body


async def _read_body(request: _EndpointRequest, receive: Any) -> bool:
    """Read the whole body into ``request`` and note whether it passed the size limit (then only its
    start is kept, nothing when its declared length was already over); False when the client went
    away. The digests its handler will want are computed, and its store started, as it arrives
    (``views.while_arriving``)."""
    chunks: list[bytes] = []
    size, limit = 0, settings.LAB_MAX_REQUEST_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        limit = -1
    first: asyncio.Task[Any] | None = None
    if limit > 0 and request.headers.get("expect", "").lower() == "100-continue":
        # The client sends the body only after the "100 Continue" that the ASGI server writes at the
        # first ``receive``: ask for it at once, so that the plan is made while it travels.
        first = asyncio.ensure_future(receive())
        await asyncio.sleep(0)
    plan = while_arriving(request.method, request.META["QUERY_STRING"], request.headers) if limit > 0 else WhileArriving()
    streamed = digests.Streamed(plan.digests) if plan.digests else None
    complete = False
    try:
        while True:
            message = await (first or receive())
            first = None
            if message["type"] == "http.disconnect":
                return False
            chunk = message.get("body", b"")
            size += len(chunk)
            if chunk and size <= limit:
                chunks.append(chunk)
                if streamed is not None:
                    streamed.feed(chunk)
                if plan.stored is not None:
                    plan.stored.feed(chunk)
            if not message.get("more_body", False):
                complete = size <= limit
                break
    finally:
        if streamed is not None:
            request.digests = streamed.finish()
        if plan.stored is not None:
            plan.stored.finish()
            if complete:
                request.stored_body = plan.stored
            else:  # the client went away, or sent too much
                plan.stored.discard()
    request.received(chunks[0] if len(chunks) == 1 else b"".join(chunks), too_big=size > limit or limit < 0)
    return True


class AwsEndpointHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        """No middleware: see the module's docstring."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = _EndpointRequest(scope)
        if not await _read_body(request, receive):
            return
        if scope.get("root_path"):  # served under a path prefix: URLs the handlers reverse carry it
            set_script_prefix(get_script_prefix(scope))
        prefix = "/" + settings.AWS_ENDPOINT_PREFIX
        path = scope["path"][len(prefix):] if scope["path"].startswith(prefix) else ""
        response = await aws_endpoint(request, path)
        await self._send(response, send)

    async def _send(self, response: HttpResponse, send: Any) -> None:
        try:
            if response.streaming:
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size  # the ASGI server does the low-level chunking
                await self.send_response(response, send)
            else:
                headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
                await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
                await send({"type": "http.response.body", "body": response.content})
        except asyncio.CancelledError:  # the client went away mid-response
            pass
        finally:
            if response.streaming:  # its file is closed (and the file may be on slow storage)
                await asyncio.get_running_loop().run_in_executor(None, response.close)
