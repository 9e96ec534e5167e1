"""Prepared "try it" actions: one button in a lesson runs a small, fixed scenario in the student's
sandbox and shows every call it made and the event AWS would emit. They run in the Celery worker,
like grading, through the lab's ``/aws/`` endpoint, so they show up on the sandbox's live events.

A ``try`` block names its action (``action: s3-upload``); a block whose action is not here yet
renders as a "coming soon" placeholder (its service is not in the sandbox yet).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from django.utils.timezone import now

from lessons.checks import account_id

Step = dict[str, str]  # {"call": "PutObject", "detail": "..."}


def _s3_upload(session: Any) -> list[Step]:
    """Upload a small file and show the ObjectCreated:Put record S3 sends its notification targets."""
    s3 = session.client("s3")
    bucket, key = f"try-it-{account_id(session)}", f"uploads/photo-{now():%H%M%S}.txt"
    steps: list[Step] = []
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
        steps.append({"call": "CreateBucket", "detail": bucket})
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"pretend this is a photo", ContentType="text/plain")
    steps.append({"call": "PutObject", "detail": f"s3://{bucket}/{key} (ETag {put['ETag']})"})
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": session.region_name,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 23, "eTag": put["ETag"].strip('"')},
        },
    }
    steps.append({"call": "Event", "detail": json.dumps({"Records": [record]}, indent=2)})
    return steps


_ECHO_FUNCTION = "try-it-echo"
_ECHO_SOURCE = """
def handler(event, context):
    records = event.get("Records", [])
    for record in records:
        print("got", record["eventName"], "for", record["s3"]["object"]["key"])
    return {"records": len(records), "request_id": context.aws_request_id}
"""


def _lambda_s3_event(session: Any) -> list[Step]:
    """Invoke a small echo function with a prepared S3 "object created" event, as S3 would."""
    client = session.client("lambda")
    steps: list[Step] = []
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    if _ECHO_FUNCTION not in names:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", _ECHO_SOURCE)
        client.create_function(
            FunctionName=_ECHO_FUNCTION,
            Runtime="python3.12",
            Handler="app.handler",
            Role=f"arn:aws:iam::{account_id(session)}:role/try-it",
            Code={"ZipFile": buffer.getvalue()},
        )
        steps.append({"call": "CreateFunction", "detail": f"{_ECHO_FUNCTION} (python3.12, app.handler)"})
    bucket = f"uploads-{account_id(session)}"
    event = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": "photos/cat.jpg", "size": 48213}},
            }
        ]
    }
    steps.append({"call": "Event", "detail": json.dumps(event, indent=2)})
    response = client.invoke(FunctionName=_ECHO_FUNCTION, Payload=json.dumps(event).encode(), LogType="Tail")
    payload = response["Payload"].read().decode(errors="replace")
    steps.append({"call": "Invoke", "detail": f"status {response['StatusCode']}: {payload}"})
    if log := response.get("LogResult"):
        steps.append({"call": "Logs", "detail": base64.b64decode(log).decode(errors="replace").strip()})
    return steps


def _queue(sqs: Any, name: str, steps: list[Step], attributes: dict[str, str] | None = None) -> tuple[str, str]:
    """Create (or find: CreateQueue is idempotent) a queue; returns its URL and ARN."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    steps.append({"call": "CreateQueue", "detail": url})
    return url, arn


def _receive(sqs: Any, url: str, *, wait: int = 5) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", []))


def _sns_fanout(session: Any) -> list[Step]:
    """Publish once to a topic with two subscribed queues and show the copy each queue received."""
    sns, sqs = session.client("sns"), session.client("sqs")
    steps: list[Step] = []
    topic = sns.create_topic(Name="try-it-orders")["TopicArn"]
    steps.append({"call": "CreateTopic", "detail": topic})
    queues = {}
    for name in ("try-it-billing", "try-it-shipping"):
        url, arn = _queue(sqs, name, steps)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        steps.append({"call": "Subscribe", "detail": f"{name} (sqs) to try-it-orders"})
        queues[name] = url
    message = json.dumps({"order_id": f"o-{now():%H%M%S}", "total": 42})
    published = sns.publish(TopicArn=topic, Message=message, Subject="OrderPlaced")
    steps.append({"call": "Publish", "detail": f"{message} (MessageId {published['MessageId']})"})
    for name, url in queues.items():
        received = [m for m in _receive(sqs, url) if published["MessageId"] in m["Body"]]
        for item in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=item["ReceiptHandle"])
        if received:
            steps.append({"call": "ReceiveMessage", "detail": f"{name} got its copy:"})
            steps.append({"call": "Event", "detail": json.dumps(json.loads(received[0]["Body"]), indent=2)})
        else:
            steps.append({"call": "ReceiveMessage", "detail": f"{name}: nothing yet (delivery is asynchronous)"})
    return steps


def _sqs_dead_letter(session: Any) -> list[Step]:
    """Receive a message without deleting it until SQS moves it to the dead-letter queue."""
    sqs = session.client("sqs")
    steps: list[Step] = []
    dlq_url, dlq_arn = _queue(sqs, "try-it-jobs-dlq", steps)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, _ = _queue(sqs, "try-it-jobs", steps, {"RedrivePolicy": policy})
    steps[-1]["detail"] += f" with RedrivePolicy {policy}"
    body = json.dumps({"job": f"j-{now():%H%M%S}", "poison": True})
    sqs.send_message(QueueUrl=url, MessageBody=body)
    steps.append({"call": "SendMessage", "detail": body})
    for attempt in (1, 2, 3):
        got = [
            m
            for m in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"]
            ).get("Messages", [])
            if m["Body"] == body
        ]
        if got:
            count = got[0]["Attributes"]["ApproximateReceiveCount"]
            detail = f"receive {attempt}: got it (receive count {count}), crashed, did not delete it"
        else:
            detail = f"receive {attempt}: empty, the message is no longer in try-it-jobs"
        steps.append({"call": "ReceiveMessage", "detail": detail})
    moved = [m for m in _receive(sqs, dlq_url, wait=2) if m["Body"] == body]
    for item in moved:
        sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=item["ReceiptHandle"])
    where = "found it in try-it-jobs-dlq" if moved else "not in try-it-jobs-dlq yet"
    steps.append({"call": "ReceiveMessage", "detail": f"dead-letter queue: {where}"})
    return steps


ACTIONS: dict[str, Callable[[Any], list[Step]]] = {
    "s3-upload": _s3_upload,
    "lambda-s3-event": _lambda_s3_event,
    "sns-fanout": _sns_fanout,
    "sqs-dead-letter": _sqs_dead_letter,
}
