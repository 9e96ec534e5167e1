from django.apps import AppConfig


class StsConfig(AppConfig):
    name = "serverless_lab.cloud.sts"
    label = "sts"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry

        from .handlers import StsHandler

        registry.register("sts", StsHandler())
