from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "serverless_lab.sandboxes"
    label = "sandboxes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process that saves or deletes a sandbox must tell the endpoint's caches.
        from . import keycache  # noqa: F401
