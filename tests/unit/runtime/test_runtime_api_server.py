"""The Runtime API server: parsing, routing, the /next answer, and serving over a Unix socket."""

from __future__ import annotations

import json
import selectors
import socket
from pathlib import Path

import pytest

from serverless_lab.runtime.runtime_api import (
    HttpError,
    HttpRequestParser,
    Invocation,
    Route,
    RuntimeApiServer,
    route,
)


def test_it_parses_a_request_fed_byte_by_byte() -> None:
    raw = b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    parser = HttpRequestParser()
    requests = []
    for byte in raw:
        requests += parser.feed(bytes([byte]))
    assert len(requests) == 1
    assert requests[0].method == "POST"
    assert requests[0].headers["content-length"] == "5"
    assert requests[0].body == b"hello"


def test_it_parses_pipelined_requests_and_chunked_bodies() -> None:
    raw = (
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n"
        b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n"
    )
    requests = HttpRequestParser().feed(raw)
    assert [r.path for r in requests] == ["/2018-06-01/runtime/invocation/next", "/2018-06-01/runtime/init/error"]
    assert requests[1].body == b"abcdefg"


def test_it_skips_an_oversized_body_without_buffering_it() -> None:
    parser = HttpRequestParser(max_body=10)
    head = b"POST /2018-06-01/runtime/invocation/a/response HTTP/1.1\r\nContent-Length: 1000\r\n\r\n"
    requests = parser.feed(head + b"x" * 400)
    assert len(requests) == 1 and requests[0].too_large and requests[0].body == b""
    assert parser.feed(b"x" * 600 + b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")[0].path.endswith(
        "next"
    )


@pytest.mark.parametrize(
    "raw",
    [b"NONSENSE\r\n\r\n", b"GET / HTTP/1.1\r\nno-colon\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"],
)
def test_it_rejects_malformed_requests(raw: bytes) -> None:
    with pytest.raises(HttpError):
        HttpRequestParser().feed(raw)


def test_it_rejects_endless_headers() -> None:
    with pytest.raises(HttpError):
        HttpRequestParser().feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 20000)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/2018-06-01/runtime/invocation/next", (Route.NEXT, None)),
        ("POST", "/2018-06-01/runtime/invocation/r-1/response", (Route.RESPONSE, "r-1")),
        ("POST", "/2018-06-01/runtime/invocation/r-1/error", (Route.ERROR, "r-1")),
        ("POST", "/2018-06-01/runtime/init/error", (Route.INIT_ERROR, None)),
        ("GET", "/2018-06-01/runtime/invocation/r-1/response", (Route.UNKNOWN, None)),
        ("POST", "/2018-06-01/runtime/invocation//response", (Route.UNKNOWN, None)),
        ("GET", "/2020-01-01/runtime/invocation/next", (Route.UNKNOWN, None)),
    ],
)
def test_it_routes_the_four_runtime_api_calls(method: str, path: str, expected: tuple[Route, str | None]) -> None:
    assert route(method, path) == expected


def test_the_next_answer_carries_the_lambda_headers() -> None:
    invocation = Invocation(
        request_id="rid",
        payload=b'{"a": 1}',
        deadline_ms=1700000000000,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        trace_id="Root=1-5e1b4151-5ac6c58f5b5daa6532e4f8f9;Parent=1;Sampled=1",
        client_context='{"custom": {"k": "v"}}',
        cognito_identity='{"cognitoIdentityId": "id"}',
    )
    head, body = invocation.http_response().split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert lines[0] == "HTTP/1.1 200 OK"
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "rid"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {"k": "v"}}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == '{"cognitoIdentityId": "id"}'
    assert headers["Content-Length"] == str(len(body)) and body == b'{"a": 1}'


def test_header_injection_through_a_header_value_is_refused() -> None:
    invocation = Invocation("rid", b"{}", 1, "arn", trace_id="x\r\nEvil: 1")
    with pytest.raises(ValueError):
        invocation.http_response()


def _serve_until(server: RuntimeApiServer, selector: selectors.BaseSelector, count: int) -> list:
    calls: list = []
    while len(calls) < count:
        for key, mask in selector.select(2):
            calls += server.handle(key.data, mask)
    return calls


def test_the_server_answers_over_a_unix_socket(tmp_path: Path) -> None:
    selector = selectors.DefaultSelector()
    server = RuntimeApiServer(tmp_path / "runtime.sock")
    server.register(selector)
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "runtime.sock"))
    client.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
    (call,) = _serve_until(server, selector, 1)
    assert call.route is Route.NEXT
    server.send(call.connection, Invocation("r1", b'{"n": 1}', 5, "arn").http_response())
    assert b"Lambda-Runtime-Aws-Request-Id: r1" in client.recv(65536)

    client.sendall(b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n42")
    (call,) = _serve_until(server, selector, 1)
    assert (call.route, call.request_id, call.request.body) == (Route.RESPONSE, "r1", b"42")
    server.reply(call.connection, 202, b'{"status":"OK"}')
    assert client.recv(65536).startswith(b"HTTP/1.1 202 Accepted")

    client.sendall(b"GET /nowhere HTTP/1.1\r\n\r\n")
    for key, mask in selector.select(2):
        assert server.handle(key.data, mask) == []
    answer = client.recv(65536)
    assert answer.startswith(b"HTTP/1.1 404") and json.loads(answer.split(b"\r\n\r\n")[1])["errorType"]
    client.close()
    server.close()
    selector.close()


def test_the_server_closes_after_answering_connection_close(tmp_path: Path) -> None:
    selector = selectors.DefaultSelector()
    server = RuntimeApiServer(tmp_path / "runtime.sock")
    server.register(selector)
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "runtime.sock"))
    client.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nConnection: close\r\n\r\n")
    (call,) = _serve_until(server, selector, 1)
    server.send(call.connection, Invocation("r1", b"{}", 5, "arn").http_response())
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    assert received.endswith(b"\r\n\r\n{}")  # then EOF: the server closed its side
    server.close()
    selector.close()


def test_a_malformed_request_is_answered_400_and_the_connection_closed(tmp_path: Path) -> None:
    selector = selectors.DefaultSelector()
    server = RuntimeApiServer(tmp_path / "runtime.sock")
    server.register(selector)
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "runtime.sock"))
    client.sendall(b"GARBAGE\r\n\r\n")
    for _ in range(3):
        for key, mask in selector.select(0.5):
            assert server.handle(key.data, mask) == []
    assert client.recv(65536).startswith(b"HTTP/1.1 400")
    assert client.recv(65536) == b""
    server.close()
    selector.close()
