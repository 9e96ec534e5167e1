"""Checks for "Who am I in this account?"."""

from __future__ import annotations

import json
from typing import Any

from lessons.checks import check, fail


def _identity(session: Any) -> dict[str, str]:
    return session.client("sts").get_caller_identity()


@check("A bucket named 'whoami-<account id>' exists")
def bucket_exists(session: Any) -> None:
    bucket = f"whoami-{_identity(session)['Account']}"
    names = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    if bucket not in names:
        fail(f"No bucket called '{bucket}' yet.")


@check("'identity.json' records the Account and Arn STS returns")
def identity_recorded(session: Any) -> None:
    identity = _identity(session)
    body = session.client("s3").get_object(Bucket=f"whoami-{identity['Account']}", Key="identity.json")["Body"].read()
    try:
        data = json.loads(body)
    except ValueError:
        fail("'identity.json' is not valid JSON.")
    if not isinstance(data, dict):
        fail('\'identity.json\' must hold a JSON object, like {"Account": ..., "Arn": ...}.')
    for field in ("Account", "Arn"):
        if data.get(field) != identity[field]:
            fail(f"'{field}' is {data.get(field)!r}; STS says {identity[field]!r}.")


def solution(session: Any) -> None:
    identity = _identity(session)
    bucket = f"whoami-{identity['Account']}"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    body = json.dumps({"Account": identity["Account"], "Arn": identity["Arn"]})
    s3.put_object(Bucket=bucket, Key="identity.json", Body=body.encode(), ContentType="application/json")
