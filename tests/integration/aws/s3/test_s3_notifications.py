"""S3 event notifications invoke a Lambda function that reads the object back through boto3."""
from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANDLER = '''
import json, urllib.parse, boto3

def handler(event, context):
    s3 = boto3.client("s3")
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        summary = {"event": record["eventName"], "size": record["s3"]["object"]["size"],
                   "etag": record["s3"]["object"]["eTag"], "source": record["eventSource"],
                   "configuration": record["s3"]["configurationId"], "upper": body.decode().upper()}
        s3.put_object(Bucket=bucket, Key="processed/" + key.split("/")[-1], Body=json.dumps(summary).encode())
'''


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def wait_for_object(s3, bucket: str, key: str, timeout: float = 45.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            time.sleep(0.3)
    raise AssertionError(f"{key} never appeared")


def test_an_upload_invokes_the_function_with_s3s_event_record(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    lam = live_lab.client("lambda", cast.sandbox)
    function = lam.create_function(
        FunctionName="on-upload", Runtime="python3.11", Handler="app.handler", Timeout=20,
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": package(HANDLER)},
    )
    s3.create_bucket(Bucket="notify-me")
    s3.put_bucket_notification_configuration(
        Bucket="notify-me",
        NotificationConfiguration={"LambdaFunctionConfigurations": [{
            "Id": "uploads-to-lambda",
            "LambdaFunctionArn": function["FunctionArn"],
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
        }]},
    )
    s3.put_object(Bucket="notify-me", Key="ignored.txt", Body=b"outside the prefix")
    put = s3.put_object(Bucket="notify-me", Key="uploads/hello world.txt", Body=b"hello lambda")

    summary = json.loads(wait_for_object(s3, "notify-me", "processed/hello world.txt"))
    assert summary == {
        "event": "ObjectCreated:Put", "size": 12, "etag": put["ETag"].strip('"'), "source": "aws:s3",
        "configuration": "uploads-to-lambda", "upper": "HELLO LAMBDA",
    }
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="notify-me")["Contents"]]
    assert "processed/ignored.txt" not in keys  # the prefix filter held
