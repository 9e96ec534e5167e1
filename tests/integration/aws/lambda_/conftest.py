"""Lambda tests: code zips in a temporary MEDIA_ROOT, and helpers to build deployment packages.

The MEDIA_ROOT is the test process's own temporary folder (tests/lab_plugin.py), which the live lab
copies.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest


ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def make_zip(files: dict[str, str], executable: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            archive.writestr(info, text)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _settle_invocations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let in-flight invocations finish before the database is flushed under the worker's feet."""
    yield
    if "live_lab" not in request.fixturenames:
        return
    from serverless_lab.cloud.lambda_.models import Invocation

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Invocation.objects.filter(status__in=["queued", "running"]).exists():
        time.sleep(0.1)


@pytest.fixture
def lambda_client(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("lambda", cast.sandbox)


@pytest.fixture
def create_python(lambda_client: Any) -> Callable[..., dict[str, Any]]:
    """Create a Python function from handler source; keyword arguments go to CreateFunction."""

    def create(name: str, source: str, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE}
        params.update(kwargs)
        return lambda_client.create_function(
            FunctionName=name, Code={"ZipFile": make_zip({"app.py": source})}, **params
        )

    return create
