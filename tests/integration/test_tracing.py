"""Hops of AWS API calls, recorded by the live server and pushed to the sandbox's WebSocket."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from serverless_lab.tracing.models import Hop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = "1-5759e988-bd862e3fe1be46a994272793"


@contextmanager
def open_socket(live_lab, sandbox, client, user) -> Iterator:
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = f"{live_lab.ws_url}/ws/sandboxes/{sandbox.pk}/events/"
    with connect(url, additional_headers={"Cookie": cookie}, origin=live_lab.url) as socket:
        assert json.loads(socket.recv(timeout=10))["type"] == "hello"
        yield socket


def hops(socket, count: int, timeout: float = 15) -> list[dict]:
    received: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(received) < count:
        message = json.loads(socket.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["type"] == "trace.hop":
            received.append(message)
    return received


def saved_hops(sandbox, count: int, timeout: float = 10) -> list[Hop]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Hop.objects.filter(sandbox=sandbox).select_related("trace").order_by("pk"))
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"expected {count} hops, found {len(rows)}")


def with_trace_header(client, value: str):
    client.meta.events.register(
        "before-sign.*.*", lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", value)
    )
    return client


def test_each_api_call_records_a_hop_from_the_client_to_its_resource(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    live_lab.client("sts", cast.sandbox).get_caller_identity()
    s3.create_bucket(Bucket="trace-photos")
    s3.put_object(Bucket="trace-photos", Key="cat.jpg", Body=b"meow")
    with pytest.raises(ClientError):
        s3.get_object(Bucket="trace-photos", Key="missing.jpg")
    rows = saved_hops(cast.sandbox, 4)
    assert [(h.action, h.from_node, h.to_node, h.status) for h in rows] == [
        ("sts:GetCallerIdentity", "client", "service:sts", "ok"),
        ("s3:CreateBucket", "client", "arn:aws:s3:::trace-photos", "ok"),
        ("s3:PutObject", "client", "arn:aws:s3:::trace-photos", "ok"),
        ("s3:GetObject", "client", "arn:aws:s3:::trace-photos", "error"),
    ]
    assert rows[3].error_code == "NoSuchKey"
    assert '"Key":"cat.jpg"' in rows[2].payload_preview and "meow" not in rows[2].payload_preview
    assert len({h.trace.trace_id for h in rows}) == 4  # no header: each call starts its own trace
    assert all(h.duration_ms > 0 for h in rows)


def test_a_call_carrying_a_trace_header_joins_that_trace(live_lab, cast):
    sts = with_trace_header(live_lab.client("sts", cast.sandbox), f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    sts.get_caller_identity()
    sts.get_caller_identity()
    first, second = saved_hops(cast.sandbox, 2)
    assert first.trace_id == second.trace_id and first.trace.trace_id == ROOT
    assert first.parent_hop_id == second.parent_hop_id == "53995c3f42cd8ad8"


def test_a_throttled_call_is_a_throttled_hop_and_a_bad_signature_records_nothing(live_lab, cast):
    cast.sandbox.max_requests_per_second = 1
    cast.sandbox.save()
    sts = boto3.client(
        "sts",
        endpoint_url=live_lab.endpoint_url,
        region_name=cast.sandbox.region,
        aws_access_key_id=cast.sandbox.access_key_id,
        aws_secret_access_key=cast.sandbox.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    codes = []
    for _ in range(4):
        try:
            sts.get_caller_identity()
            codes.append("")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert "Throttling" in codes
    rows = saved_hops(cast.sandbox, 4)
    assert [h.status for h in rows] == ["throttled" if code else "ok" for code in codes]
    assert {h.error_code for h in rows if h.status == "throttled"} == {"Throttling"}
    forged = boto3.client(
        "sts",
        endpoint_url=live_lab.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=cast.sandbox.access_key_id,
        aws_secret_access_key="y" * 40,
    )
    with pytest.raises(ClientError):
        forged.get_caller_identity()
    time.sleep(0.5)
    assert Hop.objects.filter(sandbox=cast.sandbox).count() == 4


def test_the_owner_socket_receives_hops_in_order_and_a_strangers_sandbox_nothing(live_lab, cast, client):
    from serverless_lab.sandboxes.services import sandbox_create

    charlies = sandbox_create(owner=cast.charlie, name="charlie-box")
    with (
        open_socket(live_lab, cast.sandbox, client, cast.alice) as alice,
        open_socket(live_lab, charlies, client, cast.charlie) as charlie,
    ):
        s3 = live_lab.client("s3", cast.sandbox)
        s3.create_bucket(Bucket="order-test")
        for number in range(5):
            s3.put_object(Bucket="order-test", Key=f"k{number}", Body=b"x")
        received = hops(alice, 6)
        with pytest.raises(TimeoutError):
            while True:
                assert json.loads(charlie.recv(timeout=0.5))["type"] != "trace.hop"
    assert [m["action"] for m in received] == ["s3:CreateBucket"] + ["s3:PutObject"] * 5
    assert [json.loads(m["preview"])["Key"] for m in received[1:]] == [f"k{n}" for n in range(5)]
    assert [m["seq"] for m in received] == sorted(m["seq"] for m in received)
    assert all(m["v"] == 1 and m["to_node"] == "arn:aws:s3:::order-test" for m in received)


def test_the_instructor_watches_too(live_lab, cast, client):
    with open_socket(live_lab, cast.sandbox, client, cast.bob) as bob:
        live_lab.client("sts", cast.sandbox).get_caller_identity()
        [message] = hops(bob, 1)
    assert message["action"] == "sts:GetCallerIdentity"


def test_a_stranger_cannot_watch(live_lab, cast, client):
    from websockets.exceptions import InvalidStatus

    with pytest.raises((InvalidStatus, ConnectionClosed)), open_socket(live_lab, cast.sandbox, client, cast.charlie):
        pass
