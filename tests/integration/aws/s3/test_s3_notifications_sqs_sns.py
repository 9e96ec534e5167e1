"""S3 event notifications to SQS queues and SNS topics: S3's record, filters, the test event, the
destination check, and the hops that carry the writer's trace along."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from serverless_lab.tracing.models import Hop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def receive(sqs: Any, url: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2, MessageSystemAttributeNames=["All"]
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(message)
    return got


def wait_for_hops(timeout: float = 10.0, **filters: Any) -> list[Hop]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hops = list(Hop.objects.filter(**filters).select_related("trace").order_by("pk"))
        if hops:
            return hops
        time.sleep(0.2)
    seen = list(Hop.objects.values_list("action", "trace__trace_id", "status"))
    raise AssertionError(f"no hop matching {filters}: {seen}")


@pytest.fixture
def clients(live_lab: Any, cast: Any) -> tuple[Any, Any, Any]:
    return (
        live_lab.client("s3", cast.sandbox),
        live_lab.client("sqs", cast.sandbox),
        live_lab.client("sns", cast.sandbox),
    )


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_a_missing_destination_is_refused_as_aws_does(clients, cast):
    s3, sqs, sns = clients
    s3.create_bucket(Bucket="checked")
    missing = f"arn:aws:sqs:{cast.sandbox.region}:{cast.sandbox.account_id}:no-such-queue"
    missing_topic = f"arn:aws:sns:{cast.sandbox.region}:{cast.sandbox.account_id}:no-such-topic"
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_notification_configuration(
            Bucket="checked",
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": missing, "Events": ["s3:ObjectCreated:*"]}],
                "TopicConfigurations": [{"TopicArn": missing_topic, "Events": ["s3:ObjectCreated:*"]}],
            },
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"] == "Unable to validate the following destination configurations"
    assert {error["ArgumentName1"], error["ArgumentName2"]} == {missing, missing_topic}
    # Nothing was stored.
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="checked")


def test_an_upload_lands_in_the_queue_as_s3s_record_with_the_trace(clients, cast):
    s3, sqs, _ = clients
    url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    arn = queue_arn(sqs, url)
    s3.create_bucket(Bucket="photos")
    s3.put_bucket_notification_configuration(
        Bucket="photos",
        NotificationConfiguration={"QueueConfigurations": [{
            "Id": "jpegs-to-sqs",
            "QueueArn": arn,
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [
                {"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".jpg"},
            ]}},
        }]},
    )
    test_event = json.loads(receive(sqs, url, 1)[0]["Body"])
    assert test_event["Service"] == "Amazon S3" and test_event["Event"] == "s3:TestEvent"
    assert test_event["Bucket"] == "photos"

    s3.put_object(Bucket="photos", Key="in/notes.txt", Body=b"wrong suffix")
    s3.put_object(Bucket="photos", Key="out/cat.jpg", Body=b"wrong prefix")
    put = s3.put_object(Bucket="photos", Key="in/my cat.jpg", Body=b"meow")

    messages = receive(sqs, url, 1)
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["configurationId"] == "jpegs-to-sqs"
    assert record["s3"]["bucket"]["name"] == "photos"
    assert record["s3"]["object"]["key"] == "in/my+cat.jpg"
    assert record["s3"]["object"]["size"] == 4
    assert record["s3"]["object"]["eTag"] == put["ETag"].strip('"')
    assert receive(sqs, url, 1, timeout=2) == []  # the filtered keys never came

    # The delivery is a hop of the PutObject call's trace, and the message carries that trace on.
    trace_header = messages[0]["Attributes"]["AWSTraceHeader"]
    root = trace_header.split(";")[0].removeprefix("Root=")
    parent = trace_header.split(";")[1].removeprefix("Parent=")
    hop = wait_for_hops(action="s3 notification", trace__trace_id=root)[0]
    assert (hop.from_node, hop.to_node, hop.status) == ("arn:aws:s3:::photos", arn, "ok")
    assert hop.hop_id == parent
    put_hop = wait_for_hops(action="s3:PutObject", trace__trace_id=root)[0]
    assert hop.parent_hop_id == put_hop.hop_id


def test_s3_to_sns_to_sqs_delivers_the_record_inside_the_sns_envelope(clients, cast):
    s3, sqs, sns = clients
    topic = sns.create_topic(Name="bucket-events")["TopicArn"]
    url = sqs.create_queue(QueueName="from-topic")["QueueUrl"]
    arn = queue_arn(sqs, url)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    s3.create_bucket(Bucket="docs")
    s3.put_bucket_notification_configuration(
        Bucket="docs",
        NotificationConfiguration={"TopicConfigurations": [{
            "Id": "removals", "TopicArn": topic, "Events": ["s3:ObjectRemoved:*"],
        }]},
    )
    test_envelope = json.loads(receive(sqs, url, 1)[0]["Body"])
    assert test_envelope["Subject"] == "Amazon S3 Notification"
    assert json.loads(test_envelope["Message"])["Event"] == "s3:TestEvent"

    s3.put_object(Bucket="docs", Key="report.pdf", Body=b"%PDF")  # a creation: not configured
    s3.delete_object(Bucket="docs", Key="report.pdf")

    messages = receive(sqs, url, 1)
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert envelope["Subject"] == "Amazon S3 Notification"
    record = json.loads(envelope["Message"])["Records"][0]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["s3"]["object"]["key"] == "report.pdf"
    assert receive(sqs, url, 1, timeout=2) == []

    # One trace: DeleteObject → s3 notification (bucket → topic) → sns→sqs deliver (topic → queue).
    root = messages[0]["Attributes"]["AWSTraceHeader"].split(";")[0].removeprefix("Root=")
    delete_hop = wait_for_hops(action="s3:DeleteObject", trace__trace_id=root)[0]
    s3_hop = wait_for_hops(action="s3 notification", trace__trace_id=root)[0]
    sns_hop = wait_for_hops(action="sns→sqs deliver", trace__trace_id=root)[0]
    assert (s3_hop.from_node, s3_hop.to_node) == ("arn:aws:s3:::docs", topic)
    assert (sns_hop.from_node, sns_hop.to_node, sns_hop.status) == (topic, arn, "ok")
    assert s3_hop.parent_hop_id == delete_hop.hop_id
    assert sns_hop.parent_hop_id == s3_hop.hop_id


def test_a_queue_deleted_after_configuration_gets_an_error_hop(clients, cast):
    s3, sqs, _ = clients
    url = sqs.create_queue(QueueName="short-lived")["QueueUrl"]
    arn = queue_arn(sqs, url)
    s3.create_bucket(Bucket="orphan")
    s3.put_bucket_notification_configuration(
        Bucket="orphan",
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"]}]},
    )
    assert len(receive(sqs, url, 1)) == 1  # the test event
    sqs.delete_queue(QueueUrl=url)
    s3.put_object(Bucket="orphan", Key="a.txt", Body=b"a")
    hop = wait_for_hops(action="s3 notification", to_node=arn, status="error")[0]
    assert hop.error_code == "AWS.SimpleQueueService.NonExistentQueue"


def test_the_lambda_invocation_joins_the_writers_trace(live_lab, clients, cast):
    import io
    import zipfile

    from serverless_lab.cloud.lambda_.models import Invocation

    s3, _, _ = clients
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return event['Records'][0]['eventName']\n")
    function = live_lab.client("lambda", cast.sandbox).create_function(
        FunctionName="on-put", Runtime="python3.11", Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": archive.getvalue()},
    )
    s3.create_bucket(Bucket="traced")
    s3.put_bucket_notification_configuration(
        Bucket="traced",
        NotificationConfiguration={"LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]},
        ]},
    )
    s3.put_object(Bucket="traced", Key="k", Body=b"v")
    hop = wait_for_hops(action="s3 notification", to_node=function["FunctionArn"])[0]
    assert hop.status == "ok" and hop.from_node == "arn:aws:s3:::traced"
    deadline = time.monotonic() + 20
    while not (invocation := Invocation.objects.filter(function__name="on-put").first()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert invocation is not None
    assert invocation.trace_header.startswith(f"Root={hop.trace.trace_id};Parent={hop.hop_id}")
