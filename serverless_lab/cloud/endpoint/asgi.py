"""A Django ASGI handler just for the AWS endpoint: no middleware, no per-request thread.

The site's middleware (sessions, CSRF, messages, htmx…) is sync-only, so under ASGI Django hops
into a thread for each of them, twice per request, and gives every request its own
thread-sensitive executor. The AWS endpoint uses none of it (SigV4 is its authentication), so
its requests skip both: measured, this halves the server's share of a boto3 call.
"""
from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response


class AwsEndpointHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response_async)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # The endpoint's own sync work runs in a shared thread pool (views._run_sync); there is
        # no thread-sensitive code to pin to a per-request thread.
        await self.handle(scope, receive, send)
