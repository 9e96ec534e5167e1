"""The SQS console of one sandbox, under ``sandboxes/<sandbox_id>/sqs/``."""

from __future__ import annotations

from django.urls import path

from . import views  # noqa: F401  (the console views land here)

app_name = "sqs"
urlpatterns: list = []
