"""DynamoDB tables over real HTTP: create/describe/list/update/delete, indexes, tags, TTL."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from serverless_lab.sandboxes.services import sandbox_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_describe_and_delete_a_table(ddb, make_table, cast):
    created = ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "placed", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "placed", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-customer-status",
                "KeySchema": [
                    {"AttributeName": "customer", "KeyType": "HASH"},
                    {"AttributeName": "status", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "course", "Value": "serverless-101"}],
    )["TableDescription"]
    assert created["TableStatus"] == "ACTIVE"
    assert created["TableArn"] == f"arn:aws:dynamodb:us-east-1:{cast.sandbox.account_id}:table/orders"
    assert created["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert created["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert created["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ddb.get_waiter("table_exists").wait(TableName="orders", WaiterConfig={"Delay": 1, "MaxAttempts": 3})

    ddb.put_item(TableName="orders", Item={"customer": {"S": "ada"}, "placed": {"N": "1"}, "status": {"S": "new"}})
    ddb.put_item(TableName="orders", Item={"customer": {"S": "ada"}, "placed": {"N": "2"}})
    table = ddb.describe_table(TableName="orders")["Table"]
    assert table["ItemCount"] == 2 and table["TableSizeBytes"] > 0
    gsi = table["GlobalSecondaryIndexes"][0]
    assert (gsi["IndexName"], gsi["IndexStatus"], gsi["ItemCount"]) == ("by-status", "ACTIVE", 1)
    assert gsi["IndexArn"].endswith("/index/by-status")
    assert table["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "ALL"}
    assert ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"] == [
        {"Key": "course", "Value": "serverless-101"}
    ]

    deleted = ddb.delete_table(TableName="orders")["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName="orders", WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_table(TableName="orders")
    assert error_of(excinfo) == ("ResourceNotFoundException", "Requested resource not found: Table: orders not found")


def test_create_table_errors(ddb, make_table):
    make_table("taken")
    with pytest.raises(ClientError) as excinfo:
        make_table("taken")
    assert error_of(excinfo) == ("ResourceInUseException", "Table already exists: taken")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    with pytest.raises(ClientError) as excinfo:
        make_table("ab")
    assert error_of(excinfo)[0] == "ValidationException"
    assert "Member must have length greater than or equal to 3" in error_of(excinfo)[1]

    with pytest.raises(ClientError) as excinfo:
        make_table("unused", definitions={"extra": "S"})
    assert "Number of attributes in KeySchema does not exactly match" in error_of(excinfo)[1]

    with pytest.raises(ClientError) as excinfo:
        ddb.create_table(
            TableName="nothroughput",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
    assert "ReadCapacityUnits and WriteCapacityUnits must both be specified" in error_of(excinfo)[1]

    with pytest.raises(ClientError) as excinfo:
        make_table(
            "lsi-without-range",
            LocalSecondaryIndexes=[
                {
                    "IndexName": "local",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "other", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            definitions={"other": "S"},
        )
    assert "does not have a range key" in error_of(excinfo)[1]


def test_list_tables_paginates_and_is_per_sandbox(ddb, make_table, live_lab, cast):
    for name in ("alpha", "bravo", "charlie", "delta", "echo"):
        make_table(name)
    first = ddb.list_tables(Limit=2)
    assert first["TableNames"] == ["alpha", "bravo"] and first["LastEvaluatedTableName"] == "bravo"
    second = ddb.list_tables(Limit=2, ExclusiveStartTableName="bravo")
    assert second["TableNames"] == ["charlie", "delta"]
    last = ddb.list_tables(Limit=2, ExclusiveStartTableName="delta")
    assert last["TableNames"] == ["echo"] and "LastEvaluatedTableName" not in last
    names = [
        n
        for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2})
        for n in page["TableNames"]
    ]
    assert names == ["alpha", "bravo", "charlie", "delta", "echo"]

    other = live_lab.client("dynamodb", sandbox_create(owner=cast.charlie, name="charlie-box"))
    assert other.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as excinfo:
        other.describe_table(TableName="alpha")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_update_table_adds_and_removes_a_gsi_and_switches_billing(ddb, make_table):
    make_table("players", range=("game", "S"))
    for i in range(3):
        item = {"pk": {"S": f"p{i}"}, "game": {"S": "chess"}, "score": {"N": str(10 * i)}}
        ddb.put_item(TableName="players", Item=item)
    ddb.put_item(TableName="players", Item={"pk": {"S": "p9"}, "game": {"S": "go"}})  # no score: not indexed

    table = ddb.update_table(
        TableName="players",
        AttributeDefinitions=[
            {"AttributeName": "game", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "leaderboard",
                    "KeySchema": [
                        {"AttributeName": "game", "KeyType": "HASH"},
                        {"AttributeName": "score", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )["TableDescription"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["leaderboard"]
    assert table["GlobalSecondaryIndexes"][0]["ItemCount"] == 3
    top = ddb.query(
        TableName="players",
        IndexName="leaderboard",
        KeyConditionExpression="game = :g",
        ExpressionAttributeValues={":g": {"S": "chess"}},
        ScanIndexForward=False,
        Limit=1,
    )
    assert top["Items"][0]["pk"] == {"S": "p2"}

    table = ddb.update_table(
        TableName="players",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "leaderboard"}}],
    )["TableDescription"]
    assert "GlobalSecondaryIndexes" not in table
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    with pytest.raises(ClientError) as excinfo:
        ddb.query(
            TableName="players",
            IndexName="leaderboard",
            KeyConditionExpression="game = :g",
            ExpressionAttributeValues={":g": {"S": "chess"}},
        )
    assert error_of(excinfo) == ("ValidationException", "The table does not have the specified index: leaderboard")
    with pytest.raises(ClientError) as excinfo:
        ddb.update_table(TableName="missing", BillingMode="PAY_PER_REQUEST")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_tags(ddb, make_table, cast):
    make_table("tagged")
    arn = f"arn:aws:dynamodb:us-east-1:{cast.sandbox.account_id}:table/tagged"
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "lab"}, {"Key": "team", "Value": "a"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "b"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "b"}]
    with pytest.raises(ClientError) as excinfo:
        ddb.list_tags_of_resource(ResourceArn=arn.replace("tagged", "other"))
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    # TableName may be the table's ARN, but not another account's.
    assert ddb.describe_table(TableName=arn)["Table"]["TableName"] == "tagged"
    with pytest.raises(ClientError) as excinfo:
        ddb.describe_table(TableName=arn.replace(cast.sandbox.account_id, "000000000000"))
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_time_to_live_hides_expired_items(ddb, make_table):
    make_table("sessions")
    assert ddb.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "old"}, "expires": {"N": "1000"}})
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "new"}, "expires": {"N": "99999999999"}})
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "forever"}})
    assert ddb.scan(TableName="sessions")["Count"] == 3

    spec = {"Enabled": True, "AttributeName": "expires"}
    assert (
        ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification=spec)["TimeToLiveSpecification"] == spec
    )
    assert ddb.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
    assert "Item" not in ddb.get_item(TableName="sessions", Key={"pk": {"S": "old"}})
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="sessions")["Items"]) == ["forever", "new"]
    # An expired item counts as absent for a conditional write.
    ddb.put_item(TableName="sessions", Item={"pk": {"S": "old"}}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError) as excinfo:
        ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification=spec)
    assert error_of(excinfo) == ("ValidationException", "TimeToLive is already enabled")


def test_describe_limits_and_unsupported_operations(ddb):
    assert ddb.describe_limits()["TableMaxWriteCapacityUnits"] == 40000
    with pytest.raises(ClientError) as excinfo:
        ddb.list_backups()
    assert error_of(excinfo)[0] == "NotImplemented"


def test_resource_api_creates_and_waits(ddb_resource):
    table = ddb_resource.create_table(
        TableName="movies",
        KeySchema=[{"AttributeName": "year", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "year", "AttributeType": "N"},
            {"AttributeName": "title", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    assert table.table_status == "ACTIVE"
    assert table.key_schema[0] == {"AttributeName": "year", "KeyType": "HASH"}
    assert [t.name for t in ddb_resource.tables.all()] == ["movies"]
    table.delete()
    table.wait_until_not_exists()


# A put into a table the server has read before is one guarded statement (backend._put_into_known_table):
# every change to the table must still reach the very next put.


def test_a_gsi_added_to_a_busy_table_indexes_the_next_put(ddb, make_table):
    make_table("busy-players")
    ddb.put_item(TableName="busy-players", Item={"pk": {"S": "p0"}})
    ddb.put_item(TableName="busy-players", Item={"pk": {"S": "p1"}})
    ddb.update_table(
        TableName="busy-players",
        AttributeDefinitions=[{"AttributeName": "game", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "by-game", "KeySchema": [{"AttributeName": "game", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"}}}
        ],
    )
    ddb.put_item(TableName="busy-players", Item={"pk": {"S": "p2"}, "game": {"S": "go"}})
    found = ddb.query(
        TableName="busy-players", IndexName="by-game",
        KeyConditionExpression="game = :g", ExpressionAttributeValues={":g": {"S": "go"}},
    )
    assert found["Items"] == [{"pk": {"S": "p2"}, "game": {"S": "go"}}]


def test_ttl_enabled_on_a_busy_table_applies_to_the_next_put(ddb, make_table):
    make_table("busy-sessions")
    ddb.put_item(TableName="busy-sessions", Item={"pk": {"S": "s0"}})
    ddb.put_item(TableName="busy-sessions", Item={"pk": {"S": "s1"}})
    ddb.update_time_to_live(TableName="busy-sessions", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    ddb.put_item(TableName="busy-sessions", Item={"pk": {"S": "old"}, "ttl": {"N": "1000"}})  # expired in 1970
    assert "Item" not in ddb.get_item(TableName="busy-sessions", Key={"pk": {"S": "old"}})


def test_a_table_made_anew_with_another_key_takes_puts_at_once(ddb, make_table):
    make_table("renewed")
    ddb.put_item(TableName="renewed", Item={"pk": {"S": "a"}})
    ddb.put_item(TableName="renewed", Item={"pk": {"S": "b"}})
    ddb.delete_table(TableName="renewed")
    make_table("renewed", hash=("id", "N"))
    ddb.put_item(TableName="renewed", Item={"id": {"N": "7"}})
    assert ddb.get_item(TableName="renewed", Key={"id": {"N": "7"}})["Item"] == {"id": {"N": "7"}}
    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName="renewed", Item={"pk": {"S": "c"}})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    ddb.delete_table(TableName="renewed")
    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName="renewed", Item={"id": {"N": "8"}})
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
