from __future__ import annotations

from django.apps import AppConfig


class SNSConfig(AppConfig):
    name = "serverless_lab.cloud.sns"
    label = "sns"
    verbose_name = "SNS"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry

        from .handlers import SNSHandler

        registry.register("sns", SNSHandler())
