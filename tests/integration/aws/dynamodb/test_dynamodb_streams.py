"""DynamoDB Streams over real HTTP: records for every change, in order, with the configured images."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def streams(live_lab, cast):
    return live_lab.client("dynamodbstreams", cast.sandbox)


def read_all(streams, arn: str, iterator_type: str = "TRIM_HORIZON", **kwargs) -> tuple[list[dict], str | None]:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=iterator_type, **kwargs)[
        "ShardIterator"
    ]
    records = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=2)
        records += page["Records"]
        iterator = page.get("NextShardIterator")
        if not page["Records"]:
            break
    return records, iterator


def test_a_stream_records_inserts_modifies_and_removes(ddb, make_table, streams):
    table = make_table(
        "feed", range=("n", "N"), StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    description = ddb.describe_table(TableName=table)["Table"]
    arn = description["LatestStreamArn"]
    assert arn.endswith(f"/stream/{description['LatestStreamLabel']}")
    key = {"pk": {"S": "a"}, "n": {"N": "1"}}
    ddb.put_item(TableName=table, Item={**key, "v": {"S": "one"}})
    ddb.update_item(
        TableName=table, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "two"}}
    )
    ddb.update_item(
        TableName=table, Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "two"}}
    )  # no change
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": table, "Key": key}}])
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "b"}, "n": {"N": "2"}}}}]})
    with pytest.raises(ClientError):
        ddb.put_item(
            TableName=table, Item={"pk": {"S": "b"}, "n": {"N": "2"}}, ConditionExpression="attribute_not_exists(pk)"
        )

    listed = streams.list_streams(TableName=table)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "feed", "StreamLabel": description["LatestStreamLabel"]}]
    stream = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert (stream["StreamStatus"], stream["StreamViewType"], stream["TableName"]) == (
        "ENABLED",
        "NEW_AND_OLD_IMAGES",
        "feed",
    )

    records, iterator = read_all(streams, arn)
    assert iterator is not None  # an enabled stream stays open
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE", "INSERT"]
    first, modify, remove = records[0], records[1], records[2]
    assert first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == "us-east-1"
    assert first["dynamodb"]["Keys"] == key and first["dynamodb"]["NewImage"] == {**key, "v": {"S": "one"}}
    assert "OldImage" not in first["dynamodb"] and first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert modify["dynamodb"]["OldImage"]["v"] == {"S": "one"} and modify["dynamodb"]["NewImage"]["v"] == {"S": "two"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["v"] == {"S": "two"}
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4

    after, _ = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=records[1]["dynamodb"]["SequenceNumber"])
    assert [r["eventName"] for r in after] == ["REMOVE", "INSERT"]
    at, _ = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=records[3]["dynamodb"]["SequenceNumber"])
    assert [r["dynamodb"]["Keys"]["pk"] for r in at] == [{"S": "b"}]
    latest, _ = read_all(streams, arn, "LATEST")
    assert latest == []


def test_keys_only_streams_and_disabling(ddb, make_table, streams):
    table = make_table("quiet", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "secret": {"S": "s"}})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    description = ddb.update_table(TableName=table, StreamSpecification={"StreamEnabled": False})["TableDescription"]
    assert "StreamSpecification" not in description and description["LatestStreamArn"] == arn
    ddb.put_item(TableName=table, Item={"pk": {"S": "after"}})
    records, iterator = read_all(streams, arn)
    assert [r["dynamodb"]["Keys"] for r in records] == [{"pk": {"S": "k"}}]
    assert "NewImage" not in records[0]["dynamodb"] and iterator is None  # a disabled stream ends
    stream = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert stream["StreamStatus"] == "DISABLED"
    assert (
        stream["Shards"][0]["SequenceNumberRange"]["EndingSequenceNumber"] == records[0]["dynamodb"]["SequenceNumber"]
    )

    with pytest.raises(ClientError) as excinfo:
        streams.describe_stream(StreamArn=arn + "x")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId="shardId-00000000000000000000-deadbeef", ShardIteratorType="TRIM_HORIZON"
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        streams.get_records(ShardIterator="not-an-iterator")
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


def test_ttl_deletes_expired_items_in_the_background_with_a_stream_record(ddb, make_table, streams):
    table = make_table("leases", StreamSpecification={"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"})
    ddb.put_item(TableName=table, Item={"pk": {"S": "gone"}, "ttl": {"N": "1700000000"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "kept"}, "ttl": {"N": "99999999999"}})
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    deadline = time.monotonic() + 20
    while ddb.describe_table(TableName=table)["Table"]["ItemCount"] != 1:
        assert time.monotonic() < deadline, "the TTL sweep did not delete the expired item"
        time.sleep(0.2)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records, _ = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "REMOVE"]
    removal = records[-1]
    assert removal["dynamodb"]["OldImage"]["pk"] == {"S": "gone"}
    assert removal["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert "userIdentity" not in records[0]


def test_a_stream_enabled_on_a_busy_table_records_the_next_write(ddb, make_table, streams):
    """Item writes reuse the table they read last time while its row is unchanged (and write in one
    statement while it has no stream); enabling a stream must take effect on the very next put."""
    table = make_table("busy")
    for index in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"before-{index}"}})
    description = ddb.update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )["TableDescription"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "before-0"}, "v": {"N": "1"}})
    records, _ = read_all(streams, description["LatestStreamArn"])
    assert [(r["eventName"], r["dynamodb"]["Keys"]) for r in records] == [("MODIFY", {"pk": {"S": "before-0"}})]
    assert records[0]["dynamodb"]["OldImage"] == {"pk": {"S": "before-0"}}
    assert records[0]["dynamodb"]["NewImage"] == {"pk": {"S": "before-0"}, "v": {"N": "1"}}
