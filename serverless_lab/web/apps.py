from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "serverless_lab.web"
    label = "web"
    verbose_name = "Web"

    def ready(self) -> None:
        # Configure Celery in every Django process (web, worker, management commands) so that
        # `delay_on_commit` from any of them reaches the configured broker.
        import serverless_lab.celery  # noqa: F401
