"""The Lambda API's *EventSourceMapping operations; ``LambdaHandler`` inherits them."""

from __future__ import annotations

from typing import Any

from serverless_lab.cloud.core.registry import RequestContext

from . import backend, logic
from .models import EventSourceMapping


def mapping_configuration(mapping: EventSourceMapping, state: str | None = None) -> dict[str, Any]:
    """EventSourceMappingConfiguration; ``state`` overrides the settled one in a change's response."""
    result: dict[str, Any] = {
        "UUID": str(mapping.uuid),
        "EventSourceArn": mapping.event_source_arn,
        "FunctionArn": backend.function_arn(mapping),
        "LastModified": mapping.last_modified,
        "State": state or ("Enabled" if mapping.enabled else "Disabled"),
        "StateTransitionReason": "USER_INITIATED",
        "EventSourceMappingArn": backend.mapping_arn(mapping),
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.batching_window_s,
        "FunctionResponseTypes": list(mapping.function_response_types or []),
    }
    if mapping.scaling_config:
        result["ScalingConfig"] = mapping.scaling_config
    if mapping.kind == logic.DYNAMODB:
        result.update(
            StartingPosition=mapping.starting_position,
            ParallelizationFactor=mapping.parallelization_factor,
            MaximumRecordAgeInSeconds=mapping.maximum_record_age_s,
            BisectBatchOnFunctionError=mapping.bisect_on_error,
            MaximumRetryAttempts=mapping.maximum_retry_attempts,
            TumblingWindowInSeconds=0,
            DestinationConfig={"OnFailure": {}},
            LastProcessingResult=mapping.last_processing_result,
        )
    return result


class EventSourceMappingHandler:
    """Create/Get/List/Update/DeleteEventSourceMapping for SQS queues and DynamoDB streams."""

    def create_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping = backend.create_event_source_mapping(
            sandbox=ctx.sandbox,
            function_name=params["FunctionName"],
            event_source_arn=params.get("EventSourceArn"),
            params=params,
        )
        return mapping_configuration(mapping, "Creating")

    def delete_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping = backend.delete_event_source_mapping(sandbox=ctx.sandbox, uuid=params["UUID"])
        return mapping_configuration(mapping, "Deleting")

    def get_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return mapping_configuration(backend.get_event_source_mapping(sandbox=ctx.sandbox, uuid=params["UUID"]))

    def list_event_source_mappings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mappings, next_marker = backend.list_event_source_mappings(
            sandbox=ctx.sandbox,
            function_name=params.get("FunctionName"),
            event_source_arn=params.get("EventSourceArn"),
            marker=params.get("Marker"),
            max_items=params.get("MaxItems"),
        )
        result: dict[str, Any] = {"EventSourceMappings": [mapping_configuration(m) for m in mappings]}
        if next_marker:
            result["NextMarker"] = next_marker
        return result

    def update_event_source_mapping(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mapping, state = backend.update_event_source_mapping(
            sandbox=ctx.sandbox, uuid=params["UUID"], params={k: v for k, v in params.items() if k != "UUID"}
        )
        return mapping_configuration(mapping, state)
