"""The endpoint's hop: the header handed on to handlers, and what a finished call turns into."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from serverless_lab.cloud.core.protocol.request import AwsRequest
from serverless_lab.tracing import recorder
from serverless_lab.tracing.ids import parse_header

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def request(
    headers: dict[str, str] | None = None, body: bytes = b"Action=GetCallerIdentity&Version=2011-06-15"
) -> AwsRequest:
    return AwsRequest(method="POST", path="/", query="", headers=dict(headers or {}), body=body)


def signed(*headers: str) -> SimpleNamespace:
    return SimpleNamespace(access_key_id="AKIAEXAMPLE", signed_headers=("host", "x-amz-date", *headers), service="sts")


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    items: list[tuple] = []
    monkeypatch.setattr(recorder._writer, "submit", items.append)
    return items


def test_a_handler_sees_the_callers_trace_with_this_hop_as_parent():
    aws_request = request({"x-amzn-trace-id": f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"})
    hop = recorder.endpoint_hop_begin(aws_request, signed())
    assert (hop.trace_id, hop.parent_hop_id) == (ROOT, "53995c3f42cd8ad8")
    passed_on = parse_header(aws_request.headers["x-amzn-trace-id"])
    assert (passed_on.root, passed_on.parent) == (ROOT, hop.hop_id)


def test_a_call_without_a_header_starts_a_trace_the_handler_passes_on():
    aws_request = request()
    hop = recorder.endpoint_hop_begin(aws_request, signed())
    assert hop.parent_hop_id == ""
    assert parse_header(aws_request.headers["x-amzn-trace-id"]).root == hop.trace_id


def test_a_signed_trace_header_is_left_as_the_client_sent_it():
    sent = f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
    aws_request = request({"x-amzn-trace-id": sent})
    recorder.endpoint_hop_begin(aws_request, signed("x-amzn-trace-id"))
    assert aws_request.headers["x-amzn-trace-id"] == sent


def test_unsigned_requests_and_tracing_off_record_nothing(settings):
    assert recorder.endpoint_hop_begin(request(), None) is None
    settings.LAB_TRACING = "false"
    assert recorder.endpoint_hop_begin(request(), signed()) is None


def test_failed_authentication_is_not_queued_but_throttles_and_errors_are(queued):
    hop = recorder.endpoint_hop_begin(request(), signed())
    for code in ("SignatureDoesNotMatch", "InvalidClientTokenId", "Throttling", "NoSuchBucket"):
        hop.finish(service="sts", error_code=code)
    assert [item.error_code for item in queued] == ["Throttling", "NoSuchBucket"]


@pytest.mark.django_db
def test_a_failed_call_is_re_parsed_into_its_operation_and_resource(cast):
    aws_request = AwsRequest(method="GET", path="/photos/cat.jpg", query="", headers={}, body=b"")
    hop = recorder.endpoint_hop_begin(
        aws_request, SimpleNamespace(access_key_id=cast.sandbox.access_key_id, signed_headers=(), service="s3")
    )
    draft = recorder._draft(hop.finished(service="s3", error_code="NoSuchKey"))
    assert (draft.action, draft.to_node, draft.status, draft.error_code) == (
        "s3:GetObject",
        "arn:aws:s3:::photos",
        "error",
        "NoSuchKey",
    )
    assert draft.sandbox_id == cast.sandbox.pk and '"Key":"cat.jpg"' in draft.payload_preview
    throttled = recorder._draft(hop.finished(service="s3", error_code="SlowDown"))
    assert throttled.status == "throttled"


@pytest.mark.django_db
def test_the_writer_saves_a_batch_in_order_and_creates_only_the_missing_traces(cast, broadcasts):
    from serverless_lab.tracing.models import Hop, Trace
    from serverless_lab.tracing.services import HopDraft, hop_record

    existing = hop_record(
        sandbox_id=cast.sandbox.pk, trace=None, from_node="client", to_node="service:sts", action="sts:GetCallerIdentity"
    )
    fresh = "1-5759e988-000000000000000000000001"

    def draft(trace_id: str, action: str, **kwargs) -> HopDraft:
        fields = {"from_node": "client", "to_node": "arn:aws:s3:::photos", "action": action}
        return HopDraft(sandbox_id=cast.sandbox.pk, trace_id=trace_id, **(fields | kwargs))

    batch = [
        draft(fresh, "s3:CreateBucket", new_trace=True),
        draft(existing.root, "s3:PutObject", parent_hop_id=existing.parent),
        draft(fresh, "s3:GetObject", payload_preview='{"Key":"cat.jpg"}'),
    ]
    messages = recorder._save(batch, {})
    seqs = [message["seq"] for _, message in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert [message["action"] for _, message in messages] == ["s3:CreateBucket", "s3:PutObject", "s3:GetObject"]
    assert Trace.objects.filter(sandbox=cast.sandbox).count() == 2
    assert Trace.objects.get(trace_id=fresh).first_action == "s3:CreateBucket"
    saved = {hop.pk: hop for hop in Hop.objects.select_related("trace")}
    assert [saved[seq].trace.trace_id for seq in seqs] == [fresh, existing.root, fresh]
    assert saved[seqs[1]].parent_hop_id == existing.parent
    assert saved[seqs[2]].payload_preview == '{"Key":"cat.jpg"}'
    assert messages[2][1]["preview"] == '{"Key":"cat.jpg"}' and messages[2][1]["trace_id"] == fresh


@pytest.mark.django_db
def test_a_call_whose_parent_invoked_a_function_comes_from_that_function(cast, broadcasts):
    from serverless_lab.tracing.services import hop_record

    sandbox = cast.sandbox
    function = f"arn:aws:lambda:{sandbox.region}:{sandbox.account_id}:function:resize"
    # A synchronous Invoke still running (its hop is not saved yet) while the function calls S3.
    invoke_request = AwsRequest(
        method="POST", path="/2015-03-31/functions/resize/invocations", query="", headers={}, body=b"{}"
    )
    invoke = recorder.endpoint_hop_begin(
        invoke_request, SimpleNamespace(access_key_id=sandbox.access_key_id, signed_headers=(), service="lambda")
    )
    inside = recorder.endpoint_hop_begin(
        request({"x-amzn-trace-id": invoke.header}),
        SimpleNamespace(access_key_id=sandbox.access_key_id, signed_headers=(), service="s3"),
    )
    ctx = SimpleNamespace(sandbox=sandbox, operation="PutObject", region=sandbox.region)
    draft = recorder._draft(inside.finished(service="s3", ctx=ctx, params={"Bucket": "photos", "Key": "a"}))
    assert (draft.from_node, draft.to_node, draft.parent_hop_id) == (function, "arn:aws:s3:::photos", invoke.hop_id)
    # A delivery recorded elsewhere (SQS → Lambda in a worker) is found in the database.
    delivery = hop_record(
        sandbox_id=sandbox.pk, trace=None, from_node="arn:aws:sqs:us-east-1:1:jobs", to_node=function, action="sqs→lambda batch"
    )
    later = recorder.endpoint_hop_begin(
        request({"x-amzn-trace-id": str(delivery)}),
        SimpleNamespace(access_key_id=sandbox.access_key_id, signed_headers=(), service="s3"),
    )
    assert recorder._draft(later.finished(service="s3", ctx=ctx, params={"Bucket": "photos"})).from_node == function
    # A parent that is not a function invocation leaves the caller the client.
    plain = recorder.endpoint_hop_begin(
        request({"x-amzn-trace-id": f"Root={ROOT};Parent=53995c3f42cd8ad8"}),
        SimpleNamespace(access_key_id=sandbox.access_key_id, signed_headers=(), service="s3"),
    )
    assert recorder._draft(plain.finished(service="s3", ctx=ctx, params={"Bucket": "photos"})).from_node == "client"


def test_a_functions_call_saved_in_one_batch_with_its_invoke_comes_from_the_function():
    from serverless_lab.tracing.services import HopDraft

    function = "arn:aws:lambda:us-east-1:123456789012:function:resize"
    put = HopDraft(sandbox_id=1, trace_id=ROOT, from_node="client", to_node="arn:aws:s3:::photos",
                   action="s3:PutObject", parent_hop_id="53995c3f42cd8ad8")
    invoke = HopDraft(sandbox_id=1, trace_id=ROOT, from_node="client", to_node=function, action="lambda:Invoke",
                      hop_id="53995c3f42cd8ad8")
    other = HopDraft(sandbox_id=1, trace_id=ROOT, from_node="client", to_node="service:sts", action="sts:GetCallerIdentity")
    recorder._callers_in_batch([put, invoke, other])
    assert (put.from_node, invoke.from_node, other.from_node) == (function, "client", "client")


@pytest.mark.django_db(transaction=True)
def test_a_trace_another_process_creates_meanwhile_still_gets_its_hop(cast):
    """PostgreSQL: the batch statement waits on another session's uncommitted insert of the same
    trace; that row is not in its snapshot, so the hop goes through hops_save right after."""
    import threading
    import time as clock
    from datetime import UTC, datetime

    from django.db import connection, connections, transaction

    from serverless_lab.tracing.models import Hop, Trace
    from serverless_lab.tracing.services import HopDraft

    if connection.vendor != "postgresql":
        pytest.skip("the one-statement batch is PostgreSQL's")
    trace_id = "1-5759e988-0000000000000000000000aa"
    inserted, release, saved = threading.Event(), threading.Event(), []

    def other_process() -> None:
        with transaction.atomic():
            Trace.objects.create(sandbox=cast.sandbox, trace_id=trace_id, started_at=datetime.now(UTC), first_action="x")
            inserted.set()
            release.wait(10)
        connections.close_all()

    def writer() -> None:
        draft = HopDraft(sandbox_id=cast.sandbox.pk, trace_id=trace_id, from_node="client", to_node="service:sts",
                         action="sts:GetCallerIdentity")
        saved.extend(recorder._save([draft], {}))
        connections.close_all()

    other = threading.Thread(target=other_process)
    other.start()
    assert inserted.wait(10)
    writing = threading.Thread(target=writer)
    writing.start()
    deadline = clock.monotonic() + 10
    with connection.cursor() as cursor:  # until the writer's statement waits for the other's lock
        while clock.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
            clock.sleep(0.02)
    release.set()
    other.join(10)
    writing.join(10)
    [(sandbox_id, message)] = saved
    hop = Hop.objects.get()
    assert (sandbox_id, message["seq"], message["trace_id"]) == (cast.sandbox.pk, hop.pk, trace_id)
    assert Trace.objects.get(trace_id=trace_id).hops.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_for_one_sandbox_still_saves_the_others_hops(cast):
    """A sandbox deleted while its hops wait in the writer loses them; the rest of the batch doesn't."""
    from django.db import DatabaseError

    from serverless_lab.tracing.models import Hop
    from serverless_lab.tracing.services import HopDraft

    def draft(sandbox_id: int, trace_id: str) -> HopDraft:
        return HopDraft(sandbox_id=sandbox_id, trace_id=trace_id, from_node="client", to_node="service:sts",
                        action="sts:GetCallerIdentity", new_trace=True)

    batch = [
        draft(cast.sandbox.pk, "1-5759e988-0000000000000000000000b1"),
        draft(987654, "1-5759e988-0000000000000000000000b2"),  # no such sandbox (any more)
    ]
    with pytest.raises(DatabaseError) as failed:
        recorder._save(batch, {})
    messages = recorder._save_per_sandbox(batch, {}, failed.value)
    assert [sandbox_id for sandbox_id, _ in messages] == [cast.sandbox.pk]
    assert list(Hop.objects.values_list("trace__sandbox_id", flat=True)) == [cast.sandbox.pk]
