"""Every SNS delivery is a hop of the Publish call's trace, with its outcome, and the trace goes on
with the message (AWSTraceHeader on SQS, the Lambda invocation's trace header)."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from serverless_lab.cloud.lambda_.models import Invocation
from serverless_lab.tracing.models import Hop


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def hops_of(trace_id: str, count: int, timeout: float = 20.0) -> list[Hop]:
    deadline = time.monotonic() + timeout
    hops: list[Hop] = []
    while time.monotonic() < deadline:
        hops = list(Hop.objects.filter(trace__trace_id=trace_id).order_by("pk"))
        if len(hops) >= count:
            return hops
        time.sleep(0.2)
    raise AssertionError(f"{len(hops)} hops of {count}: {[(h.action, h.to_node, h.status) for h in hops]}")


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def test_each_subscription_gets_a_hop_with_its_outcome(live_lab, cast, sns, sqs, make_queue, drain):
    region, account = cast.sandbox.region, cast.sandbox.account_id
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue("all-orders")
    _, big_arn = make_queue("big-orders")
    dlq_url, dlq_arn = make_queue("orders-dlq")
    gone = f"arn:aws:sqs:{region}:{account}:gone"
    gone_no_dlq = f"arn:aws:sqs:{region}:{account}:gone-too"
    function_arn = live_lab.client("lambda", cast.sandbox).create_function(
        FunctionName="on-order", Runtime="python3.11", Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": zipped("def handler(e, c):\n    return 1\n")},
    )["FunctionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=big_arn,
        Attributes={"FilterPolicy": json.dumps({"amount": [{"numeric": [">", 100]}]})},
    )
    for missing, attributes in ((gone, {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})}), (gone_no_dlq, {})):
        make_queue(missing.rsplit(":", 1)[1])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=missing, Attributes=attributes)
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=missing.rsplit(":", 1)[1])["QueueUrl"])
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)

    sns.publish(
        TopicArn=topic, Message="order 7",
        MessageAttributes={"amount": {"DataType": "Number", "StringValue": "12"}},
    )

    message = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=10, MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"][0]
    root, parent = (part.split("=")[1] for part in message["Attributes"]["AWSTraceHeader"].split(";")[:2])
    hops = hops_of(root, 7)  # sns:Publish + six deliveries
    publish = next(h for h in hops if h.action == "sns:Publish")
    deliveries = {(h.action, h.to_node): h for h in hops if h.action.startswith("sns→")}
    assert {key: (h.status, h.error_code) for key, h in deliveries.items()} == {
        ("sns→sqs deliver", arn): ("ok", ""),
        ("sns→sqs deliver", big_arn): ("filtered-out", ""),
        ("sns→sqs deliver", gone): ("sent-to-DLQ", "AWS.SimpleQueueService.NonExistentQueue"),
        ("sns→sqs deliver", gone_no_dlq): ("error", "AWS.SimpleQueueService.NonExistentQueue"),
        ("sns→sms", "sms:+15555550100"): ("ok", ""),
        ("sns→lambda deliver", function_arn): ("ok", ""),
    }
    assert all(h.parent_hop_id == publish.hop_id and h.from_node == topic for h in deliveries.values())
    assert parent == deliveries[("sns→sqs deliver", arn)].hop_id
    # The dead-lettered copy carries the trace too, with its own hop as the parent.
    dead = drain(dlq_url, 1, raw=True)
    assert json.loads(dead[0]["Body"])["Message"] == "order 7"
    # The function's invocation joins the trace, the delivery hop as its parent.
    lambda_hop = deliveries[("sns→lambda deliver", function_arn)]
    deadline = time.monotonic() + 20
    while not (invocation := Invocation.objects.filter(function__name="on-order").first()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert invocation is not None
    assert f"Root={root}" in invocation.trace_header and f"Parent={lambda_hop.hop_id}" in invocation.trace_header
