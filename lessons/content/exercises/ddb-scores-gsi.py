"""Checks for "A leaderboard through a global secondary index"."""

from __future__ import annotations

from typing import Any

from lessons.checks import check, fail

TABLE, INDEX = "scores", "by-game"


def _index(session: Any) -> dict[str, Any]:
    table = session.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    for index in table.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] == INDEX:
            return index
    fail(f"Table '{TABLE}' has no global secondary index named '{INDEX}'.")


@check("A table named 'scores' with key player (HASH) + game (RANGE)")
def table_key(session: Any) -> None:
    table = session.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    if keys != {"HASH": "player", "RANGE": "game"}:
        fail(f"The table's key is {keys}.")


@check("A GSI 'by-game' keyed on game (HASH) + score (RANGE, a number)")
def index_key(session: Any) -> None:
    index = _index(session)
    keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    if keys != {"HASH": "game", "RANGE": "score"}:
        fail(f"The index's key is {keys}.")
    table = session.client("dynamodb").describe_table(TableName=TABLE)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    if types.get("score") != "N":
        fail("'score' must be a number (AttributeType 'N') so it sorts numerically.")


@check("Querying 'by-game' for snake returns at least 3 scores, ada's first")
def leaderboard(session: Any) -> None:
    _index(session)
    items = session.client("dynamodb").query(
        TableName=TABLE,
        IndexName=INDEX,
        KeyConditionExpression="game = :g",
        ExpressionAttributeValues={":g": {"S": "snake"}},
        ScanIndexForward=False,
    )["Items"]
    if len(items) < 3:
        fail(f"The index holds {len(items)} snake score(s); put at least 3.")
    leader = items[0].get("player", {}).get("S")
    if leader != "ada":
        fail(f"The best snake score belongs to {leader!r}, not 'ada'.")


def solution(session: Any) -> None:
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "player", "KeyType": "HASH"}, {"AttributeName": "game", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "player", "AttributeType": "S"},
            {"AttributeName": "game", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "game", "KeyType": "HASH"},
                    {"AttributeName": "score", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for player, score in (("ada", "980"), ("grace", "720"), ("linus", "95")):
        dynamodb.put_item(
            TableName=TABLE, Item={"player": {"S": player}, "game": {"S": "snake"}, "score": {"N": score}}
        )
