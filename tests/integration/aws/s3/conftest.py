"""S3 tests' clients and helpers. Object bytes go to the test process's own temporary MEDIA_ROOT
(set by tests/lab_plugin.py before Django's settings load, and copied by the live lab), never into
the developer's var/media."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from serverless_lab.sandboxes.models import Sandbox


@pytest.fixture
def s3v4(live_lab: Any) -> Callable[[Sandbox], Any]:
    """A boto3 S3 client factory that presigns with SigV4 (boto3 presigns S3 with SigV2 by default,
    and the lab verifies SigV4 only)."""

    def make(sandbox: Sandbox) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=live_lab.endpoint_url,
            region_name=sandbox.region,
            aws_access_key_id=sandbox.access_key_id,
            aws_secret_access_key=sandbox.secret_access_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
        )

    return make
