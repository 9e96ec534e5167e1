from django.urls import path

from .consumers import SandboxEventsConsumer

websocket_urlpatterns = [
    path("ws/sandboxes/<int:sandbox_id>/events/", SandboxEventsConsumer.as_asgi()),
]
