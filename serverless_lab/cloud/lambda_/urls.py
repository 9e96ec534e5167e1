"""The Lambda console of one sandbox, under ``sandboxes/<sandbox_id>/lambda/``."""

from __future__ import annotations

from django.urls import path

from . import views  # noqa: F401  (the console views land here)

app_name = "lambda"
urlpatterns: list = []
