"""parse_request recovers exactly the params a boto3 caller passed, for every protocol.

Requests are produced by real boto3 clients (botocore serialises, signs and applies its
customisations), then parsed by our layer; see conftest.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from botocore.model import ServiceModel

from serverless_lab.cloud.core.protocol import AwsRequest, find_operation, load_service_model, parse_request

if TYPE_CHECKING:
    from conftest import InProcessAws

WHEN = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)


def only(params: dict, *names: str) -> dict:
    return {name: params[name] for name in names if name in params}


# --- query: STS, SNS, and SQS over the legacy query protocol ----------------------------------


def test_sts_get_caller_identity_has_no_params(aws: InProcessAws) -> None:
    aws.client("sts").get_caller_identity()
    assert (aws.last.operation, aws.last.params) == ("GetCallerIdentity", {})


def test_sts_assume_role(aws: InProcessAws) -> None:
    params = {
        "RoleArn": "arn:aws:iam::123456789012:role/demo",
        "RoleSessionName": "alice session",
        "DurationSeconds": 900,
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}, {"arn": "arn:aws:iam::1:policy/x"}],
        "Tags": [{"Key": "team", "Value": "a&b=c"}, {"Key": "empty", "Value": ""}],
        "TransitiveTagKeys": ["team"],
        "Policy": '{"Version": "2012-10-17", "Statement": []}',
    }
    aws.handler = lambda op, p: {
        "Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": WHEN}
    }
    aws.client("sts").assume_role(**params)
    assert aws.last.params == params


def test_sns_publish_with_message_attributes(aws: InProcessAws) -> None:
    params = {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Message": "line 1\nline 2 & <xml> ünïcode",
        "Subject": "hi",
        "MessageAttributes": {
            "priority": {"DataType": "Number", "StringValue": "7"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbinary"},
            "dotted.name": {"DataType": "String", "StringValue": "a.b"},
        },
    }
    aws.client("sns").publish(**params)
    assert aws.last.params == params


def test_sns_subscribe_with_attributes_map_and_create_topic_with_tags(aws: InProcessAws) -> None:
    sns = aws.client("sns")
    subscribe = {
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:orders",
        "Protocol": "sqs",
        "Endpoint": "arn:aws:sqs:us-east-1:123456789012:q",
        "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": '{"kind": ["a"]}'},
        "ReturnSubscriptionArn": True,
    }
    sns.subscribe(**subscribe)
    assert aws.last.params == subscribe
    create = {"Name": "orders", "Tags": [{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "alice"}]}
    sns.create_topic(**create)
    assert aws.last.params == create
    sns.create_topic(Name="no-tags", Tags=[])
    assert aws.last.params == {"Name": "no-tags", "Tags": []}


@pytest.mark.parametrize(
    "operation_name, params",
    [
        (
            "SendMessage",
            {
                "QueueUrl": "http://lab.test/123456789012/q",
                "MessageBody": "hello",
                "DelaySeconds": 5,
                "MessageAttributes": {
                    "n": {"DataType": "Number", "StringValue": "1"},
                    "b": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
                },
            },
        ),
        (
            "ReceiveMessage",
            {
                "QueueUrl": "http://lab.test/123456789012/q",
                "MaxNumberOfMessages": 10,
                "WaitTimeSeconds": 20,
                "MessageAttributeNames": ["All"],
                "MessageSystemAttributeNames": ["SentTimestamp", "ApproximateReceiveCount"],
            },
        ),
        (
            "SetQueueAttributes",
            {"QueueUrl": "http://lab.test/1/q", "Attributes": {"VisibilityTimeout": "30", "DelaySeconds": "0"}},
        ),
    ],
)
def test_sqs_over_the_query_protocol(
    sqs_query: ServiceModel, wire: Callable, operation_name: str, params: dict
) -> None:
    request = wire(sqs_query, operation_name, params)
    operation, labels = find_operation(sqs_query, request)
    assert operation.name == operation_name
    assert parse_request(operation, request, labels) == params


def test_query_accepts_member_and_flattened_list_forms() -> None:
    sns = load_service_model("sns")
    operation = sns.operation_model("CreateTopic")
    member = AwsRequest(
        "POST",
        "/",
        "",
        {},
        b"Action=CreateTopic&Name=t&Tags.member.2.Key=b&Tags.member.2.Value=2"
        b"&Tags.member.1.Key=a&Tags.member.1.Value=1",
    )
    flattened = AwsRequest("POST", "/", "", {}, b"Action=CreateTopic&Name=t&Tags.1.Key=a&Tags.1.Value=1")
    assert parse_request(operation, member, {})["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert parse_request(operation, flattened, {})["Tags"] == [{"Key": "a", "Value": "1"}]
    attributes = sns.operation_model("SetSubscriptionAttributes")
    flat_map = AwsRequest("GET", "/", "Action=Subscribe&Attributes.1.key=k&Attributes.1.value=v", {}, b"")
    assert parse_request(sns.operation_model("Subscribe"), flat_map, {})["Attributes"] == {"k": "v"}
    assert parse_request(attributes, AwsRequest("POST", "/", "", {}, b"AttributeName=x"), {}) == {"AttributeName": "x"}


# --- json: SQS, DynamoDB, CloudWatch Logs, EventBridge ---------------------------------------


def test_sqs_send_message_with_message_attributes(aws: InProcessAws) -> None:
    params = {
        "QueueUrl": "http://lab.test/123456789012/orders",
        "MessageBody": '{"order": 1}',
        "DelaySeconds": 0,
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "new"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
            "tags": {"DataType": "String.list", "StringListValues": ["a", "b"]},
        },
        "MessageGroupId": "g1",
    }
    aws.handler = lambda op, p: {"MessageId": "m1"}
    aws.client("sqs").send_message(**params)
    assert aws.last.operation == "SendMessage"
    assert aws.last.params == params


def test_sqs_receive_message(aws: InProcessAws) -> None:
    params = {
        "QueueUrl": "http://lab.test/123456789012/orders",
        "MaxNumberOfMessages": 10,
        "VisibilityTimeout": 30,
        "WaitTimeSeconds": 0,
        "MessageAttributeNames": ["All"],
        "AttributeNames": ["All"],
        "ReceiveRequestAttemptId": "attempt-1",
    }
    aws.client("sqs").receive_message(**params)
    assert aws.last.params == params


def test_dynamodb_put_item_with_every_attribute_type(aws: InProcessAws) -> None:
    item = {
        "pk": {"S": "user#1"},
        "n": {"N": "12.50"},
        "bin": {"B": b"\x00\xff"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"x", b"y"]},
        "m": {"M": {"nested": {"L": [{"S": "deep"}, {"NULL": True}, {"BOOL": False}]}}},
    }
    params = {
        "TableName": "users",
        "Item": item,
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValues": "NONE",
        "ExpressionAttributeNames": {"#n": "n"},
    }
    aws.client("dynamodb").put_item(**params)
    assert aws.last.params == params


def test_dynamodb_query(aws: InProcessAws) -> None:
    params = {
        "TableName": "users",
        "IndexName": "by-email",
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":pk": {"S": "u"}, ":a": {"N": "1"}, ":b": {"N": "9"}},
        "Limit": 25,
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "ExclusiveStartKey": {"pk": {"S": "u"}, "sk": {"N": "3"}},
        "Select": "ALL_ATTRIBUTES",
    }
    aws.handler = lambda op, p: {"Items": [], "Count": 0, "ScannedCount": 0}
    aws.client("dynamodb").query(**params)
    assert aws.last.params == params


def test_logs_get_log_events(aws: InProcessAws) -> None:
    params = {
        "logGroupName": "/aws/lambda/hello",
        "logStreamName": "2024/05/17/[$LATEST]abc",
        "startTime": 1715938215000,
        "endTime": 1715941815000,
        "limit": 100,
        "startFromHead": True,
        "nextToken": "f/123",
    }
    aws.client("logs").get_log_events(**params)
    assert aws.last.params == params


def test_events_put_events_with_a_timestamp(aws: InProcessAws) -> None:
    params = {
        "Entries": [
            {
                "Time": WHEN,
                "Source": "lab.orders",
                "Resources": ["arn:aws:sqs:us-east-1:1:q"],
                "DetailType": "OrderPlaced",
                "Detail": '{"id": 1}',
                "EventBusName": "default",
            }
        ]
    }
    aws.handler = lambda op, p: {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}
    aws.client("events").put_events(**params)
    assert aws.last.params == params
    assert aws.last.params["Entries"][0]["Time"].tzinfo is not None


# --- rest-json: Lambda, API Gateway v2 -------------------------------------------------------


def test_lambda_create_function_with_a_zip_blob(aws: InProcessAws) -> None:
    params = {
        "FunctionName": "hello",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::123456789012:role/lambda",
        "Handler": "app.handler",
        "Code": {"ZipFile": b"PK\x03\x04 binary zip \x00\xff"},
        "Timeout": 30,
        "MemorySize": 256,
        "Publish": True,
        "Environment": {"Variables": {"STAGE": "dev", "EMPTY": ""}},
        "Tags": {"team": "a"},
        "Architectures": ["arm64"],
    }
    aws.handler = lambda op, p: {"FunctionName": "hello"}
    aws.client("lambda").create_function(**params)
    assert (aws.last.operation, aws.last.params) == ("CreateFunction", params)


def test_lambda_invoke_with_headers_querystring_and_raw_payload(aws: InProcessAws) -> None:
    params = {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:hello",
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "ClientContext": "eyJjdXN0b20iOnt9fQ==",
        "Payload": b'{"name": "Ada", "bytes": "\xc3\xa9"}',
        "Qualifier": "$LATEST",
    }
    aws.handler = lambda op, p: {"StatusCode": 200}
    aws.client("lambda").invoke(**params)
    assert aws.last.operation == "Invoke"
    assert aws.last.params == params


def test_lambda_list_get_and_publish(aws: InProcessAws) -> None:
    client = aws.client("lambda")
    client.list_functions(MaxItems=10, Marker="next page", FunctionVersion="ALL")
    assert aws.last.params == {"MaxItems": 10, "Marker": "next page", "FunctionVersion": "ALL"}
    client.list_functions()
    assert (aws.last.operation, aws.last.params) == ("ListFunctions", {})
    client.get_function(FunctionName="hello", Qualifier="1")
    assert (aws.last.operation, aws.last.params) == ("GetFunction", {"FunctionName": "hello", "Qualifier": "1"})
    client.publish_version(FunctionName="hello", Description="first", RevisionId="r1")
    assert aws.last.params == {"FunctionName": "hello", "Description": "first", "RevisionId": "r1"}


def test_list_querystring_list_header_and_map_querystring(aws: InProcessAws, wire: Callable) -> None:
    aws.client("lambda").untag_resource(Resource="arn:aws:lambda:us-east-1:1:function:f", TagKeys=["a", "b c", "d,e"])
    assert aws.last.params == {"Resource": "arn:aws:lambda:us-east-1:1:function:f", "TagKeys": ["a", "b c", "d,e"]}
    aws.client("s3").get_object_attributes(Bucket="b", Key="k", ObjectAttributes=["ETag", "ObjectSize"])
    assert aws.last.params == {"Bucket": "b", "Key": "k", "ObjectAttributes": ["ETag", "ObjectSize"]}
    apigateway = load_service_model("apigateway")  # API Gateway v1 has map-of-strings querystring members
    params = {
        "restApiId": "a1",
        "stageName": "prod",
        "exportType": "oas30",
        "parameters": {"extensions": "integrations", "odd key": "a&b"},
        "accepts": "application/json",
    }
    request = wire(apigateway, "GetExport", params)
    operation, labels = find_operation(apigateway, request)
    assert parse_request(operation, request, labels) == params


def test_apigatewayv2_create_api(aws: InProcessAws) -> None:
    params = {
        "Name": "orders-api",
        "ProtocolType": "HTTP",
        "CorsConfiguration": {
            "AllowOrigins": ["*"],
            "AllowMethods": ["GET", "POST"],
            "MaxAge": 300,
            "AllowCredentials": False,
        },
        "Tags": {"env": "dev"},
        "DisableExecuteApiEndpoint": False,
        "Target": "arn:aws:lambda:us-east-1:1:function:hello",
    }
    aws.client("apigatewayv2").create_api(**params)
    assert (aws.last.operation, aws.last.params) == ("CreateApi", params)


# --- rest-xml: S3 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["plain.txt", "with space/and more.txt", "ünïcødé/€uro 😀.bin", "a/b/c/", "x+y=z&w?.txt"]
)
def test_s3_put_object_with_metadata_and_body(aws: InProcessAws, key: str) -> None:
    body = b"\x00binary body\xff" * 3
    aws.client("s3").put_object(
        Bucket="photos",
        Key=key,
        Body=body,
        Metadata={"owner": "alice", "camera": "x100"},
        ContentType="image/jpeg",
        CacheControl="max-age=60",
        Expires=WHEN,
        Tagging="a=1&b=2",
    )
    params = aws.last.params
    assert aws.last.operation == "PutObject"
    assert only(params, "Bucket", "Key", "Body", "Metadata", "ContentType", "CacheControl", "Expires", "Tagging") == {
        "Bucket": "photos",
        "Key": key,
        "Body": body,
        "Metadata": {"owner": "alice", "camera": "x100"},
        "ContentType": "image/jpeg",
        "CacheControl": "max-age=60",
        "Expires": WHEN,
        "Tagging": "a=1&b=2",
    }
    assert params["ContentLength"] == len(body)
    assert params["ChecksumAlgorithm"] == "CRC32" and params["ChecksumCRC32"]


def test_s3_get_object_with_range_and_conditional_headers(aws: InProcessAws) -> None:
    aws.handler = lambda op, p: {"Body": b"", "ContentLength": 0}
    aws.client("s3").get_object(
        Bucket="b", Key="k", Range="bytes=0-9", IfModifiedSince=WHEN, VersionId="v1", ResponseContentType="text/plain"
    )
    assert aws.last.params == {
        "Bucket": "b",
        "Key": "k",
        "Range": "bytes=0-9",
        "IfModifiedSince": WHEN,
        "VersionId": "v1",
        "ResponseContentType": "text/plain",
        "ChecksumMode": "ENABLED",  # botocore asks for checksums by default
    }


def test_s3_list_objects_v1_and_v2(aws: InProcessAws) -> None:
    s3 = aws.client("s3")
    s3.list_objects_v2(
        Bucket="b",
        Prefix="photos/2024/",
        Delimiter="/",
        MaxKeys=50,
        ContinuationToken="tok+/=",
        StartAfter="photos/2024/a",
    )
    assert aws.last.operation == "ListObjectsV2"
    assert aws.last.params == {
        "Bucket": "b",
        "Prefix": "photos/2024/",
        "Delimiter": "/",
        "MaxKeys": 50,
        "ContinuationToken": "tok+/=",
        "StartAfter": "photos/2024/a",
        "EncodingType": "url",  # botocore adds it, and url-decodes keys in the response
    }
    s3.list_objects(Bucket="b", Marker="m")
    assert (aws.last.operation, aws.last.params) == (
        "ListObjects",
        {"Bucket": "b", "Marker": "m", "EncodingType": "url"},
    )


def test_s3_multipart_upload(aws: InProcessAws) -> None:
    s3 = aws.client("s3")
    aws.handler = lambda op, p: {"UploadId": "up-1"} if op == "CreateMultipartUpload" else {}
    s3.create_multipart_upload(Bucket="b", Key="big file.bin", ContentType="application/zip", Metadata={"m": "1"})
    assert aws.last.operation == "CreateMultipartUpload"
    assert only(aws.last.params, "Bucket", "Key", "ContentType", "Metadata") == {
        "Bucket": "b",
        "Key": "big file.bin",
        "ContentType": "application/zip",
        "Metadata": {"m": "1"},
    }
    s3.upload_part(Bucket="b", Key="big file.bin", PartNumber=2, UploadId="up-1", Body=b"part two")
    assert aws.last.operation == "UploadPart"
    assert only(aws.last.params, "Bucket", "Key", "PartNumber", "UploadId", "Body") == {
        "Bucket": "b",
        "Key": "big file.bin",
        "PartNumber": 2,
        "UploadId": "up-1",
        "Body": b"part two",
    }
    parts = [{"PartNumber": 1, "ETag": '"e1"'}, {"PartNumber": 2, "ETag": '"e2"'}]
    s3.complete_multipart_upload(Bucket="b", Key="big file.bin", UploadId="up-1", MultipartUpload={"Parts": parts})
    assert aws.last.operation == "CompleteMultipartUpload"
    assert aws.last.params == {
        "Bucket": "b",
        "Key": "big file.bin",
        "UploadId": "up-1",
        "MultipartUpload": {"Parts": parts},
    }


def test_s3_delete_objects_xml_body(aws: InProcessAws) -> None:
    delete = {"Objects": [{"Key": "a.txt"}, {"Key": "dir/b & c.txt", "VersionId": "v2"}], "Quiet": True}
    aws.client("s3").delete_objects(Bucket="b", Delete=delete)
    assert aws.last.operation == "DeleteObjects"
    assert aws.last.params["Delete"] == delete
    assert aws.last.params["Bucket"] == "b"


def test_s3_bucket_versioning_location_and_head(aws: InProcessAws) -> None:
    s3 = aws.client("s3")
    s3.put_bucket_versioning(Bucket="b", VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"})
    assert aws.last.operation == "PutBucketVersioning"
    assert aws.last.params["VersioningConfiguration"] == {"Status": "Enabled", "MFADelete": "Disabled"}
    s3.get_bucket_location(Bucket="b")
    assert (aws.last.operation, aws.last.params) == ("GetBucketLocation", {"Bucket": "b"})
    s3.head_object(Bucket="b", Key="k k", IfNoneMatch='"etag"', PartNumber=1)
    assert (aws.last.operation, aws.last.params) == (
        "HeadObject",
        {"Bucket": "b", "Key": "k k", "IfNoneMatch": '"etag"', "PartNumber": 1},
    )


def test_s3_create_bucket_with_configuration(aws: InProcessAws) -> None:
    aws.client("s3").create_bucket(
        Bucket="b", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}, ACL="private"
    )
    assert aws.last.params == {
        "Bucket": "b",
        "ACL": "private",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }


def test_s3_aws_chunked_body_and_trailing_checksum_are_decoded() -> None:
    s3 = load_service_model("s3")
    body = (
        b"5;chunk-signature=abc\r\nhello\r\n"
        b"6;chunk-signature=def\r\n world\r\n"
        b"0;chunk-signature=fin\r\n"
        b"x-amz-checksum-crc32:DUoRhQ==\r\n"
        b"x-amz-trailer-signature:sig\r\n\r\n"
    )
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": "11",
        "Content-Length": str(len(body)),
    }
    request = AwsRequest("PUT", "/b/k", "", headers, body)
    operation, labels = find_operation(s3, request)
    params = parse_request(operation, request, labels)
    assert params["Body"] == b"hello world"
    assert params["ChecksumCRC32"] == "DUoRhQ=="
    assert params["ContentLength"] == 11
    assert "ContentEncoding" not in params


# --- ec2 (query dialect: queryName, capitalised locationName, flattened lists) ---------------


def test_ec2_run_and_describe_instances(wire: Callable) -> None:
    ec2 = load_service_model("ec2")
    run = {
        "ImageId": "ami-1",
        "MinCount": 1,
        "MaxCount": 2,
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}],
        "BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": True}}],
    }
    describe = {"InstanceIds": ["i-1", "i-2"], "Filters": [{"Name": "tag:env", "Values": ["dev", "prod"]}]}
    for name, params in (("RunInstances", run), ("DescribeInstances", describe)):
        request = wire(ec2, name, params)
        operation, labels = find_operation(ec2, request)
        assert parse_request(operation, request, labels) == params
