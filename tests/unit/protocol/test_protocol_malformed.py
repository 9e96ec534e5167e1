"""Malformed input gives an AwsError naming the problem, never another exception; validate_required."""

from __future__ import annotations

import random

import pytest

from serverless_lab.cloud.core.errors import AwsError, SerializationError
from serverless_lab.cloud.core.protocol import (
    AwsRequest,
    find_operation,
    load_service_model,
    parse_request,
    validate_required,
)


def parse(
    service: str, method: str, path: str, body: bytes = b"", query: str = "", headers: dict | None = None
) -> dict:
    request = AwsRequest(method, path, query, headers or {}, body)
    operation, labels = find_operation(load_service_model(service), request)
    return parse_request(operation, request, labels)


def ddb(operation: str, body: bytes) -> dict:
    return parse("dynamodb", "POST", "/", body, headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}"})


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b'{"TableName": "t", "Item": ', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b'{"TableName": 5}', "TableName: expected a string, got number"),
        (b'{"TableName": "t", "Item": []}', "Item: expected an object, got array"),
        (b'{"TableName": "t", "Item": {"a": {"B": "!!not base64!!"}}}', "Item.a.B: invalid base64"),
        (b'{"TableName": "t", "Item": {"a": {"BOOL": "yes"}}}', "Item.a.BOOL: expected a boolean"),
        (b'{"TableName": "t", "Item": {"a": {"L": [{"N": 1}]}}}', "Item.a.L.1.N: expected a string"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ],
)
def test_bad_json_bodies(body: bytes, fragment: str) -> None:
    with pytest.raises(SerializationError) as caught:
        ddb("PutItem", body)
    assert fragment in caught.value.message
    assert caught.value.code == "SerializationException"


def test_wrong_scalar_types_in_json() -> None:
    with pytest.raises(SerializationError, match="Limit: expected an integer"):
        ddb("Query", b'{"TableName": "t", "Limit": "ten"}')
    with pytest.raises(SerializationError, match="ScanIndexForward: expected a boolean"):
        ddb("Query", b'{"TableName": "t", "ScanIndexForward": 1}')
    with pytest.raises(SerializationError, match="Entries.1.Time: invalid timestamp"):
        parse(
            "events",
            "POST",
            "/",
            b'{"Entries": [{"Time": "yesterday"}]}',
            headers={"X-Amz-Target": "AWSEvents.PutEvents"},
        )
    assert ddb("Query", b'{"TableName": "t", "Limit": 10.0}')["Limit"] == 10


def test_absurdly_deep_nesting_is_a_serialization_error() -> None:
    depth = 1000
    item = b'{"M":{"x":' * depth + b'{"S":"leaf"}' + b"}}" * depth
    with pytest.raises(SerializationError):
        ddb("PutItem", b'{"TableName":"t","Item":{"deep":' + item + b"}}")


def test_bad_rest_json_input() -> None:
    with pytest.raises(SerializationError, match="not valid JSON"):
        parse("lambda", "POST", "/2015-03-31/functions", b'{"FunctionName": "f", "Code": {"ZipFile": "UEsD')
    with pytest.raises(SerializationError, match="MaxItems: expected an integer"):
        parse("lambda", "GET", "/2015-03-31/functions/", query="MaxItems=lots")
    with pytest.raises(SerializationError, match="Code.ZipFile: invalid base64"):
        parse("lambda", "POST", "/2015-03-31/functions", b'{"FunctionName": "f", "Code": {"ZipFile": "%%%"}}')


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>a</Key></Object>",
        b"<Delete>&undefined;</Delete>",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Delete>&lol2;</Delete>',
    ],
)
def test_bad_xml_is_malformed_xml(body: bytes) -> None:
    with pytest.raises(SerializationError) as caught:
        parse("s3", "POST", "/bucket", body, query="delete")
    assert caught.value.code == "MalformedXML"
    assert "not well-formed" in caught.value.message


def test_bad_rest_xml_scalars() -> None:
    with pytest.raises(SerializationError, match="PartNumber: expected an integer") as caught:
        parse("s3", "PUT", "/b/k", b"data", query="partNumber=one&uploadId=u")
    assert caught.value.code == "InvalidArgument"
    with pytest.raises(SerializationError, match="IfModifiedSince: invalid timestamp"):
        parse("s3", "GET", "/b/k", headers={"If-Modified-Since": "the day before yesterday"})
    with pytest.raises(SerializationError, match="BypassGovernanceRetention: expected true or false"):
        parse("s3", "DELETE", "/b/k", headers={"x-amz-bypass-governance-retention": "maybe"})
    with pytest.raises(SerializationError, match="Delete.Quiet: expected true or false"):
        parse("s3", "POST", "/b", b"<Delete><Quiet>sometimes</Quiet></Delete>", query="delete")
    parts = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part><Part><PartNumber>x</PartNumber></Part>"
    with pytest.raises(SerializationError, match="MultipartUpload.Parts.2.PartNumber: expected an integer"):
        parse("s3", "POST", "/b/k", parts + b"</CompleteMultipartUpload>", query="uploadId=u")


def test_truncated_aws_chunked_body() -> None:
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "10"}
    with pytest.raises(SerializationError) as caught:
        parse("s3", "PUT", "/b/k", b"a;chunk-signature=x\r\nonly five", headers=headers)
    assert caught.value.code == "IncompleteBody"
    with pytest.raises(SerializationError, match="chunk size"):
        parse("s3", "PUT", "/b/k", b"zz\r\nxx\r\n0\r\n\r\n", headers=headers)


@pytest.mark.parametrize(
    "body, fragment",
    [
        (
            b"Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=an+hour",
            "DurationSeconds: expected an integer",
        ),
        (b"Action=AssumeRole&RoleArn=a&RoleSessionName=s&Tags.member.1=scalar", "Tags.member.1: expected nested"),
        (b"Action=AssumeRole&RoleArn.x=nested&RoleSessionName=s", "RoleArn: expected a single value"),
        (b"Action=AssumeRole&RoleArn=a&\xff\xfe=1", "not valid UTF-8"),
    ],
)
def test_bad_query_input(body: bytes, fragment: str) -> None:
    with pytest.raises(SerializationError) as caught:
        parse("sts", "POST", "/", body)
    assert fragment in caught.value.message
    assert caught.value.code in ("InvalidParameterValue", "SerializationException")


def test_query_map_entry_without_value() -> None:
    with pytest.raises(SerializationError, match="MessageAttributes.entry.1: map entry needs Name and Value"):
        parse("sns", "POST", "/", b"Action=Publish&Message=m&MessageAttributes.entry.1.Name=x")


VALID_REQUESTS = [
    (
        "dynamodb",
        "POST",
        "/",
        "",
        {"X-Amz-Target": "DynamoDB_20120810.PutItem"},
        b'{"TableName":"t","Item":{"a":{"B":"AAE="},"n":{"NS":["1"]},"m":{"M":{"x":{"L":[{"BOOL":true}]}}}}}',
    ),
    (
        "lambda",
        "POST",
        "/2015-03-31/functions",
        "",
        {},
        b'{"FunctionName":"f","Code":{"ZipFile":"UEsDBA=="},"Timeout":3,"Environment":{"Variables":{"A":"1"}}}',
    ),
    (
        "s3",
        "POST",
        "/b",
        "delete",
        {},
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key><VersionId>v</VersionId>'
        b"</Object><Quiet>true</Quiet></Delete>",
    ),
    (
        "s3",
        "PUT",
        "/b/k",
        "",
        {"Content-Encoding": "aws-chunked"},
        b"5;chunk-signature=a\r\nhello\r\n0;chunk-signature=b\r\nx-amz-checksum-crc32:AAAA\r\n\r\n",
    ),
    (
        "sns",
        "POST",
        "/",
        "",
        {},
        b"Action=Publish&TopicArn=t&Message=m&MessageAttributes.entry.1.Name=n"
        b"&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=AAE%3D",
    ),
]


@pytest.mark.parametrize("service, method, path, query, headers, body", VALID_REQUESTS, ids=lambda v: str(v)[:12])
def test_every_truncation_and_corruption_yields_params_or_an_aws_error(
    service: str, method: str, path: str, query: str, headers: dict, body: bytes
) -> None:
    parse(service, method, path, body, query, headers)  # the intact request is fine
    rng = random.Random(1234)
    variants = [body[:cut] for cut in range(len(body))]
    for _ in range(200):
        corrupted = bytearray(body)
        for _ in range(rng.randint(1, 3)):
            corrupted[rng.randrange(len(corrupted))] = rng.randrange(256)
        variants.append(bytes(corrupted))
    for variant in variants:
        try:
            parse(service, method, path, variant, query, headers)
        except AwsError:
            pass


# --- validate_required ------------------------------------------------------------------------


def test_validate_required_json_names_every_missing_member() -> None:
    operation = load_service_model("dynamodb").operation_model("PutItem")
    with pytest.raises(AwsError) as caught:
        validate_required(operation, {})
    assert caught.value.code == "ValidationException"
    assert caught.value.message.startswith("2 validation errors detected: ")
    assert "'TableName'" in caught.value.message and "'Item'" in caught.value.message
    validate_required(operation, {"TableName": "t", "Item": {}})


def test_validate_required_descends_into_nested_structures() -> None:
    operation = load_service_model("dynamodb").operation_model("TransactWriteItems")
    params = {"TransactItems": [{"Put": {"TableName": "t", "Item": {}}}, {"Put": {"Item": {}}}]}
    with pytest.raises(AwsError) as caught:
        validate_required(operation, params)
    assert caught.value.message == (
        "1 validation error detected: Value null at 'TransactItems.2.Put.TableName' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_validate_required_query_and_rest_codes() -> None:
    with pytest.raises(AwsError) as caught:
        validate_required(load_service_model("sns").operation_model("Publish"), {"TopicArn": "t"})
    assert (caught.value.code, caught.value.message) == (
        "MissingParameter",
        "The request must contain the parameter Message.",
    )
    complete = load_service_model("s3").operation_model("CompleteMultipartUpload")
    with pytest.raises(AwsError) as caught:
        validate_required(complete, {"Bucket": "b", "Key": "k"})
    assert caught.value.code == "InvalidArgument"
    assert caught.value.fields == {"ArgumentName": "UploadId"}
    with pytest.raises(AwsError) as caught:
        validate_required(
            load_service_model("lambda").operation_model("CreateFunction"), {"FunctionName": "f", "Code": {}}
        )
    assert caught.value.code == "ValidationException" and "'Role'" in caught.value.message
    validate_required(load_service_model("sts").operation_model("GetCallerIdentity"), {})
