from __future__ import annotations

from django.apps import AppConfig


class SQSConfig(AppConfig):
    name = "serverless_lab.cloud.sqs"
    label = "sqs"
    verbose_name = "SQS"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry

        from .handlers import SQSHandler

        registry.register("sqs", SQSHandler())
