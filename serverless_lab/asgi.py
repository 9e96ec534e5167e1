"""ASGI entry point: HTTP through Django (static files included), WebSockets through Channels."""
from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

from serverless_lab.ops.memory import keep_large_buffers_warm
from serverless_lab.ops.request_bodies import read_bodies_in_larger_steps

keep_large_buffers_warm()  # before the server allocates its first request body (ops/memory.py)
read_bodies_in_larger_steps()  # uvicorn's read-ahead (ops/request_bodies.py)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "serverless_lab.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry loaded)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from django.conf import settings  # noqa: E402

from serverless_lab.cloud.endpoint.asgi import AwsEndpointHandler  # noqa: E402
from serverless_lab.routing import websocket_urlpatterns  # noqa: E402

# The lab serves its own static files so that one command runs everything, offline.
site_app = ASGIStaticFilesHandler(django_asgi_app)
aws_app = AwsEndpointHandler()
AWS_PREFIX = "/" + settings.AWS_ENDPOINT_PREFIX


async def http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/aws/…`` goes to the middleware-free endpoint handler, everything else to the site."""
    if scope["path"].startswith(AWS_PREFIX) or scope["path"] == AWS_PREFIX.rstrip("/"):
        await aws_app(scope, receive, send)
    else:
        await site_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
