"""All WebSocket routes of the site."""
from serverless_lab.tracing.routing import websocket_urlpatterns

__all__ = ["websocket_urlpatterns"]
