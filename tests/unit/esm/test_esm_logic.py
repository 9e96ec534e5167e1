"""Event source mapping rules without the database: settings per source, event records, partial
batch responses, source ARNs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from serverless_lab.cloud.esm import logic
from serverless_lab.cloud.esm.logic import Invalid

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:orders"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/accounts/stream/2026-11-27T10:00:00.000"


def test_source_arns():
    assert logic.parse_source_arn(QUEUE_ARN) == logic.SourceRef("sqs", "us-east-1", "123456789012", "orders")
    stream = logic.parse_source_arn(STREAM_ARN)
    assert (stream.kind, stream.name, stream.label) == ("dynamodb", "accounts", "2026-11-27T10:00:00.000")
    with pytest.raises(Invalid, match="Unrecognized event source"):
        logic.parse_source_arn("arn:aws:kinesis:us-east-1:123456789012:stream/clicks")


@pytest.mark.parametrize(
    ("kind", "params", "fifo", "kind_of_error", "fragment"),
    [
        ("sqs", {"BatchSize": 10_001}, False, "validation", "less than or equal to 10000"),
        ("sqs", {"BatchSize": 0}, False, "validation", "greater than or equal to 1"),
        ("sqs", {"BatchSize": 11}, False, "value", "batch window"),
        ("sqs", {"BatchSize": 11, "MaximumBatchingWindowInSeconds": 1}, True, "value", "FIFO"),
        ("sqs", {"MaximumBatchingWindowInSeconds": 2}, True, "value", "FIFO"),
        ("sqs", {"MaximumBatchingWindowInSeconds": 301}, False, "validation", "300"),
        ("sqs", {"StartingPosition": "LATEST"}, False, "value", "StartingPosition"),
        ("sqs", {"BisectBatchOnFunctionError": True}, False, "value", "BisectBatchOnFunctionError"),
        ("sqs", {"ScalingConfig": {"MaximumConcurrency": 1}}, False, "validation", "between 2 and 1000"),
        ("sqs", {"FunctionResponseTypes": ["Everything"]}, False, "validation", "ReportBatchItemFailures"),
        ("sqs", {"Queues": ["q"]}, False, "value", "Queues"),
        ("sqs", {"FilterCriteria": {"Filters": [{"Pattern": "{}"}]}}, False, "value", "FilterCriteria"),
        ("sqs", {"TumblingWindowInSeconds": 5}, False, "value", "tumbling"),
        ("dynamodb", {"StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {"Destination": "arn"}}},
         False, "value", "DestinationConfig"),
        ("dynamodb", {}, False, "value", "StartingPosition is required"),
        ("dynamodb", {"StartingPosition": "AT_TIMESTAMP"}, False, "value", "AT_TIMESTAMP"),
        ("dynamodb", {"StartingPosition": "LATEST", "MaximumRetryAttempts": -2}, False, "validation", "-1"),
        ("dynamodb", {"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 30}, False, "validation", "60"),
        ("dynamodb", {"StartingPosition": "LATEST", "ParallelizationFactor": 11}, False, "validation", "10"),
        ("dynamodb", {"StartingPosition": "LATEST", "ScalingConfig": {"MaximumConcurrency": 5}}, False, "value",
         "ScalingConfig"),
    ],
)
def test_settings_refused_like_lambda(kind, params, fifo, kind_of_error, fragment):
    with pytest.raises(Invalid) as caught:
        logic.check_settings(kind, params, fifo=fifo)
    assert caught.value.kind == kind_of_error and fragment in caught.value.message


@pytest.mark.parametrize(
    ("kind", "params", "fifo"),
    [
        ("sqs", {}, False),
        ("sqs", {"BatchSize": 10_000, "MaximumBatchingWindowInSeconds": 1}, False),
        ("sqs", {"BatchSize": 10, "ScalingConfig": {"MaximumConcurrency": 2}}, True),
        ("sqs", {"FunctionResponseTypes": ["ReportBatchItemFailures"], "DestinationConfig": {}}, False),
        ("sqs", {"FilterCriteria": {}, "TumblingWindowInSeconds": 0}, False),
        ("dynamodb", {"StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {}}}, False),
        ("dynamodb", {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10_000, "MaximumRetryAttempts": -1}, False),
        ("dynamodb", {"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": -1}, False),
    ],
)
def test_settings_accepted(kind, params, fifo):
    logic.check_settings(kind, params, fifo=fifo)


def test_an_update_of_a_stream_mapping_needs_no_starting_position():
    logic.check_settings("dynamodb", {"BatchSize": 5}, creating=False)


def test_sqs_record_has_lambdas_shape():
    record = logic.sqs_record(
        message_id="m-1",
        receipt_handle="handle",
        body="hello",
        system_attributes={"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SqsManagedSseEnabled": "true",
                           "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "2", "MessageGroupId": "g"},
        message_attributes={"s": {"DataType": "String", "StringValue": "v"},
                            "b": {"DataType": "Binary", "BinaryValue": "AAE="}},
        md5_body="5d41402abc4b2a76b9719d911017c592",
        md5_attributes="",
        source_arn=QUEUE_ARN,
        region="us-east-1",
    )
    assert record["attributes"] == {"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SenderId": "AIDA",
                                    "ApproximateFirstReceiveTimestamp": "2", "MessageGroupId": "g"}
    assert record["messageAttributes"]["s"] == {"stringValue": "v", "stringListValues": [], "binaryListValues": [],
                                                "dataType": "String"}
    assert record["messageAttributes"]["b"]["binaryValue"] == "AAE="
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", QUEUE_ARN,
                                                                                      "us-east-1")
    assert "md5OfMessageAttributes" not in record
    json.dumps(record)


def test_stream_event_record_is_json_with_epoch_seconds_and_base64():
    created = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    record = logic.stream_event_record(
        {
            "eventID": "e",
            "eventName": "INSERT",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": created, "Keys": {"pk": {"B": b"\x00"}},
                         "NewImage": {"pk": {"B": b"\x00"}, "tags": {"BS": [b"\x01"]}}, "SequenceNumber": "1"},
            "userIdentity": None,
        },
        STREAM_ARN,
    )
    assert record["dynamodb"]["ApproximateCreationDateTime"] == int(created.timestamp())
    assert record["dynamodb"]["Keys"] == {"pk": {"B": "AA=="}}
    assert record["dynamodb"]["NewImage"]["tags"] == {"BS": ["AQ=="]}
    assert record["eventSourceARN"] == STREAM_ARN and "userIdentity" not in record
    json.dumps(record)


def result(payload: object, *, error: str | None = None, report: bool = True) -> logic.BatchResult:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return logic.batch_result(function_error=error, payload=raw, report_item_failures=report, item_ids=["a", "b"])


def test_partial_batch_responses():
    assert result({"batchItemFailures": [{"itemIdentifier": "b"}]}) == logic.BatchResult(
        False, ("b",), "1 record(s) reported as failed"
    )
    for success in (None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "ok", b""):
        assert result(success) == logic.BatchResult(False)
    for failure in (
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "a"}]},
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
        {"batchItemFailures": "a"},
        b"not json",
    ):
        assert result(failure).failed_all
    # Without ReportBatchItemFailures the response is not read; a function error fails everything.
    assert result({"batchItemFailures": [{"itemIdentifier": "b"}]}, report=False) == logic.BatchResult(False)
    assert result(None, error="Unhandled").failed_all
