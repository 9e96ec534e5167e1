"""serialize_result produces what botocore's parsers turn back into the result dict."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.model import ServiceModel
from botocore.parsers import create_parser
from urllib3 import HTTPHeaderDict

from serverless_lab.cloud.core.errors import AwsError
from serverless_lab.cloud.core.protocol import load_service_model, serialize_error, serialize_result

if TYPE_CHECKING:
    from conftest import InProcessAws

WHEN = datetime(2024, 5, 17, 9, 30, 15, 123000, tzinfo=UTC)
LATER = datetime(2024, 5, 17, 10, 0, 0, tzinfo=UTC)


def without_metadata(response: dict) -> dict:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def test_sts_assume_role_result(aws: InProcessAws) -> None:
    result = {
        "Credentials": {
            "AccessKeyId": "ASIA1",
            "SecretAccessKey": "s/+=",
            "SessionToken": "tok<&>",
            "Expiration": WHEN,
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA1:alice", "Arn": "arn:aws:sts::1:assumed-role/demo/alice"},
        "PackedPolicySize": 6,
    }
    aws.handler = lambda op, p: result
    response = aws.client("sts").assume_role(RoleArn="arn:aws:iam::1:role/demo", RoleSessionName="alice")
    assert without_metadata(response) == result
    assert response["ResponseMetadata"]["RequestId"] == aws.request_id
    body = aws.last.response.body.decode()
    assert body.startswith('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>')
    assert "<Expiration>2024-05-17T09:30:15.123Z</Expiration>" in body
    assert aws.last.response.headers["Content-Type"] == "text/xml"


def test_sts_get_caller_identity_result(aws: InProcessAws) -> None:
    result = {"UserId": "AIDA1", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/alice"}
    aws.handler = lambda op, p: result
    assert without_metadata(aws.client("sts").get_caller_identity()) == result


def test_sns_results_with_lists_and_maps(aws: InProcessAws) -> None:
    sns = aws.client("sns")
    topics = {
        "Topics": [{"TopicArn": "arn:aws:sns:us-east-1:1:a"}, {"TopicArn": "arn:aws:sns:us-east-1:1:b"}],
        "NextToken": "n",
    }
    aws.handler = lambda op, p: topics
    assert without_metadata(sns.list_topics()) == topics
    attributes = {"Attributes": {"DisplayName": "Orders & Co", "Policy": '{"a": "<b>"}', "SubscriptionsConfirmed": "2"}}
    aws.handler = lambda op, p: attributes
    assert without_metadata(sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:1:a")) == attributes
    aws.handler = lambda op, p: {"MessageId": "m-1", "SequenceNumber": None}
    assert without_metadata(sns.publish(TopicArn="arn:aws:sns:us-east-1:1:a", Message="x")) == {"MessageId": "m-1"}
    aws.handler = lambda op, p: {"Topics": []}
    assert without_metadata(sns.list_topics()) == {"Topics": []}


def test_sqs_receive_message_result(aws: InProcessAws) -> None:
    body = "hello ünïcode"
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh+/=",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "Body": body,
        "Attributes": {"SentTimestamp": "1715938215000", "ApproximateReceiveCount": "1"},
        "MessageAttributes": {
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
            "kind": {"DataType": "String", "StringValue": "new"},
        },
    }
    aws.handler = lambda op, p: {"Messages": [message]}
    response = aws.client("sqs").receive_message(QueueUrl="http://lab.test/1/q")
    assert without_metadata(response) == {"Messages": [message]}
    assert aws.last.response.headers["Content-Type"] == "application/x-amz-json-1.0"


def test_sqs_query_protocol_result_parses_with_botocore(sqs_query: ServiceModel) -> None:
    operation = sqs_query.operation_model("ReceiveMessage")
    result = {
        "Messages": [
            {
                "MessageId": "m",
                "Body": "b",
                "Attributes": {"SenderId": "s"},
                "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": b"\x01"}},
            }
        ]
    }
    response = serialize_result(operation, result, request_id="r-1")
    parsed = create_parser("query").parse(
        {"status_code": response.status, "headers": HTTPHeaderDict(response.headers), "body": response.body},
        operation.output_shape,
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r-1"
    assert parsed == result


def test_dynamodb_query_result(aws: InProcessAws) -> None:
    result = {
        "Items": [
            {"pk": {"S": "u#1"}, "blob": {"B": b"\x00\x01"}, "set": {"BS": [b"a"]}, "n": {"N": "1.5"}},
            {"pk": {"S": "u#2"}, "m": {"M": {"l": {"L": [{"NULL": True}, {"BOOL": True}]}}}},
        ],
        "Count": 2,
        "ScannedCount": 5,
        "LastEvaluatedKey": {"pk": {"S": "u#2"}},
        "ConsumedCapacity": {"TableName": "users", "CapacityUnits": 0.5},
    }
    aws.handler = lambda op, p: result
    response = aws.client("dynamodb").query(
        TableName="users", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "u"}}
    )
    assert without_metadata(response) == result
    # botocore checks x-amz-crc32 against the body, as against real DynamoDB
    assert "x-amz-crc32" in aws.last.response.headers


def test_dynamodb_describe_table_timestamps(aws: InProcessAws) -> None:
    result = {
        "Table": {
            "TableName": "t",
            "CreationDateTime": WHEN,
            "ItemCount": 3,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        }
    }
    aws.handler = lambda op, p: result
    assert without_metadata(aws.client("dynamodb").describe_table(TableName="t")) == result
    assert b'"CreationDateTime":1715938215.123' in aws.last.response.body


def test_logs_and_events_results(aws: InProcessAws) -> None:
    events = {
        "events": [{"timestamp": 1715938215000, "message": "START", "ingestionTime": 1715938215100}],
        "nextForwardToken": "f/1",
        "nextBackwardToken": "b/1",
    }
    aws.handler = lambda op, p: events
    assert without_metadata(aws.client("logs").get_log_events(logGroupName="g", logStreamName="s")) == events
    assert aws.last.response.headers["Content-Type"] == "application/x-amz-json-1.1"
    put = {"FailedEntryCount": 1, "Entries": [{"EventId": "e-1"}, {"ErrorCode": "Throttled", "ErrorMessage": "slow"}]}
    aws.handler = lambda op, p: put
    assert (
        without_metadata(aws.client("events").put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]))
        == put
    )


def test_lambda_create_and_get_function_results(aws: InProcessAws) -> None:
    configuration = {
        "FunctionName": "hello",
        "FunctionArn": "arn:aws:lambda:us-east-1:1:function:hello",
        "Runtime": "python3.12",
        "Timeout": 3,
        "MemorySize": 128,
        "LastModified": "2024-05-17T09:30:15.123+0000",
        "Environment": {"Variables": {"A": "1"}},
        "State": "Active",
        "Architectures": ["x86_64"],
    }
    aws.handler = lambda op, p: configuration
    lam = aws.client("lambda")
    response = lam.create_function(
        FunctionName="hello", Role="r", Code={"ZipFile": b"z"}, Runtime="python3.12", Handler="a.b"
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert without_metadata(response) == configuration
    aws.handler = lambda op, p: {"Configuration": configuration, "Code": {"Location": "http://x"}, "Tags": {"t": "v"}}
    assert without_metadata(lam.get_function(FunctionName="hello"))["Tags"] == {"t": "v"}
    aws.handler = lambda op, p: {"Functions": [configuration], "NextMarker": None}
    assert without_metadata(lam.list_functions()) == {"Functions": [configuration]}


def test_lambda_invoke_result_status_headers_and_raw_payload(aws: InProcessAws) -> None:
    payload = b'{"errorMessage": "boom", "errorType": "ValueError"}'
    aws.handler = lambda op, p: {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "LogResult": "U1RBUlQgUmVxdWVzdElk",
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
    }
    response = aws.client("lambda").invoke(FunctionName="hello", Payload=b"{}", LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert response["LogResult"] == "U1RBUlQgUmVxdWVzdElk"
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["Payload"].read() == payload
    assert aws.last.response.headers["X-Amz-Function-Error"] == "Unhandled"
    assert aws.last.response.headers["X-Amz-Log-Result"] == "U1RBUlQgUmVxdWVzdElk"
    aws.handler = lambda op, p: {"StatusCode": 202}
    assert aws.client("lambda").invoke(FunctionName="hello", InvocationType="Event")["StatusCode"] == 202


def test_apigatewayv2_create_api_result(aws: InProcessAws) -> None:
    result = {
        "ApiId": "a1b2c3",
        "Name": "orders",
        "ProtocolType": "HTTP",
        "ApiEndpoint": "https://a1b2c3.execute-api.lab.test",
        "CreatedDate": WHEN,
        "Tags": {"env": "dev"},
        "CorsConfiguration": {"AllowOrigins": ["*"], "MaxAge": 300},
        "DisableExecuteApiEndpoint": False,
    }
    aws.handler = lambda op, p: result
    response = aws.client("apigatewayv2").create_api(Name="orders", ProtocolType="HTTP")
    assert without_metadata(response) == result
    assert b'"createdDate":"2024-05-17T09:30:15.123Z"' in aws.last.response.body  # timestampFormat iso8601


def test_s3_list_objects_v2_result(aws: InProcessAws) -> None:
    result = {
        "IsTruncated": True,
        "Contents": [
            {"Key": "photos/a b.jpg", "LastModified": WHEN, "ETag": '"e1"', "Size": 10, "StorageClass": "STANDARD"},
            {
                "Key": "photos/ünï.png",
                "LastModified": LATER,
                "ETag": '"e2"',
                "Size": 5_000_000_000,
                "StorageClass": "STANDARD",
                "Owner": {"ID": "o1", "DisplayName": "alice"},
            },
        ],
        "Name": "bucket",
        "Prefix": "photos/",
        "Delimiter": "/",
        "MaxKeys": 2,
        "CommonPrefixes": [{"Prefix": "photos/2023/"}, {"Prefix": "photos/2024/"}],
        "KeyCount": 4,
        "NextContinuationToken": "next+/=",
    }
    aws.handler = lambda op, p: result
    response = aws.client("s3").list_objects_v2(Bucket="bucket", Prefix="photos/", Delimiter="/")
    assert without_metadata(response) == result
    body = aws.last.response.body.decode()
    assert body.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    )
    assert "<Contents><Key>photos/a b.jpg</Key><LastModified>2024-05-17T09:30:15.123Z</LastModified>" in body
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"] == aws.request_id


def test_s3_list_objects_v2_empty_and_single_item(aws: InProcessAws) -> None:
    aws.handler = lambda op, p: {"Name": "b", "KeyCount": 0, "IsTruncated": False}
    assert without_metadata(aws.client("s3").list_objects_v2(Bucket="b")) == {
        "Name": "b",
        "KeyCount": 0,
        "IsTruncated": False,
    }
    one = {"Contents": [{"Key": "k", "Size": 1}], "CommonPrefixes": [{"Prefix": "p/"}], "Name": "b"}
    aws.handler = lambda op, p: one
    assert without_metadata(aws.client("s3").list_objects_v2(Bucket="b")) == one


def test_s3_get_object_streams_body_with_headers(aws: InProcessAws) -> None:
    data = "ünïcode bytes\x00".encode() * 100
    aws.handler = lambda op, p: {
        "Body": data[:10],
        "ContentLength": 10,
        "ContentRange": f"bytes 0-9/{len(data)}",
        "ContentType": "image/png",
        "ETag": '"abc"',
        "LastModified": LATER,
        "Metadata": {"owner": "alice", "camera": "x100"},
        "AcceptRanges": "bytes",
        "VersionId": None,
        "ResponseMetadata": {"HTTPStatusCode": 206},
    }
    response = aws.client("s3").get_object(Bucket="b", Key="k", Range="bytes=0-9")
    assert response["Body"].read() == data[:10]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (response["ContentLength"], response["ContentType"], response["ETag"]) == (10, "image/png", '"abc"')
    assert response["LastModified"] == LATER
    assert response["Metadata"] == {"owner": "alice", "camera": "x100"}
    assert response["ContentRange"] == f"bytes 0-9/{len(data)}"
    assert "VersionId" not in response
    assert aws.last.response.headers["Last-Modified"] == "Fri, 17 May 2024 10:00:00 GMT"
    assert aws.last.response.headers["x-amz-meta-owner"] == "alice"


def test_s3_head_object_has_headers_and_no_body(aws: InProcessAws) -> None:
    aws.handler = lambda op, p: {
        "ContentLength": 1234,
        "ETag": '"e"',
        "LastModified": LATER,
        "Metadata": {"k": "v"},
        "ObjectLockRetainUntilDate": WHEN,
    }
    response = aws.client("s3").head_object(Bucket="b", Key="k")
    assert (response["ContentLength"], response["Metadata"]) == (1234, {"k": "v"})
    assert response["ObjectLockRetainUntilDate"] == WHEN  # header with timestampFormat iso8601
    assert aws.last.response.body == b""


def test_s3_multipart_delete_versioning_location_and_buckets(aws: InProcessAws) -> None:
    s3 = aws.client("s3")
    aws.handler = lambda op, p: {"Bucket": "b", "Key": "k", "UploadId": "up-1"}
    assert without_metadata(s3.create_multipart_upload(Bucket="b", Key="k")) == {
        "Bucket": "b",
        "Key": "k",
        "UploadId": "up-1",
    }
    assert b"<InitiateMultipartUploadResult " in aws.last.response.body
    completed = {"Location": "http://lab.test/b/k", "Bucket": "b", "Key": "k", "ETag": '"x-2"', "VersionId": "v1"}
    aws.handler = lambda op, p: completed
    assert (
        without_metadata(
            s3.complete_multipart_upload(Bucket="b", Key="k", UploadId="up-1", MultipartUpload={"Parts": []})
        )
        == completed
    )
    deleted = {
        "Deleted": [{"Key": "a"}, {"Key": "b & c", "VersionId": "v"}],
        "Errors": [{"Key": "d", "Code": "AccessDenied", "Message": "no"}],
    }
    aws.handler = lambda op, p: deleted
    assert without_metadata(s3.delete_objects(Bucket="b", Delete={"Objects": [{"Key": "a"}]})) == deleted
    aws.handler = lambda op, p: {"Status": "Enabled", "MFADelete": "Disabled"}
    assert without_metadata(s3.get_bucket_versioning(Bucket="b")) == {"Status": "Enabled", "MFADelete": "Disabled"}
    aws.handler = lambda op, p: {"LocationConstraint": "eu-west-1"}
    assert without_metadata(s3.get_bucket_location(Bucket="b")) == {"LocationConstraint": "eu-west-1"}
    aws.handler = lambda op, p: {}
    assert without_metadata(s3.get_bucket_location(Bucket="b")) == {"LocationConstraint": None}
    buckets = {"Buckets": [{"Name": "a", "CreationDate": WHEN}], "Owner": {"ID": "o", "DisplayName": "alice"}}
    aws.handler = lambda op, p: buckets
    assert without_metadata(s3.list_buckets()) == buckets


def test_s3_acl_with_xml_attribute_and_namespace_prefix(aws: InProcessAws) -> None:
    acl = {
        "Owner": {"ID": "o1"},
        "Grants": [
            {"Grantee": {"ID": "o1", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
            {
                "Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers", "Type": "Group"},
                "Permission": "READ",
            },
        ],
    }
    aws.handler = lambda op, p: acl
    assert without_metadata(aws.client("s3").get_bucket_acl(Bucket="b")) == acl
    assert b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"' in aws.last.response.body


def test_unknown_result_keys_are_dropped() -> None:
    operation = load_service_model("sts").operation_model("GetCallerIdentity")
    response = serialize_result(operation, {"Account": "1", "Bogus": "x", "UserId": None}, request_id="r")
    assert b"Bogus" not in response.body and b"UserId" not in response.body
    assert b"<Account>1</Account>" in response.body


def test_ec2_result_and_error() -> None:
    ec2 = load_service_model("ec2")
    operation = ec2.operation_model("DescribeInstances")
    result = {
        "Reservations": [
            {
                "ReservationId": "r-1",
                "Instances": [
                    {
                        "InstanceId": "i-1",
                        "State": {"Code": 16, "Name": "running"},
                        "LaunchTime": WHEN,
                        "Tags": [{"Key": "env", "Value": "dev"}],
                    }
                ],
            }
        ]
    }
    response = serialize_result(operation, result, request_id="r-1")
    parser = create_parser("ec2")
    parsed = parser.parse(
        {"status_code": 200, "headers": HTTPHeaderDict(response.headers), "body": response.body}, operation.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r-1"
    assert parsed == result
    error = serialize_error(
        ec2, AwsError("The instance ID 'i-9' does not exist", code="InvalidInstanceID.NotFound"), request_id="r-2"
    )
    parsed = parser.parse(
        {"status_code": error.status, "headers": HTTPHeaderDict(error.headers), "body": error.body}, None
    )
    assert parsed["Error"] == {"Code": "InvalidInstanceID.NotFound", "Message": "The instance ID 'i-9' does not exist"}
    assert parsed["ResponseMetadata"]["RequestId"] == "r-2"
