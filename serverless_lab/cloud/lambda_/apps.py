from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class LambdaConfig(AppConfig):
    name = "serverless_lab.cloud.lambda_"
    label = "lambda_"
    verbose_name = "Lambda"

    def ready(self) -> None:
        from serverless_lab.cloud.core import registry
        from serverless_lab.cloud.esm.handlers import EventSourceMappingHandler
        from serverless_lab.runtime import tasks  # noqa: F401  (registers the runtime tasks)
        from serverless_lab.sandboxes.models import Sandbox
        from serverless_lab.sandboxes.signals import sandbox_reset

        from . import cache
        from .handlers import LambdaHandler
        from .models import Alias, Function, Version

        class Handler(LambdaHandler, EventSourceMappingHandler):
            """Lambda's operations, with the event source mapping ones of the ``esm`` app."""

        registry.register("lambda", Handler())
        sandbox_reset.connect(_drop_sandbox_code, sender=Sandbox, dispatch_uid="lambda-drop-sandbox-code")
        for model in (Function, Version, Alias):
            for signal in (post_save, post_delete):
                uid = f"lambda-config-{model.__name__}"
                signal.connect(cache.configuration_changed, sender=model, dispatch_uid=uid)


def _drop_sandbox_code(sender: Any, sandbox: Any, **kwargs: Any) -> None:
    """After a reset or delete committed: the sandbox's zips and unpacked code go with its rows."""
    from .code import delete_sandbox_code

    delete_sandbox_code(sandbox.pk)
