"""Pure event source mapping rules: parameter validation per source, the event records Lambda
builds, and reading a partial batch response. No Django here."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SQS, DYNAMODB = "sqs", "dynamodb"
MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCHING_WINDOW_S = 300
DEFAULT_BATCH_SIZE = {SQS: 10, DYNAMODB: 100}
DEFAULT_SQS_CONCURRENCY = 5  # batches in flight per standard queue without ScalingConfig (AWS starts with 5)
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
STREAM_ONLY = (
    "StartingPosition",
    "StartingPositionTimestamp",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "ParallelizationFactor",
    "TumblingWindowInSeconds",
    "DestinationConfig",
)
NOT_SUPPORTED = (
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ProvisionedPollerConfig",
    "KMSKeyArn",
)
# The system attributes a Lambda SQS record carries (SqsManagedSseEnabled is not among them).
SQS_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
)

_SQS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[\w.-]{1,80})$")
_STREAM_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:dynamodb:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):table/(?P<name>[\w.-]{3,255})"
    r"/stream/(?P<label>[^/]+)$"
)


class Invalid(ValueError):
    """A parameter Lambda refuses; ``kind`` is "validation" (model constraint) or "value"."""

    def __init__(self, message: str, kind: str = "value") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class SourceRef:
    kind: str  # SQS or DYNAMODB
    region: str
    account: str
    name: str  # queue or table name
    label: str = ""  # the stream label


def parse_source_arn(arn: str) -> SourceRef:
    if match := _SQS_ARN.match(arn):
        return SourceRef(SQS, match["region"], match["account"], match["name"])
    if match := _STREAM_ARN.match(arn):
        return SourceRef(DYNAMODB, match["region"], match["account"], match["name"], match["label"])
    raise Invalid(
        "Unrecognized event source, must be an SQS queue ARN or a DynamoDB stream ARN "
        "(Serverless Lab does not emulate Kinesis, Kafka, MQ or DocumentDB)."
    )


def _too_big(value: int, name: str, limit: int) -> Invalid:
    return Invalid(
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
        f"Member must have value less than or equal to {limit}",
        "validation",
    )


def _range(params: dict[str, Any], key: str, wire: str, low: int, high: int) -> None:
    value = params.get(key)
    if value is None:
        return
    if value > high:
        raise _too_big(value, wire, high)
    if value < low:
        raise Invalid(
            f"1 validation error detected: Value '{value}' at '{wire}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}",
            "validation",
        )


def check_settings(kind: str, params: dict[str, Any], *, fifo: bool = False, creating: bool = True) -> None:
    """Lambda's rules for one mapping's settings (the merged settings, on update), per source kind."""
    for name in NOT_SUPPORTED:
        if params.get(name):
            raise Invalid(f"Serverless Lab does not support {name} for event source mappings.")
    if (params.get("FilterCriteria") or {}).get("Filters"):
        raise Invalid("Serverless Lab does not apply FilterCriteria (event filtering) yet: leave it out.")
    destinations = params.get("DestinationConfig") or {}
    if any((destinations.get(kind) or {}).get("Destination") for kind in ("OnFailure", "OnSuccess")):
        raise Invalid(
            "Serverless Lab does not send to OnFailure/OnSuccess destinations yet: leave DestinationConfig out."
        )
    if params.get("TumblingWindowInSeconds"):
        raise Invalid("Serverless Lab does not emulate tumbling windows: TumblingWindowInSeconds must be 0.")
    _range(params, "BatchSize", "batchSize", 1, MAX_BATCH_SIZE)
    _range(params, "MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, MAX_BATCHING_WINDOW_S)
    _range(params, "MaximumRetryAttempts", "maximumRetryAttempts", -1, 10_000)
    _range(params, "MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", -1, 604_800)
    _range(params, "ParallelizationFactor", "parallelizationFactor", 1, 10)
    _range(params, "TumblingWindowInSeconds", "tumblingWindowInSeconds", 0, 900)
    for value in params.get("FunctionResponseTypes") or []:
        if value != REPORT_BATCH_ITEM_FAILURES:
            raise Invalid(
                f"1 validation error detected: Value '[{value}]' at 'functionResponseTypes' failed to satisfy "
                "constraint: Member must satisfy constraint: [Member must satisfy enum value set: "
                "[ReportBatchItemFailures]]",
                "validation",
            )
    batch_size = params.get("BatchSize") or DEFAULT_BATCH_SIZE[kind]
    window = params.get("MaximumBatchingWindowInSeconds") or 0
    if kind == SQS:
        for name in STREAM_ONLY:
            value = params.get(name)
            if value is None or (name in ("DestinationConfig", "TumblingWindowInSeconds") and not value):
                continue  # absent, or the empty default an SDK or console may send
            raise Invalid(f"Unsupported {name} parameter for the given event source: SQS.")
        if fifo and batch_size > MAX_FIFO_BATCH_SIZE:
            raise Invalid(f"BatchSize must be between 1 and {MAX_FIFO_BATCH_SIZE} for FIFO queues.")
        if fifo and window:
            raise Invalid("Batching window is not supported for FIFO queues.")
        if batch_size > 10 and not window:
            raise Invalid(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
            )
        concurrency = (params.get("ScalingConfig") or {}).get("MaximumConcurrency")
        if concurrency is not None and not 2 <= concurrency <= 1000:
            raise Invalid(
                f"1 validation error detected: Value '{concurrency}' at 'scalingConfig.maximumConcurrency' failed "
                "to satisfy constraint: Member must have value between 2 and 1000",
                "validation",
            )
        return
    if params.get("ScalingConfig"):
        raise Invalid("Unsupported ScalingConfig parameter for the given event source: DynamoDB Streams.")
    if creating:
        position = params.get("StartingPosition")
        if not position:
            raise Invalid("StartingPosition is required for DynamoDB Streams event sources.")
        if position not in ("TRIM_HORIZON", "LATEST"):
            raise Invalid(f"Unsupported starting position for DynamoDB Streams: {position}.")
        if params.get("StartingPositionTimestamp") is not None:
            raise Invalid("StartingPositionTimestamp is only valid with StartingPosition AT_TIMESTAMP.")
    age = params.get("MaximumRecordAgeInSeconds")
    if age is not None and age != -1 and age < 60:
        raise Invalid(
            f"1 validation error detected: Value '{age}' at 'maximumRecordAgeInSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 60 (or -1 for infinite)",
            "validation",
        )


# --- events -------------------------------------------------------------------------------------


def sqs_message_attributes(stored: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """SQS message attributes in the camel-case form of Lambda's SQS records."""
    out = {}
    for name, value in stored.items():
        entry: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
        if "BinaryValue" in value:
            entry["binaryValue"] = value["BinaryValue"]  # stored base64, as the event carries it
        else:
            entry["stringValue"] = value["StringValue"]
        out[name] = entry
    return out


def sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    system_attributes: dict[str, str],
    message_attributes: dict[str, dict[str, str]],
    md5_body: str,
    md5_attributes: str,
    source_arn: str,
    region: str,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": {k: system_attributes[k] for k in SQS_RECORD_ATTRIBUTES if k in system_attributes},
        "messageAttributes": sqs_message_attributes(message_attributes),
        "md5OfBody": md5_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }
    if md5_attributes:
        record["md5OfMessageAttributes"] = md5_attributes
    return record


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


def stream_event_record(stream_record: dict[str, Any], source_arn: str) -> dict[str, Any]:
    """A dynamodbstreams record (as GetRecords returns it) as a Lambda trigger receives it: JSON
    numbers for the creation time, binary values base64-encoded, and the stream's ARN."""
    record = {key: value for key, value in stream_record.items() if value is not None}
    record["eventSourceARN"] = source_arn
    return _jsonable(record)


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    failed_all: bool
    failed_ids: tuple[str, ...] = ()
    reason: str = ""


def batch_result(
    *, function_error: str | None, payload: bytes, report_item_failures: bool, item_ids: list[str]
) -> BatchResult:
    """What Lambda makes of a function's answer to a batch.

    A function error fails the whole batch. With ReportBatchItemFailures, a response naming
    ``batchItemFailures`` fails only those items; an empty or null list, or an empty/null
    response, is a complete success; a response that is not JSON, or an itemIdentifier that is
    empty, null or not in the batch, fails the whole batch (as documented for SQS and streams).
    """
    if function_error:
        return BatchResult(True, reason=f"Function call failed ({function_error})")
    if not report_item_failures:
        return BatchResult(False)
    try:
        response = json.loads(payload) if payload.strip() else None
    except ValueError:
        return BatchResult(True, reason="Invalid partial batch response: not JSON")
    if not isinstance(response, dict):
        return BatchResult(False)
    failures = response.get("batchItemFailures")
    if not failures:
        return BatchResult(False)
    if not isinstance(failures, list):
        return BatchResult(True, reason="Invalid partial batch response: batchItemFailures is not a list")
    known = set(item_ids)
    failed: list[str] = []
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in known:
            return BatchResult(True, reason=f"Invalid partial batch response: itemIdentifier {identifier!r}")
        failed.append(identifier)
    return BatchResult(False, tuple(dict.fromkeys(failed)), reason=f"{len(failed)} record(s) reported as failed")
