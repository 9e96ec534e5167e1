"""DynamoDB tests: a boto3 client and resource for Alice's sandbox, and a table factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config


@pytest.fixture
def ddb(live_lab: Any, cast: Any) -> Any:
    return live_lab.client("dynamodb", cast.sandbox)


@pytest.fixture
def ddb_resource(live_lab: Any, cast: Any) -> Any:
    sandbox = cast.sandbox
    return boto3.resource(
        "dynamodb",
        endpoint_url=live_lab.endpoint_url,
        region_name=sandbox.region,
        aws_access_key_id=sandbox.access_key_id,
        aws_secret_access_key=sandbox.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def make_table(ddb: Any) -> Callable[..., str]:
    """Create a on-demand table: ``make_table("t", hash=("pk", "S"), range=("sk", "S"), **extra)``."""

    def make(name: str, hash: tuple[str, str] = ("pk", "S"), range: tuple[str, str] | None = None, **extra: Any) -> str:
        keys = [{"AttributeName": hash[0], "KeyType": "HASH"}]
        definitions = {hash[0]: hash[1]}
        if range is not None:
            keys.append({"AttributeName": range[0], "KeyType": "RANGE"})
            definitions[range[0]] = range[1]
        definitions.update(extra.pop("definitions", {}))
        ddb.create_table(
            TableName=name,
            KeySchema=keys,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in definitions.items()],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        return name

    return make
