"""Checks for "An orders table with a composite key"."""

from __future__ import annotations

from typing import Any

from lessons.checks import check, fail

TABLE = "orders"


def _table(session: Any) -> dict[str, Any]:
    return session.client("dynamodb").describe_table(TableName=TABLE)["Table"]


@check("A table named 'orders' exists")
def table_exists(session: Any) -> None:
    _table(session)


@check("Its key is partition key 'id' (S) and sort key 'created' (S)")
def composite_key(session: Any) -> None:
    table = _table(session)
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if keys.get("HASH") != "id":
        fail(f"The partition key is {keys.get('HASH')!r}, not 'id'.")
    if keys.get("RANGE") != "created":
        fail(f"The sort key is {keys.get('RANGE')!r}, not 'created'.")
    if types.get("id") != "S" or types.get("created") != "S":
        fail("Both key attributes must be strings (AttributeType 'S').")


@check("It uses on-demand capacity (PAY_PER_REQUEST)")
def on_demand(session: Any) -> None:
    mode = _table(session).get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if mode != "PAY_PER_REQUEST":
        fail(f"The billing mode is {mode}.")


@check("It holds at least one order")
def has_items(session: Any) -> None:
    if not session.client("dynamodb").scan(TableName=TABLE, Limit=1).get("Items"):
        fail("The table is empty: put an order in it.")


def solution(session: Any) -> None:
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "created", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "created", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={"id": {"S": "c-1"}, "created": {"S": "2026-01-05T10:00:00Z"}, "total": {"N": "42"}},
    )
