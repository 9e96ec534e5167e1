"""Event source mapping tests: clients for Alice's sandbox, a recording function, and helpers to
wait for what it recorded.

The recording function writes every event it receives to the S3 bucket ``esm-log`` of the same
sandbox (through boto3 inside the function), under a key that sorts in invocation order, so a test
reads back exactly what Lambda handed the function. Function code and S3 bytes go to the test
process's own temporary MEDIA_ROOT (tests/lab_plugin.py).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest


ROLE = "arn:aws:iam::123456789012:role/lambda-role"
LOG_BUCKET = "esm-log"

# Records each event; fails the whole batch when a body (or a new image's "note") says "fail",
# and with ReportBatchItemFailures reports the records whose body starts with "bad".
RECORDER = """
import json, time, boto3

s3 = boto3.client("s3")

def _ids(record):
    if "messageId" in record:
        return record["messageId"], record["body"]
    image = record["dynamodb"].get("NewImage") or {}
    return record["dynamodb"]["SequenceNumber"], image.get("note", {}).get("S", "")

def handler(event, context):
    key = "%020d-%s" % (time.time_ns(), context.aws_request_id)
    s3.put_object(Bucket="esm-log", Key=key, Body=json.dumps(event).encode())
    texts = [_ids(record) for record in event["Records"]]
    if any(text == "fail" for _, text in texts):
        raise RuntimeError("told to fail")
    return {"batchItemFailures": [{"itemIdentifier": item} for item, text in texts if text.startswith("bad")]}
"""


def make_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _stop_pollers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Remove the mappings and let in-flight invocations end before the database is flushed."""
    yield
    if "live_lab" not in request.fixturenames:
        return
    from serverless_lab.cloud.esm.models import EventSourceMapping
    from serverless_lab.cloud.lambda_.models import Invocation

    EventSourceMapping.objects.all().delete()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Invocation.objects.filter(status__in=["queued", "running"]).exists():
        time.sleep(0.1)


@pytest.fixture
def lambda_client(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("lambda", cast.sandbox)


@pytest.fixture
def sqs(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("sqs", cast.sandbox)


@pytest.fixture
def s3(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("s3", cast.sandbox)


@pytest.fixture
def ddb(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("dynamodb", cast.sandbox)


@pytest.fixture
def recorder(lambda_client: Any, s3: Any) -> Callable[..., str]:
    """Create the recording function (and its log bucket); returns its ARN."""
    s3.create_bucket(Bucket=LOG_BUCKET)

    def create(name: str = "recorder", **kwargs: Any) -> str:
        params: dict[str, Any] = {"Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE, "Timeout": 5}
        params.update(kwargs)
        response = lambda_client.create_function(FunctionName=name, Code={"ZipFile": make_zip(RECORDER)}, **params)
        return response["FunctionArn"]

    return create


def recorded(s3: Any) -> list[dict[str, Any]]:
    """The events the recorder received, in invocation order."""
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=LOG_BUCKET).get("Contents", []))
    return [json.loads(s3.get_object(Bucket=LOG_BUCKET, Key=key)["Body"].read()) for key in keys]


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")


def queue_depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])
