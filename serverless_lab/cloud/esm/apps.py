from __future__ import annotations

from django.apps import AppConfig


class EsmConfig(AppConfig):
    """Lambda event source mappings (SQS and DynamoDB Streams → Lambda); the Lambda handler delegates
    the *EventSourceMapping operations here."""

    name = "serverless_lab.cloud.esm"
    label = "esm"
    verbose_name = "Lambda event source mappings"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (connects the runtime task's completion signal)
