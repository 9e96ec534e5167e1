"""SQS's query protocol, as older SDKs speak it: form posts (to ``/`` or to the queue URL itself),
SigV4-signed with botocore's own signer, answered in XML; and boto3 forced onto the query protocol."""

from __future__ import annotations

import copy
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from serverless_lab.cloud.core.protocol.query_compat import query_view

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


class QueryClient:
    """Signed ``Action=…`` form posts, the way query-era SDKs send them."""

    def __init__(self, endpoint: str, sandbox: Any) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.credentials = Credentials(sandbox.access_key_id, sandbox.secret_access_key)
        self.region = sandbox.region

    def call(self, action: str, path: str = "/", **params: str) -> tuple[int, ElementTree.Element]:
        body = urlencode({"Action": action, "Version": "2012-11-05", **params})
        request = AWSRequest(
            method="POST",
            url=self.endpoint + path,
            data=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(self.credentials, "sqs", self.region).add_auth(request)
        prepared = request.prepare()
        http = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
        try:
            with urllib.request.urlopen(http, timeout=30) as response:
                return response.status, ElementTree.fromstring(response.read())
        except urllib.error.HTTPError as error:
            return error.code, ElementTree.fromstring(error.read())


def text(element: ElementTree.Element, path: str) -> str:
    found = element.find("/".join(NS + part for part in path.split("/")))
    assert found is not None, f"{path} missing in {ElementTree.tostring(element)[:400]!r}"
    return found.text or ""


def test_an_old_sdk_runs_the_main_operations_over_the_query_protocol(live_lab, cast, sqs):
    client = QueryClient(live_lab.endpoint_url, cast.sandbox)

    status, created = client.call(
        "CreateQueue", QueueName="legacy", **{"Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45"},
        **{"Tag.1.Key": "team", "Tag.1.Value": "ops"},
    )
    assert status == 200 and created.tag == f"{NS}CreateQueueResponse"
    url = text(created, "CreateQueueResult/QueueUrl")
    assert url.endswith(f"/{cast.sandbox.account_id}/legacy")
    path = "/" + url.split("/", 3)[3].split("/", 1)[1]  # /<account>/<name> under the endpoint

    # SendMessage posted to the queue URL itself (Java SDK v1, boto2), QueueUrl implied by the path.
    status, sent = client.call(
        "SendMessage", path=path, MessageBody="hello from 2012",
        **{"MessageAttribute.1.Name": "color", "MessageAttribute.1.Value.DataType": "String",
           "MessageAttribute.1.Value.StringValue": "red"},
    )
    assert status == 200
    assert text(sent, "SendMessageResult/MD5OfMessageBody") == hashlib.md5(b"hello from 2012").hexdigest()
    assert text(sent, "SendMessageResult/MD5OfMessageAttributes")
    status, batch = client.call(
        "SendMessageBatch", QueueUrl=url,
        **{"SendMessageBatchRequestEntry.1.Id": "a", "SendMessageBatchRequestEntry.1.MessageBody": "one",
           "SendMessageBatchRequestEntry.2.Id": "b", "SendMessageBatchRequestEntry.2.MessageBody": "two",
           "SendMessageBatchRequestEntry.3.Id": "c", "SendMessageBatchRequestEntry.3.MessageBody": "late",
           "SendMessageBatchRequestEntry.3.DelaySeconds": "901"},
    )
    assert status == 200
    ok = [text(e, "Id") for e in batch.iter(f"{NS}SendMessageBatchResultEntry")]
    failed = [(text(e, "Id"), text(e, "Code")) for e in batch.iter(f"{NS}BatchResultErrorEntry")]
    assert ok == ["a", "b"] and failed == [("c", "InvalidParameterValue")]

    status, attributes = client.call(
        "GetQueueAttributes", QueueUrl=url, **{"AttributeName.1": "VisibilityTimeout", "AttributeName.2": "ApproximateNumberOfMessages"}
    )
    got = {text(a, "Name"): text(a, "Value") for a in attributes.iter(f"{NS}Attribute")}
    assert got == {"VisibilityTimeout": "45", "ApproximateNumberOfMessages": "3"}

    status, received = client.call(
        "ReceiveMessage", QueueUrl=url, MaxNumberOfMessages="10", WaitTimeSeconds="1",
        **{"AttributeName.1": "All", "MessageAttributeName.1": "All"},
    )
    messages = list(received.iter(f"{NS}Message"))
    assert sorted(text(m, "Body") for m in messages) == ["hello from 2012", "one", "two"]
    first = next(m for m in messages if text(m, "Body") == "hello from 2012")
    system = {text(a, "Name"): text(a, "Value") for a in first.findall(f"{NS}Attribute")}
    assert system["ApproximateReceiveCount"] == "1"
    assert text(first, "MessageAttribute/Name") == "color"
    assert text(first, "MessageAttribute/Value/StringValue") == "red"
    for message in messages:
        status, _ = client.call("DeleteMessage", path=path, ReceiptHandle=text(message, "ReceiptHandle"))
        assert status == 200

    # The JSON-protocol client sees the same queue (its tag too) and nothing left in it.
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ops"}
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    status, listed = client.call("ListQueues", QueueNamePrefix="leg")
    assert [e.text for e in listed.iter(f"{NS}QueueUrl")] == [url]


def test_query_errors_come_back_as_sqs_error_xml(live_lab, cast):
    client = QueryClient(live_lab.endpoint_url, cast.sandbox)
    status, error = client.call("GetQueueUrl", QueueName="nope")
    assert status == 400 and error.tag == f"{NS}ErrorResponse"
    assert text(error, "Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(error, "Error/Type") == "Sender"
    assert text(error, "RequestId")
    status, error = client.call("FlyToTheMoon")
    assert status == 400 and text(error, "Error/Code") == "InvalidAction"
    client.credentials = Credentials(cast.sandbox.access_key_id, "not-the-secret")
    status, error = client.call("ListQueues")
    assert status == 403 and text(error, "Error/Code") == "SignatureDoesNotMatch"


@pytest.fixture
def query_boto3(live_lab: Any, cast: Any, tmp_path: Path) -> Any:
    """boto3's sqs client built from the lab's query view of the model: botocore's own query
    serialiser and XML parser, as boto3 before 1.31 used them."""
    model = copy.deepcopy(query_view("sqs")._service_description)
    folder = tmp_path / "sqs" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path))
    sandbox = cast.sandbox
    return boto3.Session(botocore_session=session).client(
        "sqs", endpoint_url=live_lab.endpoint_url, region_name=sandbox.region,
        aws_access_key_id=sandbox.access_key_id, aws_secret_access_key=sandbox.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def test_boto3_forced_onto_the_query_protocol_works_unchanged(query_boto3):
    sqs = query_boto3
    assert sqs.meta.service_model.protocol == "query"
    url = sqs.create_queue(QueueName="forced", Attributes={"DelaySeconds": "0"})["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="x",
        MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"},
                           "tags": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    )
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "x"
    assert message["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "7"}
    assert message["MessageAttributes"]["tags"]["BinaryValue"] == b"\x00\x01"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")
