"""SQS and SNS activity shows in the sandbox page's live panel (a real WebSocket client)."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def messages(socket, count: int) -> list[dict]:
    got = []
    while len(got) < count:
        message = json.loads(socket.recv(timeout=15))
        if message["type"] == "message" and message.get("kind") in ("sqs", "sns"):
            got.append(message)
    return got


def test_send_publish_and_delivery_are_broadcast(live_lab, cast, client, sqs, sns, make_queue):
    client.force_login(cast.alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url, arn = make_queue("panel")
    topic = sns.create_topic(Name="panel")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    socket_url = f"{live_lab.ws_url}/ws/sandboxes/{cast.sandbox.pk}/events/"
    with connect(socket_url, additional_headers={"Cookie": cookie}, origin=live_lab.url) as socket:
        sqs.send_message(QueueUrl=url, MessageBody="hello")
        sns.publish(TopicArn=topic, Message="fan out")
        texts = [m["text"] for m in messages(socket, 4)]
    assert any(t.startswith("SQS message") and "sent to panel" in t for t in texts)
    assert any(t.startswith("SNS message") and "published to panel" in t for t in texts)
    assert any(t.startswith("SNS delivered") for t in texts)
