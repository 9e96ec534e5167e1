"""SQS tests: a boto3 client for Alice's sandbox over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def sqs(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("sqs", cast.sandbox)
