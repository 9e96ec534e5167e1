from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "serverless_lab.ops"
    label = "ops"
