"""Concurrent writers over real HTTP: no lost update, exactly one conditional winner.

The live server answers each request in its own thread and database connection, so these
threads really race inside the database (row locks on PostgreSQL, one writer at a time on SQLite).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

THREADS = 8
UPDATES_PER_THREAD = 15


@pytest.fixture
def fast_sandbox(cast):
    cast.sandbox.max_requests_per_second = 10_000
    cast.sandbox.save(update_fields=["max_requests_per_second"])
    return cast.sandbox


def test_concurrent_add_loses_no_update(live_lab, fast_sandbox, make_table):
    make_table("hits")

    def worker(_: int) -> None:
        client = live_lab.client("dynamodb", fast_sandbox)
        for _ in range(UPDATES_PER_THREAD):
            client.update_item(
                TableName="hits",
                Key={"pk": {"S": "page"}},
                UpdateExpression="ADD hits :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))
    item = live_lab.client("dynamodb", fast_sandbox).get_item(
        TableName="hits", Key={"pk": {"S": "page"}}, ConsistentRead=True
    )
    assert item["Item"]["hits"] == {"N": str(THREADS * UPDATES_PER_THREAD)}


def test_concurrent_conditional_puts_have_exactly_one_winner(live_lab, fast_sandbox, make_table):
    make_table("seats")

    def claim(who: int) -> str:
        client = live_lab.client("dynamodb", fast_sandbox)
        try:
            client.put_item(
                TableName="seats",
                Item={"pk": {"S": "12A"}, "holder": {"N": str(who)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "won"

    for _round in range(3):
        with ThreadPoolExecutor(THREADS) as pool:
            outcomes = list(pool.map(claim, range(THREADS)))
        assert outcomes.count("won") == 1, outcomes
        assert set(outcomes) == {"won", "ConditionalCheckFailedException"}
        live_lab.client("dynamodb", fast_sandbox).delete_item(TableName="seats", Key={"pk": {"S": "12A"}})


def test_concurrent_transfers_keep_the_total(live_lab, fast_sandbox, make_table):
    make_table("wallets")
    client = live_lab.client("dynamodb", fast_sandbox)
    for name in ("a", "b", "c"):
        client.put_item(TableName="wallets", Item={"pk": {"S": name}, "coins": {"N": "100"}})

    def transfer(i: int) -> None:
        source, target = [("a", "b"), ("b", "c"), ("c", "a")][i % 3]
        local = live_lab.client("dynamodb", fast_sandbox)
        for _ in range(5):
            local.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "wallets",
                            "Key": {"pk": {"S": source}},
                            "UpdateExpression": "ADD coins :minus",
                            "ExpressionAttributeValues": {":minus": {"N": "-1"}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": "wallets",
                            "Key": {"pk": {"S": target}},
                            "UpdateExpression": "ADD coins :plus",
                            "ExpressionAttributeValues": {":plus": {"N": "1"}},
                        }
                    },
                ]
            )

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(transfer, range(6)))
    coins = {i["pk"]["S"]: int(i["coins"]["N"]) for i in client.scan(TableName="wallets", ConsistentRead=True)["Items"]}
    assert coins == {"a": 100, "b": 100, "c": 100}


def test_concurrent_writers_on_a_streamed_table_neither_deadlock_nor_lose_records(live_lab, fast_sandbox, make_table):
    make_table("streamed", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    keys = [f"k{i}" for i in range(5)]

    def writer(i: int) -> None:
        client = live_lab.client("dynamodb", fast_sandbox)
        order = keys if i % 2 else list(reversed(keys))  # opposite lock orders across threads
        for round_ in range(3):
            client.batch_write_item(
                RequestItems={
                    "streamed": [
                        {"PutRequest": {"Item": {"pk": {"S": k}, "by": {"S": f"{i}-{round_}"}}}} for k in order
                    ]
                }
            )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(writer, range(THREADS)))
    client = live_lab.client("dynamodb", fast_sandbox)
    arn = client.describe_table(TableName="streamed")["Table"]["LatestStreamArn"]
    streams = live_lab.client("dynamodbstreams", fast_sandbox)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert len(records) == THREADS * 3 * len(keys)
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers)
    # Per key, the last record carries the item as it is now.
    last = {r["dynamodb"]["Keys"]["pk"]["S"]: r["dynamodb"]["NewImage"] for r in records}
    current = {i["pk"]["S"]: i for i in client.scan(TableName="streamed", ConsistentRead=True)["Items"]}
    assert last == current
