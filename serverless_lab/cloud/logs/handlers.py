"""CloudWatch Logs' JSON 1.1 API, the reads a student needs to see Lambda's logs."""

from __future__ import annotations

from typing import Any

from serverless_lab.cloud.core.registry import RequestContext

from . import backend
from .models import LogEvent, LogStream


def _stream(stream: LogStream, group_arn: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "logStreamName": stream.name,
        "creationTime": stream.created_ms,
        "arn": f"{group_arn}:log-stream:{stream.name}",
        "storedBytes": stream.stored_bytes,
    }
    for key, value in (
        ("firstEventTimestamp", stream.first_event_ms),
        ("lastEventTimestamp", stream.last_event_ms),
        ("lastIngestionTime", stream.last_ingestion_ms),
    ):
        if value is not None:
            result[key] = value
    return result


def _event(event: LogEvent) -> dict[str, Any]:
    return {"timestamp": event.timestamp_ms, "message": event.message, "ingestionTime": event.ingestion_ms}


class LogsHandler:
    """CloudWatch Logs: log groups and streams, and reading their events."""

    # --- log groups -----------------------------------------------------------------------------

    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        groups, token = backend.describe_log_groups(
            sandbox=ctx.sandbox,
            prefix=params.get("logGroupNamePrefix"),
            token=params.get("nextToken"),
            limit=params.get("limit"),
        )
        result: dict[str, Any] = {
            "logGroups": [
                {
                    "logGroupName": group.name,
                    "creationTime": group.created_ms,
                    "metricFilterCount": 0,
                    "arn": backend.group_arn(ctx.sandbox, group.name) + ":*",
                    "logGroupArn": backend.group_arn(ctx.sandbox, group.name),
                    "storedBytes": 0,
                    "logGroupClass": "STANDARD",
                }
                for group in groups
            ]
        }
        if token:
            result["nextToken"] = token
        return result

    # --- log streams ----------------------------------------------------------------------------

    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        streams, token = backend.describe_log_streams(
            sandbox=ctx.sandbox,
            group_name=params["logGroupName"],
            prefix=params.get("logStreamNamePrefix"),
            order_by=params.get("orderBy", "LogStreamName"),
            descending=bool(params.get("descending")),
            token=params.get("nextToken"),
            limit=params.get("limit"),
        )
        group_arn = backend.group_arn(ctx.sandbox, params["logGroupName"])
        result: dict[str, Any] = {"logStreams": [_stream(stream, group_arn) for stream in streams]}
        if token:
            result["nextToken"] = token
        return result

    # --- log events -----------------------------------------------------------------------------

    def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        events, streams, token = backend.filter_log_events(
            sandbox=ctx.sandbox,
            group_name=params["logGroupName"],
            stream_names=params.get("logStreamNames"),
            stream_prefix=params.get("logStreamNamePrefix"),
            start_ms=params.get("startTime"),
            end_ms=params.get("endTime"),
            pattern=params.get("filterPattern"),
            token=params.get("nextToken"),
            limit=params.get("limit"),
        )
        result: dict[str, Any] = {
            "events": [
                _event(event) | {"logStreamName": event.stream.name, "eventId": str(event.pk)} for event in events
            ],
            "searchedLogStreams": [{"logStreamName": stream.name, "searchedCompletely": True} for stream in streams],
        }
        if token:
            result["nextToken"] = token
        return result

    def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        page = backend.get_log_events(
            sandbox=ctx.sandbox,
            group_name=params["logGroupName"],
            stream_name=params["logStreamName"],
            start_ms=params.get("startTime"),
            end_ms=params.get("endTime"),
            token=params.get("nextToken"),
            limit=params.get("limit"),
            start_from_head=bool(params.get("startFromHead")),
        )
        return {
            "events": [_event(event) for event in page.events],
            "nextForwardToken": page.forward_token,
            "nextBackwardToken": page.backward_token,
        }
