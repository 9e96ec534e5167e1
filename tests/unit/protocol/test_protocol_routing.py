"""find_operation: X-Amz-Target, Action and REST routes, including S3's overlapping ones."""

from __future__ import annotations

import pytest

from serverless_lab.cloud.core.errors import AwsError, InvalidAction, UnknownOperation
from serverless_lab.cloud.core.protocol import AwsRequest, find_operation, load_service_model
from serverless_lab.cloud.core.protocol.routing import _router


def request(method: str, path: str, query: str = "", headers: dict | None = None, body: bytes = b"") -> AwsRequest:
    return AwsRequest(method, path, query, headers or {}, body)


def test_json_protocol_routes_on_x_amz_target_case_insensitively() -> None:
    model = load_service_model("dynamodb")
    operation, labels = find_operation(model, request("POST", "/", headers={"x-amz-target": "DynamoDB_20120810.Query"}))
    assert (operation.name, labels) == ("Query", {})
    logs = load_service_model("logs")
    assert (
        find_operation(logs, request("POST", "/", headers={"X-Amz-Target": "Logs_20140328.GetLogEvents"}))[0].name
        == "GetLogEvents"
    )


@pytest.mark.parametrize(
    "headers, fragment",
    [({"X-Amz-Target": "DynamoDB_20120810.DropEverything"}, "DynamoDB_20120810.DropEverything"), ({}, "X-Amz-Target")],
)
def test_json_protocol_unknown_target_names_what_was_asked(headers: dict, fragment: str) -> None:
    with pytest.raises(UnknownOperation) as caught:
        find_operation(load_service_model("dynamodb"), request("POST", "/", headers=headers))
    assert caught.value.code == "UnknownOperationException"
    assert fragment in caught.value.message


def test_query_protocol_reads_action_from_the_body_or_the_query_string() -> None:
    sts = load_service_model("sts")
    body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=x"
    assert find_operation(sts, request("POST", "/", body=body))[0].name == "AssumeRole"
    assert find_operation(sts, request("GET", "/", query="Action=GetCallerIdentity&Version=2011-06-15"))[0].name == (
        "GetCallerIdentity"
    )


def test_query_protocol_unknown_or_missing_action() -> None:
    sns = load_service_model("sns")
    with pytest.raises(InvalidAction) as caught:
        find_operation(sns, request("POST", "/", body=b"Action=LaunchRockets"))
    assert "LaunchRockets" in caught.value.message
    with pytest.raises(AwsError) as missing:
        find_operation(sns, request("POST", "/", body=b"TopicArn=x"))
    assert missing.value.code == "MissingAction"


@pytest.mark.parametrize(
    "method, path, query, headers, expected",
    [
        ("GET", "/", "", {}, "ListBuckets"),
        ("PUT", "/bucket", "", {}, "CreateBucket"),
        ("PUT", "/bucket/", "", {}, "CreateBucket"),
        ("HEAD", "/bucket", "", {}, "HeadBucket"),
        ("GET", "/bucket", "", {}, "ListObjects"),
        ("GET", "/bucket", "list-type=2&prefix=a%2F", {}, "ListObjectsV2"),
        ("GET", "/bucket", "list-type=1", {}, "ListObjects"),
        ("GET", "/bucket", "location", {}, "GetBucketLocation"),
        ("PUT", "/bucket", "versioning", {}, "PutBucketVersioning"),
        ("GET", "/bucket", "versioning", {}, "GetBucketVersioning"),
        ("GET", "/bucket", "uploads", {}, "ListMultipartUploads"),
        ("GET", "/bucket", "lifecycle", {}, "GetBucketLifecycleConfiguration"),
        ("POST", "/bucket", "delete", {}, "DeleteObjects"),
        ("PUT", "/bucket/key", "", {}, "PutObject"),
        ("PUT", "/bucket/key", "", {"X-Amz-Copy-Source": "/src/k"}, "CopyObject"),
        ("PUT", "/bucket/key", "partNumber=1&uploadId=u", {}, "UploadPart"),
        ("PUT", "/bucket/key", "partNumber=1&uploadId=u", {"x-amz-copy-source": "/s/k"}, "UploadPartCopy"),
        ("POST", "/bucket/key", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/bucket/key", "uploadId=u", {}, "CompleteMultipartUpload"),
        ("GET", "/bucket/key", "", {}, "GetObject"),
        ("GET", "/bucket/key", "versionId=3", {}, "GetObject"),
        ("GET", "/bucket/key", "uploadId=u", {}, "ListParts"),
        ("GET", "/bucket/key", "tagging", {}, "GetObjectTagging"),
        ("PUT", "/bucket/key", "tagging", {}, "PutObjectTagging"),
        ("HEAD", "/bucket/key", "", {}, "HeadObject"),
        ("DELETE", "/bucket/key", "", {}, "DeleteObject"),
        ("DELETE", "/bucket/key", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/bucket", "", {}, "DeleteBucket"),
    ],
)
def test_s3_picks_the_most_specific_route(method: str, path: str, query: str, headers: dict, expected: str) -> None:
    operation, labels = find_operation(load_service_model("s3"), request(method, path, query, headers))
    assert operation.name == expected
    assert labels.get("Bucket", "bucket") == "bucket"


@pytest.mark.parametrize(
    "path, key",
    [
        ("/bucket/my%20photo%20%E2%82%AC.jpg", "my photo €.jpg"),
        ("/bucket/a/b/c.txt", "a/b/c.txt"),
        ("/bucket/dir/", "dir/"),
        ("/bucket//leading-slash", "/leading-slash"),
        ("/bucket/100%25%2Bplus%3F", "100%+plus?"),
        ("/bucket/%F0%9F%98%80/emoji", "😀/emoji"),
    ],
)
def test_s3_greedy_key_label_is_percent_decoded(path: str, key: str) -> None:
    operation, labels = find_operation(load_service_model("s3"), request("GET", path))
    assert operation.name == "GetObject"
    assert labels == {"Bucket": "bucket", "Key": key}


@pytest.mark.parametrize(
    "method, path, query, expected, labels",
    [
        ("POST", "/2015-03-31/functions", "", "CreateFunction", {}),
        ("GET", "/2015-03-31/functions/", "MaxItems=5", "ListFunctions", {}),
        ("GET", "/2015-03-31/functions", "", "ListFunctions", {}),
        (
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello",
            "",
            "GetFunction",
            {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:hello"},
        ),
        ("POST", "/2015-03-31/functions/hello/invocations", "", "Invoke", {"FunctionName": "hello"}),
        ("POST", "/2015-03-31/functions/hello/versions", "", "PublishVersion", {"FunctionName": "hello"}),
        ("DELETE", "/2015-03-31/functions/hello", "Qualifier=1", "DeleteFunction", {"FunctionName": "hello"}),
    ],
)
def test_lambda_routes(method: str, path: str, query: str, expected: str, labels: dict) -> None:
    operation, found = find_operation(load_service_model("lambda"), request(method, path, query))
    assert (operation.name, found) == (expected, labels)


def test_apigatewayv2_routes() -> None:
    model = load_service_model("apigatewayv2")
    assert find_operation(model, request("POST", "/v2/apis"))[0].name == "CreateApi"
    # Labels are keyed by the names in the requestUri template (the members' locationName).
    operation, labels = find_operation(model, request("GET", "/v2/apis/a1b2c3/routes/r9"))
    assert (operation.name, labels) == ("GetRoute", {"apiId": "a1b2c3", "routeId": "r9"})


def test_unknown_rest_route_is_a_404_naming_method_and_path() -> None:
    with pytest.raises(UnknownOperation) as caught:
        find_operation(load_service_model("lambda"), request("PATCH", "/2015-03-31/nothing/here", "x=1"))
    assert caught.value.status == 404
    assert "PATCH /2015-03-31/nothing/here?x=1" in caught.value.message
    with pytest.raises(UnknownOperation):
        find_operation(load_service_model("lambda"), request("GET", "/2015-03-31/functions/a/b/c/d"))


def test_router_is_built_once_per_service() -> None:
    model = load_service_model("s3")
    assert load_service_model("s3") is model
    assert _router(model) is _router(model)
