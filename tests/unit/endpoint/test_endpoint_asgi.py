"""The endpoint's own ASGI app: the request it builds from the scope, the body limit for bodies
without a declared length, and a plain response sent as one body message."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from serverless_lab.cloud.endpoint.asgi import AwsEndpointHandler, _EndpointRequest


def scope(method: str, path: str, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": headers, "root_path": "", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}


def run(app_scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
               for index, chunk in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(AwsEndpointHandler()(app_scope, receive, send))
    return sent


def test_the_request_keeps_djangos_header_rules():
    request = _EndpointRequest(
        scope("PUT", "/aws/photos/a", [(b"Host", b"localhost"), (b"X-Amz-Meta-Tag", b"a"), (b"x-amz-meta-tag", b"b"),
                                        (b"x_amz_date", b"spoofed"), (b"Content-Length", b"3")], b"x-id=PutObject"),
    )
    request.received(b"abc", too_big=False)
    assert request.headers == {"host": "localhost", "x-amz-meta-tag": "a,b", "content-length": "3"}
    assert (request.method, request.META["QUERY_STRING"], request.META["CONTENT_LENGTH"]) == ("PUT", "x-id=PutObject", "3")
    assert request.body == b"abc"


@pytest.mark.django_db
def test_a_body_over_the_limit_without_a_declared_length_gets_413_in_the_services_format(settings):
    settings.LAB_MAX_REQUEST_BYTES = 1024
    aws = AWSRequest(method="POST", url="http://localhost/aws/", data=b"", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                                                                  "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials("AKIAIOSFODNN7EXAMPLE", "secret"), "dynamodb", "us-east-1").add_auth(aws)
    headers = [(name.lower().encode(), value.encode() if isinstance(value, str) else value) for name, value in aws.headers.items()]
    sent = run(scope("POST", "/aws/", headers + [(b"host", b"localhost")]), [b"{" + b" " * 700, b" " * 700 + b"}"])
    assert sent[0]["status"] == 413
    assert b"RequestEntityTooLarge" in sent[1]["body"]


@pytest.mark.django_db
def test_a_plain_response_goes_out_as_one_body_message():
    sent = run(scope("GET", "/aws/", [(b"host", b"localhost")]), [b""])
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] in (400, 403) and sent[1]["body"] and not sent[1].get("more_body")


@pytest.mark.django_db
@pytest.mark.parametrize("expect", [True, False])
def test_a_client_waiting_for_100_continue_is_answered_before_the_body_is_planned(monkeypatch, expect):
    """The ASGI server writes "100 Continue" at the first ``receive``; the plan for the body
    (``views.while_arriving``) is made while that answer travels, not before it leaves."""
    from serverless_lab.cloud.endpoint import asgi

    events: list[str] = []
    planned = asgi.while_arriving

    def while_arriving(*args: Any) -> Any:
        events.append("plan")
        return planned(*args)

    async def receive() -> dict[str, Any]:
        events.append("receive")
        return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    monkeypatch.setattr(asgi, "while_arriving", while_arriving)
    headers = [(b"host", b"localhost"), (b"content-length", b"100")] + ([(b"expect", b"100-continue")] if expect else [])
    asyncio.run(AwsEndpointHandler()(scope("PUT", "/aws/bucket/key", headers), receive, send))
    assert events[:2] == (["receive", "plan"] if expect else ["plan", "receive"])
    assert events[2:] == ["http.response.start", "http.response.body"]
