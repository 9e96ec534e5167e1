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
    return SimpleNamespace(access_key_id="AKIAEXAMPLE", signed_headers=("host", "x-amz-date", *headers))


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
    assert [item[4] for item in queued] == ["Throttling", "NoSuchBucket"]


@pytest.mark.django_db
def test_a_failed_call_is_re_parsed_into_its_operation_and_resource(cast):
    aws_request = AwsRequest(method="GET", path="/photos/cat.jpg", query="", headers={}, body=b"")
    hop = recorder.endpoint_hop_begin(
        aws_request, SimpleNamespace(access_key_id=cast.sandbox.access_key_id, signed_headers=())
    )
    draft = recorder._draft((hop, "s3", None, None, "NoSuchKey", 1.5))
    assert (draft.action, draft.to_node, draft.status, draft.error_code) == (
        "s3:GetObject",
        "arn:aws:s3:::photos",
        "error",
        "NoSuchKey",
    )
    assert draft.sandbox_id == cast.sandbox.pk and '"Key":"cat.jpg"' in draft.payload_preview
    throttled = recorder._draft((hop, "s3", None, None, "SlowDown", 1.0))
    assert throttled.status == "throttled"
