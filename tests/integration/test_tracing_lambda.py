"""Trace propagation through Lambda: the invoke's hop becomes the parent the function sees, and
boto3 calls from inside the function join the caller's trace."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

from serverless_lab.tracing.ids import parse_header
from serverless_lab.tracing.models import Hop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
CALLER_PARENT = "53995c3f42cd8ad8"
ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def create_function(client, name: str, source: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": buffer.getvalue()},
        Timeout=20,
    )


def traced(client):
    header = f"Root={ROOT};Parent={CALLER_PARENT};Sampled=1"
    client.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", header)
    )
    return client


def hops_of_trace(sandbox, count: int, timeout: float = 20) -> list[Hop]:
    deadline = time.monotonic() + timeout
    rows: list[Hop] = []
    while time.monotonic() < deadline:
        rows = list(Hop.objects.filter(sandbox=sandbox, trace__trace_id=ROOT).order_by("started_at"))
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"expected {count} hops in the trace, found {[h.action for h in rows]}")


def settle(sandbox) -> None:
    """Let the invocation finish before the test's data is flushed under the worker."""
    from serverless_lab.cloud.lambda_.models import Invocation

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Invocation.objects.filter(status__in=["queued", "running"]).exists():
        time.sleep(0.1)


def test_the_function_sees_the_trace_with_the_invoke_hop_as_parent(live_lab, cast):
    lam = live_lab.client("lambda", cast.sandbox)
    create_function(
        lam, "whichtrace", "import os\ndef handler(event, context):\n    return os.environ.get('_X_AMZN_TRACE_ID')\n"
    )
    body = json.loads(traced(lam).invoke(FunctionName="whichtrace")["Payload"].read())
    settle(cast.sandbox)
    [invoke] = hops_of_trace(cast.sandbox, 1)
    assert invoke.action == "lambda:Invoke" and invoke.parent_hop_id == CALLER_PARENT
    assert invoke.to_node == f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:whichtrace"
    seen = parse_header(body)
    assert seen is not None and (seen.root, seen.parent) == (ROOT, invoke.hop_id)


def test_boto3_inside_the_function_joins_the_callers_trace(live_lab, cast):
    live_lab.client("s3", cast.sandbox).create_bucket(Bucket="chain")
    lam = live_lab.client("lambda", cast.sandbox)
    source = (
        "import boto3\ndef handler(event, context):\n"
        "    boto3.client('s3').put_object(Bucket='chain', Key='k', Body=b'x')\n"
    )
    create_function(lam, "writer", source)
    response = traced(lam).invoke(FunctionName="writer")
    settle(cast.sandbox)
    assert "FunctionError" not in response, response["Payload"].read()
    invoke, put = hops_of_trace(cast.sandbox, 2)
    assert (invoke.action, put.action) == ("lambda:Invoke", "s3:PutObject")
    assert invoke.parent_hop_id == CALLER_PARENT and put.parent_hop_id == invoke.hop_id
    # On the diagram the PutObject leaves the function, not the client outside.
    assert (invoke.from_node, put.from_node, put.to_node) == ("client", invoke.to_node, "arn:aws:s3:::chain")
