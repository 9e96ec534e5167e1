"""Checks for "Your first bucket"."""

from __future__ import annotations

from typing import Any

from lessons.checks import account_id, check, fail

KEY, TEXT = "hello.txt", "hello serverless"


def bucket(session: Any) -> str:
    return f"first-steps-{account_id(session)}"


@check("A bucket named 'first-steps-<account id>' exists")
def bucket_exists(session: Any) -> None:
    names = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    if bucket(session) not in names:
        fail(f"No bucket called '{bucket(session)}' yet (your buckets: {', '.join(names) or 'none'}).")


@check("It holds 'hello.txt' containing 'hello serverless'")
def object_has_text(session: Any) -> None:
    body = session.client("s3").get_object(Bucket=bucket(session), Key=KEY)["Body"].read().decode(errors="replace")
    if body.strip() != TEXT:
        fail(f"'{KEY}' contains {body[:60]!r}, expected {TEXT!r}.")


def solution(session: Any) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket(session))
    s3.put_object(Bucket=bucket(session), Key=KEY, Body=TEXT.encode())
