from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "serverless_lab.sandboxes"
    label = "sandboxes"
    default_auto_field = "django.db.models.BigAutoField"
