from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "serverless_lab.tracing"
    label = "tracing"
    default_auto_field = "django.db.models.BigAutoField"
