"""Fixtures for the execution-environment tests: function code on disk, specs, a fake AWS endpoint.

These tests start real bubblewrap sandboxes.  bubblewrap is required: without it
``SandboxHost`` raises ``IsolationError`` and every functional test fails (never skips).
"""

from __future__ import annotations

import http.server
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from serverless_lab.runtime import Credentials, ExecutionEnvironment, FunctionSpec

ACCOUNT = "123456789012"
_counter = itertools.count()


@pytest.fixture
def write_code(tmp_path: Path) -> Callable[..., Path]:
    """Write ``{relative path: text}`` into a fresh code directory (world-readable, like a zip)."""

    def write(files: dict[str, str], *, executable: tuple[str, ...] = ()) -> Path:
        root = tmp_path / f"code-{next(_counter)}"
        root.mkdir(mode=0o755)
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            path.write_text(text)
            path.chmod(0o755 if name in executable else 0o644)
        return root

    return write


@pytest.fixture
def make_spec() -> Callable[..., FunctionSpec]:
    """``make_spec(code_dir, runtime=..., handler=..., name=..., **other FunctionSpec fields)``."""
    return _spec


def _spec(code_dir: Path, *, runtime: str = "python3.11", handler: str = "lambda_function.handler",
          name: str = "fn", **overrides: object) -> FunctionSpec:  # fmt: skip
    fields: dict[str, object] = {
        "function_name": name,
        "function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        "runtime": runtime,
        "handler": handler,
        "code_dir": code_dir,
        "credentials": Credentials("AKIAALICESANDBOX01", "alice-secret-key", "alice-session-token"),
    }
    fields.update(overrides)
    return FunctionSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def environments() -> Iterator[Callable[[FunctionSpec], ExecutionEnvironment]]:
    """Start environments and make sure each one is closed after the test."""
    started: list[ExecutionEnvironment] = []

    def start(spec: FunctionSpec) -> ExecutionEnvironment:
        env = ExecutionEnvironment(spec)
        started.append(env)
        env.start()
        return env

    yield start
    for env in started:
        env.close()


@dataclass
class FakeSts:
    """A host-side HTTP server answering STS GetCallerIdentity and recording every request."""

    port: int
    requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def fake_sts() -> Iterator[FakeSts]:
    record = FakeSts(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            record.requests.append({name.lower(): value for name, value in self.headers.items()})
            body = (
                b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/alice</Arn>"
                b"<UserId>AIDAALICE</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
                b"<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield record
    server.shutdown()
    server.server_close()
