"""DynamoDB single-item operations over real HTTP: expressions, ReturnValues, capacity, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from boto3.dynamodb.conditions import Attr
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = {"pk": {"S": "user#1"}}


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_every_attribute_type_round_trips(ddb, make_table):
    make_table("things")
    item = {
        "pk": {"S": "x"},
        "n": {"N": "1.50"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "b": {"B": b"\x00\xff"},
        "t": {"BOOL": True},
        "nothing": {"NULL": True},
        "l": {"L": [{"S": "a"}, {"N": "2"}, {"M": {"deep": {"BS": [b"\x01", b"\x02"]}}}]},
        "m": {"M": {"ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.0"]}}},
        "empty": {"S": ""},
    }
    ddb.put_item(TableName="things", Item=item)
    got = ddb.get_item(TableName="things", Key={"pk": {"S": "x"}}, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1.5"}
    assert got["big"] == item["big"] and got["b"] == item["b"] and got["l"] == item["l"]
    assert got["m"]["M"]["ns"] == {"NS": ["1", "2"]} and got["empty"] == {"S": ""}
    projected = ddb.get_item(
        TableName="things",
        Key={"pk": {"S": "x"}},
        ProjectionExpression="#l[2].deep, m.ss, t",
        ExpressionAttributeNames={"#l": "l"},
    )["Item"]
    assert projected == {
        "l": {"L": [{"M": {"deep": {"BS": [b"\x01", b"\x02"]}}}]},
        "m": {"M": {"ss": {"SS": ["a", "b"]}}},
        "t": {"BOOL": True},
    }
    assert "Item" not in ddb.get_item(TableName="things", Key={"pk": {"S": "missing"}})


def test_put_with_conditions_and_return_values(ddb, make_table):
    make_table("users")
    first = ddb.put_item(TableName="users", Item={**KEY, "name": {"S": "Ada"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in first
    replaced = ddb.put_item(
        TableName="users",
        Item={**KEY, "name": {"S": "Grace"}},
        ReturnValues="ALL_OLD",
        ConditionExpression="#n = :old",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":old": {"S": "Ada"}},
    )
    assert replaced["Attributes"] == {**KEY, "name": {"S": "Ada"}}
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName="users",
            Item=KEY,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error_of(excinfo) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert excinfo.value.response["Item"] == {**KEY, "name": {"S": "Grace"}}
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as excinfo:
        ddb.put_item(TableName="users", Item=KEY, ConditionExpression="attribute_not_exists(pk)")
    assert "Item" not in excinfo.value.response
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName="users", Item=KEY, ReturnValues="ALL_NEW")
    assert error_of(excinfo) == ("ValidationException", "Return values set to invalid value")


def test_update_item_expressions_and_every_return_values_mode(ddb, make_table):
    make_table("counters")
    created = ddb.update_item(
        TableName="counters",
        Key=KEY,
        UpdateExpression="SET visits = :one, tags = :tags, profile = :p",
        ExpressionAttributeValues={":one": {"N": "1"}, ":tags": {"SS": ["a"]}, ":p": {"M": {"city": {"S": "Oslo"}}}},
        ReturnValues="ALL_OLD",
    )
    assert "Attributes" not in created
    cases = {
        "UPDATED_OLD": {"visits": {"N": "1"}},
        "UPDATED_NEW": {"visits": {"N": "3"}},
        "ALL_NEW": {**KEY, "visits": {"N": "4"}, "tags": {"SS": ["a"]}, "profile": {"M": {"city": {"S": "Oslo"}}}},
    }
    expected_old = {"UPDATED_OLD": "1", "UPDATED_NEW": "2", "ALL_NEW": "3"}
    for mode, expected in cases.items():
        result = ddb.update_item(
            TableName="counters",
            Key=KEY,
            UpdateExpression="SET visits = visits + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues=mode,
        )
        assert result["Attributes"] == expected, (mode, expected_old[mode])
    result = ddb.update_item(
        TableName="counters",
        Key=KEY,
        UpdateExpression="SET profile.country = if_not_exists(profile.country, :no), history = list_append(if_not_exists(history, :empty), :entry) "  # noqa: E501
        "REMOVE profile.city ADD tags :more",
        ConditionExpression="visits > :three AND contains(tags, :a) AND size(profile) = :one AND attribute_type(visits, :n)",  # noqa: E501
        ExpressionAttributeValues={
            ":no": {"S": "NO"},
            ":empty": {"L": []},
            ":entry": {"L": [{"S": "hi"}]},
            ":more": {"SS": ["b", "c"]},
            ":three": {"N": "3"},
            ":a": {"S": "a"},
            ":one": {"N": "1"},
            ":n": {"S": "N"},
        },
        ReturnValues="ALL_OLD",
    )
    assert result["Attributes"]["visits"] == {"N": "4"}
    ddb.update_item(
        TableName="counters",
        Key=KEY,
        UpdateExpression="DELETE tags :gone",
        ExpressionAttributeValues={":gone": {"SS": ["a"]}},
    )
    item = ddb.get_item(TableName="counters", Key=KEY)["Item"]
    assert item["profile"] == {"M": {"country": {"S": "NO"}}}
    assert item["history"] == {"L": [{"S": "hi"}]} and sorted(item["tags"]["SS"]) == ["b", "c"]

    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName="counters", Key=KEY, UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "x"}}
        )
    assert "This attribute is part of the key" in error_of(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName="counters",
            Key=KEY,
            UpdateExpression="SET visits = visits + :s",
            ExpressionAttributeValues={":s": {"S": "x"}},
        )
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(
            TableName="counters",
            Key={"pk": {"S": "nobody"}},
            UpdateExpression="SET a = :v",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
    assert error_of(excinfo)[0] == "ConditionalCheckFailedException"
    assert "Item" not in ddb.get_item(TableName="counters", Key={"pk": {"S": "nobody"}})


def test_delete_item(ddb, make_table):
    make_table("doomed", range=("sk", "N"))
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName="doomed", Item={**key, "v": {"N": "5"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.delete_item(
            TableName="doomed", Key=key, ConditionExpression="v < :x", ExpressionAttributeValues={":x": {"N": "5"}}
        )
    deleted = ddb.delete_item(
        TableName="doomed",
        Key=key,
        ReturnValues="ALL_OLD",
        ConditionExpression="v BETWEEN :a AND :b",
        ExpressionAttributeValues={":a": {"N": "1"}, ":b": {"N": "5"}},
    )
    assert deleted["Attributes"] == {**key, "v": {"N": "5"}}
    assert "Attributes" not in ddb.delete_item(TableName="doomed", Key=key, ReturnValues="ALL_OLD")


def test_consumed_capacity(ddb, make_table):
    make_table(
        "metered",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        definitions={"email": "S"},
    )
    big = {**KEY, "email": {"S": "a@example.com"}, "blob": {"S": "x" * 3000}}
    total = ddb.put_item(TableName="metered", Item=big, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert total == {"TableName": "metered", "CapacityUnits": 6.0}
    indexes = ddb.put_item(TableName="metered", Item=big, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert indexes["Table"] == {"CapacityUnits": 3.0}
    assert indexes["GlobalSecondaryIndexes"] == {"by-email": {"CapacityUnits": 3.0}}
    read = ddb.get_item(TableName="metered", Key=KEY, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert read["CapacityUnits"] == 0.5
    strong = ddb.get_item(TableName="metered", Key=KEY, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert "ConsumedCapacity" not in ddb.get_item(TableName="metered", Key=KEY)



def test_a_put_that_replaces_a_bigger_item_is_metered_by_the_bigger_one(ddb, make_table):
    """A put into a table with no index or stream is one upsert statement; it still counts the
    write units of the larger of the old and new item, as DynamoDB does."""
    make_table("plain")
    fresh = ddb.put_item(TableName="plain", Item={**KEY, "blob": {"S": "x" * 3000}}, ReturnConsumedCapacity="TOTAL")
    assert fresh["ConsumedCapacity"]["CapacityUnits"] == 3.0
    smaller = ddb.put_item(TableName="plain", Item=KEY, ReturnConsumedCapacity="TOTAL")
    assert smaller["ConsumedCapacity"]["CapacityUnits"] == 3.0
    again = ddb.put_item(TableName="plain", Item=KEY, ReturnConsumedCapacity="TOTAL")
    assert again["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert ddb.get_item(TableName="plain", Key=KEY)["Item"] == KEY

BAD_PUTS = [
    (
        {"Item": {"pk": {"N": "1"}}},
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
    ),
    ({"Item": {"other": {"S": "x"}}}, "One or more parameter values were invalid: Missing the key pk in the item"),
    (
        {"Item": {"pk": {"S": ""}}},
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",  # noqa: E501
    ),
    (
        {"Item": {**KEY, "s": {"SS": []}}},
        "One or more parameter values were invalid: An string set  may not be empty",
    ),
    ({"Item": {**KEY, "n": {"N": "abc"}}}, "The parameter cannot be converted to a numeric value: abc"),
    ({"Item": {**KEY, "big": {"S": "x" * (400 * 1024)}}}, "Item size has exceeded the maximum allowed size"),
    ({"Item": KEY, "ConditionExpression": "a = "}, None),
    ({"Item": KEY, "ConditionExpression": "size = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}}, None),
    ({"Item": KEY, "ConditionExpression": "a = :missing"}, None),
    (
        {
            "Item": KEY,
            "ExpressionAttributeValues": {":unused": {"S": "x"}},
            "ConditionExpression": "attribute_exists(a)",
        },
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}",
    ),
]


def test_bad_input_is_a_validation_exception(ddb, make_table):
    make_table("strict")
    for kwargs, message in BAD_PUTS:
        with pytest.raises(ClientError) as excinfo:
            ddb.put_item(TableName="strict", **kwargs)
        code, text = error_of(excinfo)
        assert code == "ValidationException", text
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        if message is not None:
            assert text == message


def test_key_errors_and_missing_table(ddb, make_table):
    make_table("keyed", range=("sk", "N"))
    for key in (
        {"pk": {"S": "a"}},
        {"pk": {"S": "a"}, "sk": {"S": "1"}},
        {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}},
    ):
        with pytest.raises(ClientError) as excinfo:
            ddb.get_item(TableName="keyed", Key=key)
        assert error_of(excinfo) == ("ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName="nope", Key=KEY)
    assert error_of(excinfo) == ("ResourceNotFoundException", "Requested resource not found")


def raw_call(live_lab, ddb, operation: str, body: bytes) -> requests.Response:
    """A correctly signed request with a body boto3 would refuse to send."""
    credentials = ddb._request_signer._credentials
    request = AWSRequest(
        method="POST",
        url=live_lab.endpoint_url + "/",
        data=body,
        headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(Credentials(credentials.access_key, credentials.secret_key), "dynamodb", "us-east-1").add_auth(request)
    return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=10)


MALFORMED = [
    ("PutItem", b"{not json", "SerializationException"),
    ("PutItem", b'{"TableName": "raw", "Item": {"pk": {"S": 5}}}', "SerializationException"),
    ("PutItem", b'{"TableName": "raw"}', "ValidationException"),
    ("GetItem", b'{"TableName": "raw", "Key": {"pk": {"Z": "x"}}}', "ValidationException"),
    (
        "CreateTable",
        b'{"TableName": "other", "KeySchema": [{"AttributeName": "pk"}], "AttributeDefinitions": []}',
        "ValidationException",
    ),
    ("TransactWriteItems", b'{"TransactItems": [{"Put": {"Item": {"pk": {"S": "a"}}}}]}', "ValidationException"),
    (
        "Query",
        b'{"TableName": "raw", "KeyConditionExpression": "pk = :p", "ExclusiveStartKey": {"x": {"S": "y"}}, '
        b'"ExpressionAttributeValues": {":p": {"S": "a"}}}',
        "ValidationException",
    ),
]


def test_malformed_requests_are_aws_errors_not_500s(live_lab, ddb, make_table):
    make_table("raw")
    for operation, body, error in MALFORMED:
        response = raw_call(live_lab, ddb, operation, body)
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == f"com.amazonaws.dynamodb.v20120810#{error}"


def test_resource_table_api(ddb_resource, make_table):
    make_table("people", range=("age", "N"))
    table = ddb_resource.Table("people")
    table.put_item(Item={"pk": "team", "age": 36, "name": "Ada", "skills": {"math", "code"}, "meta": {"x": [1, "two"]}})
    table.put_item(Item={"pk": "team", "age": 41, "name": "Grace"})
    item = table.get_item(Key={"pk": "team", "age": 36})["Item"]
    assert item["name"] == "Ada" and item["age"] == Decimal(36) and item["skills"] == {"math", "code"}
    assert item["meta"] == {"x": [Decimal(1), "two"]}
    updated = table.update_item(
        Key={"pk": "team", "age": 36},
        UpdateExpression="ADD logins :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    assert updated["Attributes"] == {"logins": Decimal(1)}
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item={"pk": "team", "age": 41}, ConditionExpression=Attr("pk").not_exists())
    table.delete_item(Key={"pk": "team", "age": 41})
    assert table.scan(FilterExpression=Attr("name").begins_with("A"))["Items"][0]["name"] == "Ada"


def test_legacy_parameters_still_work(ddb, make_table):
    make_table("legacy", range=("n", "N"))
    key = {"pk": {"S": "a"}, "n": {"N": "1"}}
    ddb.put_item(TableName="legacy", Item={**key, "v": {"N": "1"}}, Expected={"pk": {"Exists": False}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName="legacy", Item=key, Expected={"pk": {"Exists": False}})
    ddb.update_item(
        TableName="legacy",
        Key=key,
        AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "2"}}, "note": {"Value": {"S": "hi"}}},
        Expected={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}},
    )
    got = ddb.get_item(TableName="legacy", Key=key, AttributesToGet=["v", "note"])["Item"]
    assert got == {"v": {"N": "3"}, "note": {"S": "hi"}}
    ddb.put_item(TableName="legacy", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    result = ddb.query(
        TableName="legacy",
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
            "n": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]},
        },
        QueryFilter={"note": {"ComparisonOperator": "NOT_NULL"}},
    )
    assert [i["n"]["N"] for i in result["Items"]] == ["1"] and result["ScannedCount"] == 2
    scanned = ddb.scan(
        TableName="legacy", ScanFilter={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}}
    )
    assert [i["n"]["N"] for i in scanned["Items"]] == ["2"]
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(
            TableName="legacy", Item=key, Expected={"pk": {"Exists": False}}, ConditionExpression="attribute_exists(pk)"
        )
    assert "Can not use both expression and non-expression parameters" in error_of(excinfo)[1]
