"""DynamoDB Streams → Lambda through a real worker: INSERT/MODIFY/REMOVE in order with their images,
and a failing batch that blocks its shard until its retries run out."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.esm.models import Batch
from serverless_lab.tracing.models import Hop

from .conftest import recorded, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def make_table(ddb, name: str, view_type: str = "NEW_AND_OLD_IMAGES") -> str:
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]["LatestStreamArn"]


def test_put_update_delete_arrive_in_order_with_their_images(lambda_client, ddb, s3, recorder):
    recorder()
    stream_arn = make_table(ddb, "accounts")
    ddb.put_item(TableName="accounts", Item={"pk": {"S": "before"}, "note": {"S": "not delivered"}})
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="recorder", StartingPosition="LATEST", BatchSize=10
    )
    assert mapping["StartingPosition"] == "LATEST"
    ddb.put_item(TableName="accounts", Item={"pk": {"S": "a1"}, "balance": {"N": "10"}, "raw": {"B": b"\x00\x01"}})
    ddb.update_item(
        TableName="accounts",
        Key={"pk": {"S": "a1"}},
        UpdateExpression="SET balance = balance + :d",
        ExpressionAttributeValues={":d": {"N": "5"}},
    )
    ddb.delete_item(TableName="accounts", Key={"pk": {"S": "a1"}})

    def three() -> list:
        records = [r for event in recorded(s3) for r in event["Records"]]
        return records if len(records) >= 3 else []

    records = wait_until(three, "three stream records")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in records:
        assert record["eventSource"] == "aws:dynamodb" and record["eventVersion"] == "1.1"
        assert record["eventSourceARN"] == stream_arn and record["awsRegion"] == "us-east-1"
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "a1"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int | float)
        assert record["dynamodb"]["SizeBytes"] > 0 and record["eventID"]
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["NewImage"] == {"pk": {"S": "a1"}, "balance": {"N": "10"}, "raw": {"B": "AAE="}}
    assert "OldImage" not in insert
    assert modify["OldImage"]["balance"] == {"N": "10"} and modify["NewImage"]["balance"] == {"N": "15"}
    assert remove["OldImage"]["balance"] == {"N": "15"} and "NewImage" not in remove
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 3

    wait_until(lambda: lambda_client.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK",
               "LastProcessingResult OK")
    assert Hop.objects.filter(action="dynamodb stream→lambda batch", status="ok").exists()


def test_a_failing_batch_blocks_the_shard_until_its_retries_run_out(lambda_client, ddb, s3, recorder):
    recorder()
    stream_arn = make_table(ddb, "orders", "NEW_IMAGE")
    for key, note in (("o1", "first"), ("o2", "fail"), ("o3", "third")):
        ddb.put_item(TableName="orders", Item={"pk": {"S": key}, "note": {"S": note}})
    lambda_client.create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON", BatchSize=1,
        MaximumRetryAttempts=2,
    )

    def notes() -> list[str]:
        seen = [r["dynamodb"]["NewImage"]["note"]["S"] for e in recorded(s3) for r in e["Records"]]
        return seen if "third" in seen else []

    # The poison record is tried once and retried twice; nothing after it runs before it is skipped.
    assert wait_until(notes, "the record after the poison one") == ["first", "fail", "fail", "fail", "third"]
    outcomes = list(Batch.objects.order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["ok", "failed", "failed", "failed", "ok"]
    statuses = list(Hop.objects.filter(action="dynamodb stream→lambda batch").order_by("pk")
                    .values_list("status", flat=True))
    assert statuses == ["ok", "retried", "retried", "error", "ok"]


def notes_of(s3, until: str) -> list[list[str]]:
    """The notes of each batch the recorder received, once a batch holding ``until`` arrived."""
    batches = [[r["dynamodb"]["NewImage"]["note"]["S"] for r in e["Records"]] for e in recorded(s3)]
    return batches if any(until in batch for batch in batches) else []


def test_partial_batch_responses_and_bisecting_a_failing_batch(lambda_client, ddb, s3, recorder):
    recorder()
    partial_arn = make_table(ddb, "ledger", "NEW_IMAGE")
    for i, note in enumerate(("one", "bad two", "three")):
        ddb.put_item(TableName="ledger", Item={"pk": {"S": f"k{i}"}, "note": {"S": note}})
    lambda_client.create_event_source_mapping(
        EventSourceArn=partial_arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON",
        FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=1,
    )
    # The retry starts at the record reported; once retries run out the batch is left behind.
    assert wait_until(lambda: len(notes_of(s3, "bad two")) >= 2 and notes_of(s3, "bad two"),
                      "the retry from the reported record") == [["one", "bad two", "three"], ["bad two", "three"]]
    ddb.put_item(TableName="ledger", Item={"pk": {"S": "k9"}, "note": {"S": "four"}})
    assert wait_until(lambda: notes_of(s3, "four"), "the next record")[2:] == [["four"]]

    for key in [item["Key"] for item in s3.list_objects_v2(Bucket="esm-log").get("Contents", [])]:
        s3.delete_object(Bucket="esm-log", Key=key)
    bisect_arn = make_table(ddb, "bisected", "NEW_IMAGE")
    for i, note in enumerate(("a", "b", "fail", "d")):
        ddb.put_item(TableName="bisected", Item={"pk": {"S": f"k{i}"}, "note": {"S": note}})
    lambda_client.create_event_source_mapping(
        EventSourceArn=bisect_arn, FunctionName="recorder", StartingPosition="TRIM_HORIZON", BatchSize=4,
        BisectBatchOnFunctionError=True, MaximumRetryAttempts=2,
    )
    assert wait_until(lambda: notes_of(s3, "d") if notes_of(s3, "d")[-1:] == [["d"]] else [],
                      "the record after the poison one") == [
        ["a", "b", "fail", "d"], ["a", "b"], ["fail", "d"], ["fail"], ["fail"], ["d"]
    ]
