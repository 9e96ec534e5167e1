"""A synchronous Invoke uses what the web and worker processes cached about the function, so every
change made through the API must be seen by the very next invoke; and its Invocation row, written by
the worker, is complete when Invoke returns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.lambda_.models import Invocation

from .conftest import make_zip

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOURCE = "import os\ndef handler(event, context):\n    return {'v': os.environ.get('VAL'), 'code': CODE}\nCODE = %r\n"


def call(client: Any, name: str, **kwargs: Any) -> Any:
    response = client.invoke(FunctionName=name, Payload=b"{}", **kwargs)
    return json.loads(response["Payload"].read())


def error_code(client: Any, name: str, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Payload=b"{}", **kwargs)
    return caught.value.response["Error"]["Code"]


def test_each_change_of_the_function_is_seen_by_the_next_invoke(lambda_client, create_python):
    create_python("changing", SOURCE % "one", Environment={"Variables": {"VAL": "a"}})
    for _ in range(3):  # both worker processes, and the web process, have it cached
        assert call(lambda_client, "changing") == {"v": "a", "code": "one"}

    lambda_client.update_function_configuration(FunctionName="changing", Environment={"Variables": {"VAL": "b"}})
    assert call(lambda_client, "changing") == {"v": "b", "code": "one"}
    lambda_client.update_function_code(FunctionName="changing", ZipFile=make_zip({"app.py": SOURCE % "two"}))
    assert call(lambda_client, "changing") == {"v": "b", "code": "two"}

    lambda_client.publish_version(FunctionName="changing")
    lambda_client.create_alias(FunctionName="changing", Name="live", FunctionVersion="1")
    assert call(lambda_client, "changing", Qualifier="live") == {"v": "b", "code": "two"}
    lambda_client.update_function_configuration(FunctionName="changing", Environment={"Variables": {"VAL": "c"}})
    assert call(lambda_client, "changing", Qualifier="live") == {"v": "b", "code": "two"}
    lambda_client.update_alias(FunctionName="changing", Name="live", FunctionVersion="$LATEST")
    assert call(lambda_client, "changing", Qualifier="live") == {"v": "c", "code": "two"}
    lambda_client.delete_alias(FunctionName="changing", Name="live")
    assert error_code(lambda_client, "changing", Qualifier="live") == "ResourceNotFoundException"

    lambda_client.put_function_concurrency(FunctionName="changing", ReservedConcurrentExecutions=0)
    assert error_code(lambda_client, "changing") == "TooManyRequestsException"
    lambda_client.delete_function_concurrency(FunctionName="changing")
    assert call(lambda_client, "changing") == {"v": "c", "code": "two"}

    lambda_client.delete_function(FunctionName="changing")
    assert error_code(lambda_client, "changing") == "ResourceNotFoundException"
    create_python("changing", SOURCE % "three")
    assert call(lambda_client, "changing") == {"v": None, "code": "three"}


def test_the_worker_writes_the_row_complete_before_the_caller_is_answered(lambda_client, create_python):
    create_python("recorded", SOURCE % "one")
    response = lambda_client.invoke(FunctionName="recorded", Payload=json.dumps({"n": 1}))
    row = Invocation.objects.get(request_id=response["ResponseMetadata"]["RequestId"])
    assert (row.status, row.invocation_type, row.attempt, row.version) == ("succeeded", "RequestResponse", 1, "$LATEST")
    assert row.created_at == row.started_at < row.finished_at  # created when the call was accepted
    assert row.request_preview == '{"n": 1}' and json.loads(row.response_preview)["code"] == "one"
    assert row.trace_header.startswith("Root=1-") and row.log_stream and "REPORT RequestId" in row.log_text
