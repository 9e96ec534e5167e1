from django.apps import AppConfig


class LogsConfig(AppConfig):
    name = "serverless_lab.cloud.logs"
    label = "logs"
    verbose_name = "CloudWatch Logs"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry

        from .handlers import LogsHandler

        registry.register("logs", LogsHandler())
