"""The ASGI application of the AWS endpoint: Django's request and response, little else.

The site's middleware (sessions, CSRF, messages, htmx…) is sync-only, so under ASGI Django hops
into a thread for each of them and gives every request its own thread-sensitive executor. Django's
handler also resolves the URL, sends the request_started/finished signals (whose receivers manage
the event loop thread's database connections, which the endpoint never uses: its ORM work runs in
``offloop``'s pool, with its own connection hygiene), runs a second task to watch for a disconnect
and closes every response in a thread. The endpoint needs none of it (SigV4 is its
authentication, and a call runs to its end even when the client has gone); measured, skipping it
all roughly halved the server's CPU for a simple call.
"""
from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponse
from django.urls import set_script_prefix

from .views import aws_endpoint


class AwsEndpointHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        """No middleware: see the module's docstring."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            request, response = self.create_request(scope, body_file)
            if request is not None:
                prefix = "/" + settings.AWS_ENDPOINT_PREFIX
                path = scope["path"][len(prefix):] if scope["path"].startswith(prefix) else ""
                response = await aws_endpoint(request, path)
            await self._send(response, send)
        finally:
            body_file.close()

    async def _send(self, response: HttpResponse, send: Any) -> None:
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # the ASGI server does the low-level chunking
        try:
            await self.send_response(response, send)
        except asyncio.CancelledError:  # the client went away mid-response
            pass
        finally:
            if response.streaming:  # its file is closed (and the file may be on slow storage)
                await asyncio.get_running_loop().run_in_executor(None, response.close)
