"""Which emulator answers which AWS service.

Each ``cloud/<service>`` app registers one handler object in its ``AppConfig.ready()``. A handler
has one method per supported operation, named after the operation in snake_case
(``GetCallerIdentity`` → ``get_caller_identity``), taking ``(ctx, params)`` and returning a dict in
the botocore output shape (or raising :class:`~serverless_lab.cloud.core.errors.AwsError`). A method
may be ``async`` when it must wait without holding a thread (long polling).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from serverless_lab.cloud.core.protocol import AwsRequest
    from serverless_lab.sandboxes.models import Sandbox


@dataclass
class RequestContext:
    """What a handler knows about the call besides its parameters."""

    sandbox: Sandbox
    service: str
    operation: str
    region: str
    request_id: str
    request: AwsRequest
    trace_header: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    service_name: str  # botocore's name: "sts", "s3", "dynamodb", "lambda", ...
    handler: Any
    signing_name: str
    target_prefix: str | None


_registry: dict[str, Registration] = {}


def register(service_name: str, handler: Any) -> None:
    from serverless_lab.cloud.core.protocol import load_service_model

    model = load_service_model(service_name)
    _registry[service_name] = Registration(
        service_name=service_name,
        handler=handler,
        signing_name=model.signing_name or model.endpoint_prefix,
        target_prefix=model.metadata.get("targetPrefix"),
    )


def registrations() -> list[Registration]:
    return list(_registry.values())


def by_signing_name(signing_name: str) -> list[Registration]:
    return [reg for reg in _registry.values() if reg.signing_name == signing_name]


def by_target_prefix(target_prefix: str) -> Registration | None:
    return next((reg for reg in _registry.values() if reg.target_prefix == target_prefix), None)


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def method_name(operation: str) -> str:
    """``GetCallerIdentity`` → ``get_caller_identity``; ``ListObjectsV2`` → ``list_objects_v2``."""
    return _CAMEL_BOUNDARY.sub("_", operation).lower()


def handler_method(registration: Registration, operation: str) -> Callable[..., Any] | None:
    return getattr(registration.handler, method_name(operation), None)
