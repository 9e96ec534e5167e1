"""The hop writer as a child process (PostgreSQL with Redis): what the server queues arrives in the
database in order, a failed call is re-parsed there, a large body is not shipped, a call from inside a
running Invoke comes from its function, and a writer process that dies is started again."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection

from serverless_lab.cloud.core.protocol.request import AwsRequest
from serverless_lab.tracing import recorder, writer_process
from serverless_lab.tracing.models import Hop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def forwarder():
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("the writer runs in a process of its own on PostgreSQL with Redis")
    items: queue.SimpleQueue = queue.SimpleQueue()
    thread = threading.Thread(target=writer_process.forward, args=(items,), daemon=True)
    thread.start()
    yield items
    items.put(None)
    thread.join(30)
    assert not thread.is_alive()


def begin(cast, service: str, aws_request: AwsRequest, header: str | None = None) -> recorder.EndpointHop:
    if header:
        aws_request.headers["x-amzn-trace-id"] = header
    info = SimpleNamespace(access_key_id=cast.sandbox.access_key_id, signed_headers=(), service=service)
    return recorder.endpoint_hop_begin(aws_request, info)


def wait_for_hops(count: int) -> list[Hop]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        hops = list(Hop.objects.order_by("pk"))
        if len(hops) >= count:
            return hops
        time.sleep(0.05)
    raise AssertionError(f"{count} hops never arrived; saw {Hop.objects.count()}")


def writer_children() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    command = cmdline.read()
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if b"serverless_lab.tracing.writer_process" in command and parent == os.getpid():
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_hops_reach_the_database_in_order_through_the_child(cast, forwarder):
    sandbox = cast.sandbox
    ctx = SimpleNamespace(sandbox=sandbox, operation="PutObject", region=sandbox.region)
    body = b"x" * (1 << 20)
    invoke_request = AwsRequest(method="POST", path="/2015-03-31/functions/resize/invocations", query="",
                                headers={}, body=b"{}")
    invoke = begin(cast, "lambda", invoke_request)
    put = begin(cast, "s3", AwsRequest("PUT", "/photos/cat.jpg", "", {}, body), header=invoke.header)
    put_item = put.finished(service="s3", ctx=ctx, params={"Bucket": "photos", "Key": "cat.jpg", "Body": body})
    assert put_item.params["Body"] == "<1048576 bytes>"  # the body itself stays in the server
    forwarder.put(put_item)
    missing = begin(cast, "s3", AwsRequest("GET", "/photos/dog.jpg", "", {}, b""))
    forwarder.put(missing.finished(service="s3", error_code="NoSuchKey"))
    hops = wait_for_hops(2)
    assert [hop.action for hop in hops] == ["s3:PutObject", "s3:GetObject"]
    assert hops[0].from_node == f"arn:aws:lambda:{sandbox.region}:{sandbox.account_id}:function:resize"
    assert hops[0].payload_preview.startswith('{"Bucket":"photos","Key":"cat.jpg","Body":"<1048576 bytes>"')
    assert (hops[1].status, hops[1].error_code, hops[1].to_node) == ("error", "NoSuchKey", "arn:aws:s3:::photos")
    assert '"Key":"dog.jpg"' in hops[1].payload_preview
    assert hops[0].trace.trace_id == invoke.trace_id and hops[0].parent_hop_id == invoke.hop_id


def test_a_writer_process_that_dies_is_started_again(cast, forwarder, monkeypatch):
    monkeypatch.setattr(writer_process, "_RESTART_EVERY_S", 0.5)
    sandbox = cast.sandbox
    ctx = SimpleNamespace(sandbox=sandbox, operation="GetCallerIdentity", region=sandbox.region)

    def call() -> None:
        hop = begin(cast, "sts", AwsRequest("POST", "/", "", {}, b"Action=GetCallerIdentity"))
        forwarder.put(hop.finished(service="sts", ctx=ctx, params={}))

    call()
    wait_for_hops(1)
    [child] = writer_children()
    time.sleep(0.5)  # a child that dies at once is not started again straight away
    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    call()  # the forwarder finds its child gone, starts a new one and sends it there
    call()
    hops = wait_for_hops(3)
    assert [hop.action for hop in hops] == ["sts:GetCallerIdentity"] * 3
    assert writer_children() and writer_children() != [child]
