"""Sends and receives remember a queue for a second per process (AWS allows far more: attribute
changes may take 60 s to spread); a queue removed by another process meanwhile is still reported
missing, never a server error, and changes made through the API apply at once."""

from __future__ import annotations

import pytest

from serverless_lab.sandboxes.services import sandbox_reset

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_queue_wiped_by_another_process_is_missing_at_once(sqs, cast):
    url = sqs.create_queue(QueueName="wiped")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="remembered")
    sandbox_reset(sandbox=cast.sandbox)  # this test process, not the server: the server's memory is stale
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="too late")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=url)
    url = sqs.create_queue(QueueName="wiped")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new queue")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["new queue"]


def test_attribute_changes_through_the_api_apply_to_the_next_send(sqs):
    url = sqs.create_queue(QueueName="changing")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "900"})
    sqs.send_message(QueueUrl=url, MessageBody="later")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in received] == ["now"]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url.replace("changing", "never-made"), MessageBody="x")
