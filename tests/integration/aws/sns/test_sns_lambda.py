"""SNS → Lambda: a subscribed function runs asynchronously with the SNS event record."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from serverless_lab.cloud.lambda_.models import Invocation


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

HANDLER = """
def handler(event, context):
    record = event["Records"][0]
    return {"source": record["EventSource"], "subject": record["Sns"]["Subject"], "message": record["Sns"]["Message"]}
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def test_publish_invokes_a_subscribed_function(live_lab, cast, sns):
    functions = live_lab.client("lambda", cast.sandbox)
    arn = functions.create_function(
        FunctionName="on-order",
        Runtime="python3.11",
        Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role",
        Code={"ZipFile": zipped(HANDLER)},
    )["FunctionArn"]
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="order 42", Subject="new order")
    deadline = time.monotonic() + 30
    invocation = None
    while time.monotonic() < deadline:
        invocation = Invocation.objects.filter(function__name="on-order").first()
        if invocation is not None and invocation.status not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert invocation is not None and invocation.invocation_type == "Event"
    assert invocation.status == "succeeded", invocation.log_text
    assert json.loads(invocation.response_preview) == {
        "source": "aws:sns",
        "subject": "new order",
        "message": "order 42",
    }
