"""S3 tests keep object bytes in a temporary MEDIA_ROOT, never in the developer's var/media.

Set at import (collection), before the session's live lab starts and copies os.environ.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from django.conf import settings

from serverless_lab.sandboxes.models import Sandbox

if "LAB_TEST_MEDIA_ROOT" not in os.environ:
    os.environ["LAB_TEST_MEDIA_ROOT"] = os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="lab-s3-test-")
settings.MEDIA_ROOT = os.environ["LAB_TEST_MEDIA_ROOT"]


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
