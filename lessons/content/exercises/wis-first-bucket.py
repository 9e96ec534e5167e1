"""Checks for "Your first bucket"."""

from __future__ import annotations

from typing import Any

from lessons.checks import check, fail

BUCKET, KEY, TEXT = "first-steps", "hello.txt", "hello serverless"


@check("A bucket named 'first-steps' exists")
def bucket_exists(session: Any) -> None:
    names = [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    if BUCKET not in names:
        fail(f"No bucket called '{BUCKET}' yet (your buckets: {', '.join(names) or 'none'}).")


@check("It holds 'hello.txt' containing 'hello serverless'")
def object_has_text(session: Any) -> None:
    body = session.client("s3").get_object(Bucket=BUCKET, Key=KEY)["Body"].read().decode(errors="replace")
    if body.strip() != TEXT:
        fail(f"'{KEY}' contains {body[:60]!r}, expected {TEXT!r}.")


def solution(session: Any) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=TEXT.encode())
