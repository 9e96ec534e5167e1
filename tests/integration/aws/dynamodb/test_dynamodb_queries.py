"""Query and Scan over real HTTP: key conditions, indexes, filters, pagination, segments."""

from __future__ import annotations

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.fixture
def events(ddb, make_table):
    """A HASH+RANGE(N) table with a GSI on (kind, ts) and an LSI on (pk, kind); 3 partitions of 10."""
    make_table(
        "events",
        range=("ts", "N"),
        definitions={"kind": "S"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-kind",
                "KeySchema": [
                    {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
            }
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-pk-kind",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "kind", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    requests = []
    for partition in ("a", "b", "c"):
        for i in range(10):
            item = {
                "pk": {"S": partition},
                "ts": {"N": str(i - 3)},
                "note": {"S": f"{partition}{i}"},
                "extra": {"N": str(i)},
            }
            if i % 2 == 0:
                item["kind"] = {"S": "even"}
            requests.append({"PutRequest": {"Item": item}})
    for start in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={"events": requests[start : start + 25]})
    return "events"


def tss(items):
    return [int(item["ts"]["N"]) for item in items]


def test_query_key_conditions_order_and_filters(ddb, events):
    def q(expr, values, **kwargs):
        return ddb.query(TableName=events, KeyConditionExpression=expr, ExpressionAttributeValues=values, **kwargs)

    a = {":p": {"S": "a"}}
    assert tss(q("pk = :p", a)["Items"]) == list(range(-3, 7))
    assert tss(q("pk = :p", a, ScanIndexForward=False)["Items"]) == list(range(6, -4, -1))
    assert tss(q("pk = :p AND ts < :z", {**a, ":z": {"N": "0"}})["Items"]) == [-3, -2, -1]
    assert tss(q("pk = :p AND ts >= :z", {**a, ":z": {"N": "5"}})["Items"]) == [5, 6]
    assert tss(q("pk = :p AND ts BETWEEN :lo AND :hi", {**a, ":lo": {"N": "-1"}, ":hi": {"N": "1.5"}})["Items"]) == [
        -1,
        0,
        1,
    ]
    assert tss(q(":p = pk AND :v = ts", {**a, ":v": {"N": "2"}})["Items"]) == [2]
    filtered = q("pk = :p", {**a, ":min": {"N": "5"}}, FilterExpression="extra >= :min AND attribute_exists(kind)")
    assert tss(filtered["Items"]) == [3, 5] and filtered["Count"] == 2 and filtered["ScannedCount"] == 10
    counted = q("pk = :p", a, Select="COUNT")
    assert counted["Count"] == 10 and "Items" not in counted
    projected = q("pk = :p AND ts = :v", {**a, ":v": {"N": "0"}}, ProjectionExpression="note")
    assert projected["Items"] == [{"note": {"S": "a3"}}]
    assert q("pk = :p", {":p": {"S": "zzz"}})["Items"] == []


def test_query_pagination(ddb, events):
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(
            TableName=events,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "b"}},
            Limit=4,
            ScanIndexForward=False,
            **kwargs,
        )
        pages.append(tss(page["Items"]))
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"pk", "ts"}
    assert pages == [[6, 5, 4, 3], [2, 1, 0, -1], [-2, -3]]
    paginator = ddb.get_paginator("query")
    found = [
        item
        for page in paginator.paginate(
            TableName=events,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "c"}},
            PaginationConfig={"PageSize": 3},
        )
        for item in page["Items"]
    ]
    assert tss(found) == list(range(-3, 7))


def test_query_indexes(ddb, events):
    gsi = ddb.query(
        TableName=events,
        IndexName="by-kind",
        KeyConditionExpression="kind = :k AND ts > :z",
        ExpressionAttributeValues={":k": {"S": "even"}, ":z": {"N": "2"}},
    )
    assert sorted(tss(gsi["Items"])) == [3, 3, 3, 5, 5, 5]
    assert set(gsi["Items"][0]) == {"pk", "ts", "kind", "note"}  # INCLUDE projection
    pages, start = [], None
    while True:
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(
            TableName=events,
            IndexName="by-kind",
            KeyConditionExpression="kind = :k",
            ExpressionAttributeValues={":k": {"S": "even"}},
            Limit=4,
            **kwargs,
        )
        pages.extend((item["pk"]["S"], int(item["ts"]["N"])) for item in page["Items"])
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"pk", "ts", "kind"}
    assert len(pages) == 15 and len(set(pages)) == 15 and [ts for _, ts in pages] == sorted(ts for _, ts in pages)

    lsi = ddb.query(
        TableName=events,
        IndexName="by-pk-kind",
        KeyConditionExpression="pk = :p AND kind = :k",
        ExpressionAttributeValues={":p": {"S": "a"}, ":k": {"S": "even"}},
    )
    assert lsi["Count"] == 5 and set(lsi["Items"][0]) == {"pk", "ts", "kind"}  # KEYS_ONLY

    with pytest.raises(ClientError) as excinfo:
        ddb.query(
            TableName=events,
            IndexName="by-kind",
            KeyConditionExpression="kind = :k",
            ConsistentRead=True,
            ExpressionAttributeValues={":k": {"S": "even"}},
        )
    assert error_of(excinfo) == (
        "ValidationException",
        "Consistent reads are not supported on global secondary indexes",
    )
    with pytest.raises(ClientError) as excinfo:
        ddb.query(
            TableName=events,
            IndexName="by-kind",
            KeyConditionExpression="kind = :k",
            Select="ALL_ATTRIBUTES",
            ExpressionAttributeValues={":k": {"S": "even"}},
        )
    assert error_of(excinfo)[0] == "ValidationException"


BAD_KEY_CONDITIONS = [
    ("ts = :v", {":v": {"N": "1"}}, "Query condition missed key schema element: pk"),
    (
        "pk = :p OR ts = :v",
        {":p": {"S": "a"}, ":v": {"N": "1"}},
        "Invalid operator used in KeyConditionExpression: OR",
    ),
    ("pk = :p AND note = :v", {":p": {"S": "a"}, ":v": {"S": "x"}}, "Query key condition not supported"),
    (
        "pk = :p",
        {":p": {"N": "1"}},
        "One or more parameter values were invalid: Condition parameter type does not match schema type",
    ),
    ("pk = :p AND", {":p": {"S": "a"}}, None),
]


def test_bad_key_conditions(ddb, events):
    for expression, values, message in BAD_KEY_CONDITIONS:
        with pytest.raises(ClientError) as excinfo:
            ddb.query(TableName=events, KeyConditionExpression=expression, ExpressionAttributeValues=values)
        code, text = error_of(excinfo)
        assert code == "ValidationException", text
        if message:
            assert text == message


def test_scan_filters_pages_and_segments(ddb, events):
    everything = ddb.scan(TableName=events)
    assert everything["Count"] == 30 and "LastEvaluatedKey" not in everything
    filtered = ddb.scan(
        TableName=events,
        FilterExpression="begins_with(note, :b) AND NOT contains(note, :nine)",
        ExpressionAttributeValues={":b": {"S": "b"}, ":nine": {"S": "9"}},
    )
    assert filtered["Count"] == 9 and filtered["ScannedCount"] == 30
    keys = []
    for page in ddb.get_paginator("scan").paginate(TableName=events, PaginationConfig={"PageSize": 7}):
        assert page["ScannedCount"] <= 7
        keys += [(i["pk"]["S"], i["ts"]["N"]) for i in page["Items"]]
    assert len(keys) == 30 and len(set(keys)) == 30
    segments = [
        {(i["pk"]["S"], i["ts"]["N"]) for i in ddb.scan(TableName=events, Segment=s, TotalSegments=3)["Items"]}
        for s in range(3)
    ]
    assert sum(len(s) for s in segments) == 30 and set().union(*segments) == set(keys)
    index_scan = ddb.scan(TableName=events, IndexName="by-kind")
    assert index_scan["Count"] == 15
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=events, Segment=3, TotalSegments=3)
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=events, Segment=0)
    assert error_of(excinfo)[0] == "ValidationException"


def test_pages_stop_at_one_megabyte(ddb, make_table):
    make_table("bulky", range=("n", "N"))
    blob = "x" * 100_000
    for start in range(0, 14, 7):
        ddb.batch_write_item(
            RequestItems={
                "bulky": [
                    {"PutRequest": {"Item": {"pk": {"S": "p"}, "n": {"N": str(i)}, "blob": {"S": blob}}}}
                    for i in range(start, start + 7)
                ]
            }
        )
    page = ddb.query(TableName="bulky", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert page["Count"] == 11 and page["LastEvaluatedKey"] == {"pk": {"S": "p"}, "n": {"N": "10"}}
    rest = ddb.query(
        TableName="bulky",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    assert rest["Count"] == 3 and "LastEvaluatedKey" not in rest
    assert ddb.scan(TableName="bulky", Select="COUNT")["Count"] == 11


def test_resource_query_with_conditions(ddb_resource, events):
    table = ddb_resource.Table(events)
    result = table.query(
        KeyConditionExpression=Key("pk").eq("a") & Key("ts").between(0, 2), FilterExpression=Attr("extra").gt(3)
    )
    assert [int(i["ts"]) for i in result["Items"]] == [1, 2]
    assert len(table.scan(FilterExpression=Attr("kind").exists())["Items"]) == 15
