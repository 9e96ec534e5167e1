from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class S3Config(AppConfig):
    name = "serverless_lab.cloud.s3"
    label = "s3"
    verbose_name = "S3"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry
        from serverless_lab.sandboxes.models import Sandbox
        from serverless_lab.sandboxes.signals import sandbox_reset

        from .handlers import S3Handler

        registry.register("s3", S3Handler())
        sandbox_reset.connect(_drop_sandbox_bytes, sender=Sandbox, dispatch_uid="s3-drop-sandbox-bytes")


def _drop_sandbox_bytes(sender: Any, sandbox: Any, **kwargs: Any) -> None:
    """After a reset or delete committed: the sandbox's object bytes go with its rows."""
    from .storage import delete_sandbox_bytes

    delete_sandbox_bytes(sandbox.pk)
