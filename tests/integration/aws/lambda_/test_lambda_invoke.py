"""Invoke through boto3 over real HTTP, run by a real Celery worker in isolated execution environments."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.lambda_.models import Invocation
from serverless_lab.sandboxes.services import sandbox_create

from .conftest import ROLE, make_zip

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ECHO = """
import os

print("module loaded")

def handler(event, context):
    print("got", event)
    return {"event": event, "greeting": os.environ.get("GREETING"), "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "custom": context.client_context.custom if context.client_context else None}
"""


def invoke(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def wait_for_logs(logs: Any, group: str, pattern: str, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        if len(events) >= count:
            return events
        time.sleep(0.2)
    raise AssertionError(f"expected {count} events matching {pattern!r} in {group}, saw {events}")


def test_request_response_with_env_vars_and_log_tail(lambda_client, create_python):
    create_python("echo", ECHO, Environment={"Variables": {"GREETING": "hello"}})
    client_context = base64.b64encode(json.dumps({"custom": {"lesson": "2"}}).encode()).decode()
    response, body = invoke(lambda_client, "echo", {"n": 1}, LogType="Tail", ClientContext=client_context)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"n": 1} and body["greeting"] == "hello"
    assert body["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert 0 < body["remaining_ms"] <= 3000
    assert body["custom"] == {"lesson": "2"}
    log = base64.b64decode(response["LogResult"]).decode()
    assert "module loaded" in log and "got {'n': 1}" in log
    assert f"START RequestId: {body['request_id']} Version: $LATEST" in log
    assert f"END RequestId: {body['request_id']}" in log
    report = next(line for line in log.splitlines() if line.startswith("REPORT"))
    assert "Billed Duration:" in report and "Memory Size: 128 MB" in report and "Init Duration:" in report

    # Two worker processes keep one environment each: by the third invoke at least one call is warm.
    reports = []
    for n in (2, 3):
        response, body = invoke(lambda_client, "echo", {"n": n}, LogType="Tail")
        log = base64.b64decode(response["LogResult"]).decode()
        reports.append(next(line for line in log.splitlines() if line.startswith("REPORT")))
    assert any("Init Duration" not in report for report in reports)
    rows = list(Invocation.objects.filter(function__name="echo").order_by("created_at"))
    assert [row.status for row in rows] == ["succeeded"] * 3
    assert rows[0].cold and False in [row.cold for row in rows]
    assert all((row.init_duration_ms is not None) == row.cold for row in rows)
    assert all(row.billed_duration_ms >= 1 and row.max_memory_used_mb >= 1 for row in rows)


def test_unhandled_error_has_lambdas_format(lambda_client, create_python):
    create_python("broken", "def handler(event, context):\n    raise ValueError('bad input: ' + str(event['x']))\n")
    response, body = invoke(lambda_client, "broken", {"x": 42})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert body["errorMessage"] == "bad input: 42" and body["errorType"] == "ValueError"
    assert isinstance(body["stackTrace"], list) and any("raise ValueError" in line for line in body["stackTrace"])


def test_timeout(lambda_client, create_python):
    create_python("sleepy", "import time\ndef handler(event, context):\n    time.sleep(5)\n", Timeout=1)
    response, body = invoke(lambda_client, "sleepy", LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(response["LogResult"]).decode()
    assert Invocation.objects.get(function__name="sleepy").status == "timed_out"


def test_functions_that_hang_end_at_their_timeout_and_free_the_runtime_workers_threads(lambda_client, create_python):
    # The runtime worker's thread pool enforces no Celery time limit: the environment's own kill at the
    # function's Timeout must end each invocation, here as many at once as the worker has threads.
    create_python("hung", "def handler(event, context):\n    while True:\n        pass\n", Timeout=1)
    create_python("after", "def handler(event, context):\n    return 'still serving'\n")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda _: invoke(lambda_client, "hung"), range(2)))
    assert all("Task timed out after 1.00 seconds" in body["errorMessage"] for _, body in outcomes)
    assert time.monotonic() - started < 20
    assert invoke(lambda_client, "after")[1] == "still serving"
    assert sorted(Invocation.objects.filter(function__name="hung").values_list("status", flat=True)) == ["timed_out"] * 2


def test_one_runtime_worker_process_keeps_the_warm_environment_for_every_thread(lambda_client, create_python):
    create_python("shared", "def handler(event, context):\n    return 1\n")
    for _ in range(6):
        invoke(lambda_client, "shared")
    colds = list(Invocation.objects.filter(function__name="shared").values_list("cold", flat=True))
    assert sorted(colds) == [False] * 5 + [True]


def test_a_synchronous_invoke_may_run_longer_than_the_redis_clients_default_timeout(lambda_client, create_python):
    # redis-py's asyncio client times reads out after 5 s by default; the wait for the result must not.
    create_python("patient", "import time\ndef handler(event, context):\n    time.sleep(6)\n    return 'done'\n", Timeout=10)
    response, body = invoke(lambda_client, "patient")
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body == "done"


def test_event_invoke_returns_202_and_runs(live_lab, lambda_client, create_python, cast):
    create_python("background", "def handler(event, context):\n    print('EFFECT', event['marker'])\n")
    response = lambda_client.invoke(
        FunctionName="background", InvocationType="Event", Payload=json.dumps({"marker": "m-7"})
    )
    assert response["StatusCode"] == 202
    events = wait_for_logs(live_lab.client("logs", cast.sandbox), "/aws/lambda/background", '"EFFECT m-7"', 1)
    assert events[0]["logStreamName"].split("/")[-1].startswith("[$LATEST]")


def test_event_invoke_is_retried_twice_on_error(live_lab, lambda_client, create_python, cast):
    create_python("flaky", "def handler(event, context):\n    print('ATTEMPT')\n    raise RuntimeError('nope')\n")
    response = lambda_client.invoke(FunctionName="flaky", InvocationType="Event", Payload=b"{}")
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = live_lab.client("logs", cast.sandbox)
    starts = wait_for_logs(logs, "/aws/lambda/flaky", f'"START RequestId: {request_id}"', 3)
    assert len(starts) == 3
    rows = Invocation.objects.filter(request_id=request_id).order_by("attempt")
    assert [(row.attempt, row.status) for row in rows] == [(1, "failed"), (2, "failed"), (3, "failed")]


def test_reserved_concurrency_throttles_overlapping_invokes(lambda_client, create_python):
    create_python("single", "import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'done'\n")
    lambda_client.put_function_concurrency(FunctionName="single", ReservedConcurrentExecutions=1)
    invoke(lambda_client, "single")  # warm up, so both calls below overlap for most of their run

    def call(_: int) -> Any:
        try:
            return invoke(lambda_client, "single")[1]
        except ClientError as error:
            return error.response

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(call, range(2)))
    throttled = [o for o in outcomes if isinstance(o, dict) and "Error" in o]
    assert len(throttled) == 1 and "done" in outcomes
    assert throttled[0]["Error"]["Code"] == "TooManyRequestsException"
    assert throttled[0]["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert throttled[0]["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_throttled_event_invoke_waits_and_runs(live_lab, lambda_client, create_python, cast):
    source = "import time\ndef handler(event, context):\n    print('RAN', event['n'])\n    time.sleep(event['sleep'])\n"
    create_python("queued", source)
    lambda_client.put_function_concurrency(FunctionName="queued", ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(invoke, lambda_client, "queued", {"n": 1, "sleep": 1.5})
        time.sleep(0.5)
        response = lambda_client.invoke(
            FunctionName="queued", InvocationType="Event", Payload=json.dumps({"n": 2, "sleep": 0})
        )
        assert response["StatusCode"] == 202
        busy.result()
    wait_for_logs(live_lab.client("logs", cast.sandbox), "/aws/lambda/queued", '"RAN 2"', 1)
    row = Invocation.objects.get(request_id=response["ResponseMetadata"]["RequestId"])
    assert row.status == "succeeded" and row.attempt == 1


def test_nodejs_runtime(lambda_client):
    source = "exports.handler = async (event, context) => ({ sum: event.a + event.b, fn: context.functionName });\n"
    lambda_client.create_function(
        FunctionName="node-add",
        Runtime="nodejs20.x",
        Handler="index.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip({"index.js": source})},
    )
    response, body = invoke(lambda_client, "node-add", {"a": 2, "b": 3})
    assert "FunctionError" not in response and body == {"sum": 5, "fn": "node-add"}


def test_nodejs_fetch_reaches_the_sandbox_endpoint(lambda_client):
    # Node's fetch parses HTTP with WebAssembly, whose memory must fit under the address-space limit.
    source = (
        "exports.handler = async () => {\n"
        "  const r = await fetch(process.env.AWS_ENDPOINT_URL);\n"
        "  return { status: r.status };\n"
        "};\n"
    )
    lambda_client.create_function(
        FunctionName="node-fetch", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
        Code={"ZipFile": make_zip({"index.js": source})},
    )
    response, body = invoke(lambda_client, "node-fetch")
    assert "FunctionError" not in response, body
    assert isinstance(body["status"], int) and body["status"] >= 200


BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/next")"
  REQUEST_ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d: -f2 | tr -d '[:space:]')"
  echo "custom runtime handling $REQUEST_ID"
  curl -sS -o /dev/null -X POST "$API/$REQUEST_ID/response" -d "{\\"echo\\": $EVENT}"
done
"""


def test_provided_runtime_speaks_the_runtime_api(lambda_client):
    lambda_client.create_function(
        FunctionName="custom",
        Runtime="provided.al2023",
        Handler="unused",
        Role=ROLE,
        Code={"ZipFile": make_zip({"bootstrap": BOOTSTRAP}, executable=("bootstrap",))},
    )
    response, body = invoke(lambda_client, "custom", {"hi": "there"}, LogType="Tail")
    assert "FunctionError" not in response and body == {"echo": {"hi": "there"}}
    assert "custom runtime handling" in base64.b64decode(response["LogResult"]).decode()


def test_boto3_inside_the_function_reaches_this_sandbox(lambda_client, create_python, cast):
    source = (
        "import boto3\ndef handler(event, context):\n    return boto3.client('sts').get_caller_identity()['Account']\n"
    )
    create_python("whoami", source, Timeout=15)
    response, body = invoke(lambda_client, "whoami")
    assert "FunctionError" not in response, body
    assert body == cast.sandbox.account_id


def test_qualifiers_dry_run_and_limits(lambda_client, create_python):
    create_python("staged", "def handler(event, context):\n    return 'v1'\n")
    lambda_client.publish_version(FunctionName="staged")
    lambda_client.create_alias(FunctionName="staged", Name="prod", FunctionVersion="1")
    lambda_client.update_function_code(
        FunctionName="staged", ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    )
    assert invoke(lambda_client, "staged")[1] == "v2"
    response, body = invoke(lambda_client, "staged", Qualifier="prod")
    assert body == "v1" and response["ExecutedVersion"] == "1"
    assert invoke(lambda_client, "staged:1")[1] == "v1"
    assert lambda_client.invoke(FunctionName="staged", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="staged", Payload=json.dumps({"pad": "x" * (6 * 1024 * 1024)}))
    assert excinfo.value.response["Error"]["Code"] == "RequestTooLargeException"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="staged", Payload=b"{not json")
    assert excinfo.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.invoke(FunctionName="staged", Payload=b"{}", ClientContext="not base64!")
    assert excinfo.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_another_sandbox_cannot_invoke(live_lab, lambda_client, create_python, cast):
    create_python("mine", "def handler(event, context):\n    return 1\n")
    other = live_lab.client("lambda", sandbox_create(owner=cast.charlie, name="charlie-box"))
    arn = f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:mine"
    for name in ("mine", arn):
        with pytest.raises(ClientError) as excinfo:
            other.invoke(FunctionName=name, Payload=b"{}")
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert not Invocation.objects.exists()
