"""Event source mapping operations on a sandbox: one function per Lambda operation, ``sandbox`` first.

Parameters arrive with their botocore names (``BatchSize``, ``MaximumBatchingWindowInSeconds``…)
because the rules (``logic.check_settings``) are Lambda's and speak its vocabulary. The polling
itself is in ``pollers``.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.lambda_ import backend as lambda_backend
from serverless_lab.cloud.lambda_ import exceptions
from serverless_lab.cloud.lambda_ import logic as lambda_logic
from serverless_lab.sandboxes.models import Sandbox

from . import hooks, logic
from .models import EventSourceMapping

# Settings as (botocore name, model field), for the settings every mapping has.
_FIELDS = (
    ("BatchSize", "batch_size"),
    ("MaximumBatchingWindowInSeconds", "batching_window_s"),
    ("FunctionResponseTypes", "function_response_types"),
    ("ScalingConfig", "scaling_config"),
)
_STREAM_FIELDS = (
    ("MaximumRetryAttempts", "maximum_retry_attempts"),
    ("MaximumRecordAgeInSeconds", "maximum_record_age_s"),
    ("BisectBatchOnFunctionError", "bisect_on_error"),
    ("ParallelizationFactor", "parallelization_factor"),
)


@contextmanager
def _rules() -> Iterator[None]:
    try:
        yield
    except logic.Invalid as invalid:
        if invalid.kind == "validation":
            raise exceptions.ValidationFailed(invalid.message) from None
        raise exceptions.InvalidParameterValue(invalid.message) from None


def mapping_arn(mapping: EventSourceMapping) -> str:
    sandbox = mapping.sandbox
    return f"arn:aws:lambda:{sandbox.region}:{sandbox.account_id}:event-source-mapping:{mapping.uuid}"


def function_arn(mapping: EventSourceMapping) -> str:
    return lambda_backend.function_arn(mapping.function, mapping.qualifier or None)


def settings_of(mapping: EventSourceMapping) -> dict[str, Any]:
    """The mapping's settings under their botocore names (what Get returns beside the identity)."""
    fields = _FIELDS + (_STREAM_FIELDS if mapping.kind == logic.DYNAMODB else ())
    return {name: getattr(mapping, field) for name, field in fields}


def _source(sandbox: Sandbox, arn: str) -> tuple[logic.SourceRef, int, bool, int | None]:
    """The source the ARN names in this sandbox: (ref, pk, FIFO, visibility timeout or None)."""
    with _rules():
        ref = logic.parse_source_arn(arn)
    if ref.account != sandbox.account_id or ref.region != sandbox.region:
        ref = logic.SourceRef(ref.kind, ref.region, ref.account, "", ref.label)  # never another sandbox's
    if ref.kind == logic.SQS:
        from serverless_lab.cloud.sqs import backend as sqs

        queue = sqs.find_queue_by_arn(sandbox=sandbox, arn=arn) if ref.name else None
        if queue is None:
            raise exceptions.InvalidParameterValue(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
                "SQS Error Message: The specified queue does not exist or you do not have access to it."
            )
        return ref, queue.pk, queue.fifo, int(sqs.effective_attributes(queue)["VisibilityTimeout"])
    from serverless_lab.cloud.dynamodb import backend as dynamodb

    try:
        state = dynamodb.describe_stream(sandbox=sandbox, arn=arn) if ref.name else None
    except AwsError:
        state = None
    if state is None or not dynamodb.stream_enabled(state.table):
        raise exceptions.InvalidParameterValue(f"Stream not found: {arn}")
    return ref, state.table.pk, False, None


def _check_visibility(visibility_s: int | None, target: lambda_backend.Target) -> None:
    if visibility_s is not None and visibility_s < target.config.timeout_s:
        raise exceptions.InvalidParameterValue(
            f"Queue visibility timeout: {visibility_s} seconds is less than Function timeout: "
            f"{target.config.timeout_s} seconds"
        )


def _apply(mapping: EventSourceMapping, params: dict[str, Any]) -> None:
    fields = _FIELDS + (_STREAM_FIELDS if mapping.kind == logic.DYNAMODB else ())
    for name, field in fields:
        if name in params and params[name] is not None:
            setattr(mapping, field, params[name])


def create_event_source_mapping(
    *, sandbox: Sandbox, function_name: str, event_source_arn: str | None, params: dict[str, Any]
) -> EventSourceMapping:
    if not event_source_arn:
        raise exceptions.InvalidParameterValue(
            "EventSourceArn is required: the lab maps SQS queues and DynamoDB streams."
        )
    ref, source_id, fifo, visibility_s = _source(sandbox, event_source_arn)
    with _rules():
        logic.check_settings(ref.kind, params, fifo=fifo, creating=True)
    target = lambda_backend.resolve(sandbox=sandbox, function_name=function_name)
    if ref.kind == logic.SQS:
        _check_visibility(visibility_s, target)
    qualifier = target.qualifier if target.qualifier not in (None, lambda_logic.LATEST) else ""
    existing = EventSourceMapping.objects.filter(
        function=target.function, qualifier=qualifier, event_source_arn=event_source_arn
    ).first()
    if existing is not None:
        raise _conflict(ref, event_source_arn, target.function.name, existing)
    with transaction.atomic():
        mapping = EventSourceMapping(
            sandbox=sandbox,
            function=target.function,
            qualifier=qualifier,
            kind=ref.kind,
            event_source_arn=event_source_arn,
            source_id=source_id,
            enabled=params.get("Enabled", True) is not False,
            batch_size=logic.DEFAULT_BATCH_SIZE[ref.kind],
            starting_position=params.get("StartingPosition") or "",
            last_modified=timezone.now(),
        )
        _apply(mapping, params)
        if ref.kind == logic.DYNAMODB and mapping.starting_position == "LATEST":
            from serverless_lab.cloud.dynamodb import backend as dynamodb

            mapping.checkpoint = dynamodb.describe_stream(sandbox=sandbox, arn=event_source_arn).last or 0
        try:
            with transaction.atomic():
                mapping.save()
        except IntegrityError:  # created concurrently
            existing = EventSourceMapping.objects.get(
                function=target.function, qualifier=qualifier, event_source_arn=event_source_arn
            )
            raise _conflict(ref, event_source_arn, target.function.name, existing) from None
        if mapping.enabled:
            hooks.mapping_changed(mapping.pk)
    return mapping


def _conflict(
    ref: logic.SourceRef, arn: str, function_name: str, existing: EventSourceMapping
) -> exceptions.ResourceConflict:
    kind = "SQS" if ref.kind == logic.SQS else "event source"
    return exceptions.ResourceConflict(
        f'An event source mapping with {kind} arn (" {arn} ") and function (" {function_name} ") already exists. '
        f"Please update or delete the existing mapping with UUID {existing.uuid}"
    )


def get_event_source_mapping(*, sandbox: Sandbox, uuid: str) -> EventSourceMapping:
    mapping = (
        EventSourceMapping.objects.select_related("sandbox", "function__sandbox")
        .filter(sandbox=sandbox, uuid=_uuid(uuid))
        .first()
    )
    if mapping is None:
        raise exceptions.ResourceNotFound("The resource you requested does not exist.", Type="User")
    return mapping


def _uuid(value: str) -> str:
    try:
        return str(uuid_module.UUID(value))
    except ValueError:
        raise exceptions.ResourceNotFound("The resource you requested does not exist.", Type="User") from None


def list_event_source_mappings(
    *,
    sandbox: Sandbox,
    function_name: str | None,
    event_source_arn: str | None,
    marker: str | None,
    max_items: int | None,
) -> tuple[list[EventSourceMapping], str | None]:
    mappings = EventSourceMapping.objects.filter(sandbox=sandbox).select_related("sandbox", "function__sandbox")
    if function_name:
        target = lambda_backend.resolve(sandbox=sandbox, function_name=function_name)
        mappings = mappings.filter(function=target.function)
        if target.qualifier and target.qualifier != lambda_logic.LATEST:
            mappings = mappings.filter(qualifier=target.qualifier)
    if event_source_arn:
        mappings = mappings.filter(event_source_arn=event_source_arn)
    if max_items is not None and not 1 <= max_items <= 10_000:
        raise exceptions.ValidationFailed(
            f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: "
            "Member must have value between 1 and 10000"
        )
    try:
        return lambda_logic.paginate(list(mappings.order_by("pk")), marker, max_items, default=100)
    except lambda_logic.RuleViolation as violation:
        raise exceptions.InvalidParameterValue(violation.message) from None


def update_event_source_mapping(
    *, sandbox: Sandbox, uuid: str, params: dict[str, Any]
) -> tuple[EventSourceMapping, str]:
    """Change a mapping; returns it and the transitional state the response shows."""
    with transaction.atomic():
        mapping = get_event_source_mapping(sandbox=sandbox, uuid=uuid)
        mapping = (
            EventSourceMapping.objects.select_for_update(of=("self",))
            .select_related("sandbox", "function__sandbox")
            .get(pk=mapping.pk)
        )
        target = None
        if params.get("FunctionName"):
            target = lambda_backend.resolve(sandbox=sandbox, function_name=params["FunctionName"])
        ref, source_id, fifo, visibility_s = _source(sandbox, mapping.event_source_arn)
        merged = {**settings_of(mapping), **{k: v for k, v in params.items() if v is not None}}
        merged.pop("FunctionName", None)
        merged.pop("Enabled", None)
        with _rules():
            logic.check_settings(ref.kind, merged, fifo=fifo, creating=False)
        if target is not None:
            if ref.kind == logic.SQS:
                _check_visibility(visibility_s, target)
            mapping.function = target.function
            mapping.qualifier = target.qualifier if target.qualifier not in (None, lambda_logic.LATEST) else ""
        _apply(mapping, params)
        state = "Updating"
        if params.get("Enabled") is not None and params["Enabled"] != mapping.enabled:
            mapping.enabled = bool(params["Enabled"])
            state = "Enabling" if mapping.enabled else "Disabling"
        mapping.source_id = source_id
        mapping.last_modified = timezone.now()
        try:
            with transaction.atomic():
                mapping.save()
        except IntegrityError:  # the new function already has a mapping of this source
            existing = EventSourceMapping.objects.get(
                function=mapping.function, qualifier=mapping.qualifier, event_source_arn=mapping.event_source_arn
            )
            raise _conflict(ref, mapping.event_source_arn, mapping.function.name, existing) from None
        if mapping.enabled:
            hooks.mapping_changed(mapping.pk)
    return mapping, state


def delete_event_source_mapping(*, sandbox: Sandbox, uuid: str) -> EventSourceMapping:
    """Delete the mapping; a batch in flight finishes, but its result is no longer acted on."""
    mapping = get_event_source_mapping(sandbox=sandbox, uuid=uuid)
    EventSourceMapping.objects.filter(pk=mapping.pk).delete()
    return mapping
