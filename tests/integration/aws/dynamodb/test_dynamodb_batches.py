"""Batches, transactions and PartiQL over real HTTP."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def put(pk: str, **attributes: dict) -> dict:
    return {"PutRequest": {"Item": {"pk": {"S": pk}, **attributes}}}


def test_batch_write_and_get(ddb, make_table):
    make_table("left")
    make_table("right")
    written = ddb.batch_write_item(
        RequestItems={"left": [put(f"l{i}", n={"N": str(i)}) for i in range(20)], "right": [put("r1"), put("r2")]},
        ReturnConsumedCapacity="TOTAL",
    )
    assert written["UnprocessedItems"] == {}
    assert {c["TableName"]: c["CapacityUnits"] for c in written["ConsumedCapacity"]} == {"left": 20.0, "right": 2.0}
    ddb.batch_write_item(
        RequestItems={"left": [{"DeleteRequest": {"Key": {"pk": {"S": "l0"}}}}, put("l1", n={"N": "100"})]}
    )
    got = ddb.batch_get_item(
        RequestItems={
            "left": {
                "Keys": [{"pk": {"S": f"l{i}"}} for i in range(3)],
                "ProjectionExpression": "#n",
                "ExpressionAttributeNames": {"#n": "n"},
            },
            "right": {"Keys": [{"pk": {"S": "r2"}}, {"pk": {"S": "missing"}}], "ConsistentRead": True},
        }
    )
    assert sorted(i["n"]["N"] for i in got["Responses"]["left"]) == ["100", "2"]
    assert got["Responses"]["right"] == [{"pk": {"S": "r2"}}]
    assert got["UnprocessedKeys"] == {}

    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={"left": [put(f"x{i}") for i in range(26)]})
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={"left": [put("dup"), put("dup")]})
    assert error_of(excinfo) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(RequestItems={"left": {"Keys": [{"pk": {"S": f"k{i}"}} for i in range(101)]}})
    assert error_of(excinfo) == ("ValidationException", "Too many items requested for the BatchGetItem call")
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={"nope": [put("a")]})
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    # A batch that fails validation writes nothing.
    with pytest.raises(ClientError):
        ddb.batch_write_item(RequestItems={"left": [put("fresh"), put("bad", n={"N": "x"})]})
    assert "Item" not in ddb.get_item(TableName="left", Key={"pk": {"S": "fresh"}})


def test_resource_batch_writer(ddb_resource, make_table):
    make_table("bulk")
    table = ddb_resource.Table("bulk")
    with table.batch_writer() as writer:
        for i in range(60):
            writer.put_item(Item={"pk": f"item-{i}", "i": i})
    assert table.scan(Select="COUNT")["Count"] == 60


def test_transact_write_commits_all_or_nothing(ddb, make_table):
    make_table("accounts")
    make_table("ledger", range=("seq", "N"))
    ddb.put_item(TableName="accounts", Item={"pk": {"S": "alice"}, "balance": {"N": "100"}})
    ddb.put_item(TableName="accounts", Item={"pk": {"S": "bob"}, "balance": {"N": "0"}})
    ddb.put_item(TableName="accounts", Item={"pk": {"S": "bank"}})

    def transfer(amount: int, seq: int, **extra: object) -> dict:
        return ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "accounts",
                        "Key": {"pk": {"S": "alice"}},
                        "UpdateExpression": "SET balance = balance - :a",
                        "ConditionExpression": "balance >= :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {
                    "Update": {
                        "TableName": "accounts",
                        "Key": {"pk": {"S": "bob"}},
                        "UpdateExpression": "SET balance = balance + :a",
                        "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                    }
                },
                {
                    "Put": {
                        "TableName": "ledger",
                        "Item": {"pk": {"S": "tx"}, "seq": {"N": str(seq)}, "amount": {"N": str(amount)}},
                        "ConditionExpression": "attribute_not_exists(seq)",
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "accounts",
                        "Key": {"pk": {"S": "bank"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ],
            **extra,
        )

    result = transfer(60, 1, ReturnConsumedCapacity="TOTAL")
    assert {c["TableName"]: c["CapacityUnits"] for c in result["ConsumedCapacity"]} == {"accounts": 6.0, "ledger": 2.0}
    with pytest.raises(ClientError) as excinfo:
        transfer(60, 2)
    code, message = error_of(excinfo)
    assert code == "TransactionCanceledException"
    assert (
        message
        == "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None, None]"  # noqa: E501
    )
    reasons = excinfo.value.response["CancellationReasons"]
    assert reasons[0] == {
        "Code": "ConditionalCheckFailed",
        "Message": "The conditional request failed",
        "Item": {"pk": {"S": "alice"}, "balance": {"N": "40"}},
    }
    assert [r["Code"] for r in reasons[1:]] == ["None", "None", "None"]
    balances = {i["pk"]["S"]: i["balance"]["N"] for i in ddb.scan(TableName="accounts")["Items"] if "balance" in i}
    assert balances == {"alice": "40", "bob": "60"}
    assert ddb.scan(TableName="ledger")["Count"] == 1

    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "accounts", "Item": {"pk": {"S": "carol"}}}},
                {"Delete": {"TableName": "accounts", "Key": {"pk": {"S": "carol"}}}},
            ]
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Transaction request cannot include multiple operations on one item",
    )
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "accounts",
                        "Key": {"pk": {"S": "alice"}},
                        "UpdateExpression": "SET balance = balance + :s",
                        "ExpressionAttributeValues": {":s": {"S": "x"}},
                    }
                },
            ]
        )
    assert error_of(excinfo)[0] == "ValidationException"


def test_transaction_client_request_token_is_idempotent(ddb, make_table):
    make_table("tokens")
    items = [
        {
            "Update": {
                "TableName": "tokens",
                "Key": {"pk": {"S": "n"}},
                "UpdateExpression": "ADD hits :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-1")
    assert ddb.get_item(TableName="tokens", Key={"pk": {"S": "n"}})["Item"]["hits"] == {"N": "1"}
    ddb.transact_write_items(TransactItems=items, ClientRequestToken="token-2")
    assert ddb.get_item(TableName="tokens", Key={"pk": {"S": "n"}})["Item"]["hits"] == {"N": "2"}
    other = [{"Put": {"TableName": "tokens", "Item": {"pk": {"S": "m"}}}}]
    with pytest.raises(ClientError) as excinfo:
        ddb.transact_write_items(TransactItems=other, ClientRequestToken="token-1")
    assert error_of(excinfo)[0] == "IdempotentParameterMismatchException"


def test_transact_get_items(ddb, make_table):
    make_table("shelf")
    ddb.put_item(TableName="shelf", Item={"pk": {"S": "a"}, "title": {"S": "Dune"}, "pages": {"N": "412"}})
    result = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": "shelf", "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "title"}},
            {"Get": {"TableName": "shelf", "Key": {"pk": {"S": "missing"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert result["Responses"] == [{"Item": {"title": {"S": "Dune"}}}, {}]
    assert result["ConsumedCapacity"] == [{"TableName": "shelf", "CapacityUnits": 4.0}]


def test_partiql(ddb, make_table):
    make_table("songs", range=("n", "N"))
    ddb.execute_statement(Statement="INSERT INTO \"songs\" VALUE {'pk': 'album', 'n': 1, 'title': 'Intro'}")
    ddb.execute_statement(
        Statement="INSERT INTO songs VALUE {'pk': ?, 'n': ?, 'title': ?}",
        Parameters=[{"S": "album"}, {"N": "2"}, {"S": "Outro"}],
    )
    with pytest.raises(ClientError) as excinfo:
        ddb.execute_statement(Statement="INSERT INTO songs VALUE {'pk': 'album', 'n': 1}")
    assert error_of(excinfo) == ("DuplicateItemException", "Duplicate primary key exists in table")
    got = ddb.execute_statement(Statement="SELECT title FROM songs WHERE pk = 'album' AND n = 2")
    assert got["Items"] == [{"title": {"S": "Outro"}}]
    partition = ddb.execute_statement(
        Statement="SELECT * FROM songs WHERE pk = ? AND n > 0", Parameters=[{"S": "album"}]
    )
    assert [i["n"]["N"] for i in partition["Items"]] == ["1", "2"]
    scanned = ddb.execute_statement(Statement="SELECT pk FROM songs WHERE title = 'Intro'")
    assert scanned["Items"] == [{"pk": {"S": "album"}}]
    first = ddb.execute_statement(Statement="SELECT * FROM songs", Limit=1)
    assert len(first["Items"]) == 1 and "NextToken" in first
    second = ddb.execute_statement(Statement="SELECT * FROM songs", Limit=1, NextToken=first["NextToken"])
    assert second["Items"] != first["Items"]
    ddb.execute_statement(Statement="UPDATE songs SET plays = 5 SET title = 'Finale' WHERE pk = 'album' AND n = 2")
    item = ddb.get_item(TableName="songs", Key={"pk": {"S": "album"}, "n": {"N": "2"}})["Item"]
    assert item["plays"] == {"N": "5"} and item["title"] == {"S": "Finale"}
    with pytest.raises(ClientError) as excinfo:
        ddb.execute_statement(Statement="UPDATE songs SET plays = 6 WHERE pk = 'album' AND n = 2 AND plays > 10")
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"
    ddb.execute_statement(Statement="DELETE FROM songs WHERE pk = 'album' AND n = 1")
    assert ddb.scan(TableName="songs")["Count"] == 1
    with pytest.raises(ClientError) as excinfo:
        ddb.execute_statement(Statement="SELEC * FROM songs")
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        ddb.execute_statement(Statement="SELECT * FROM nosuchtable")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
