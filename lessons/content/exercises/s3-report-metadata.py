"""Checks for "A report with the right headers"."""

from __future__ import annotations

from typing import Any

from lessons.checks import account_id, check, fail

KEY = "reports/2026.csv"


def bucket(session: Any) -> str:
    return f"reports-{account_id(session)}"


@check("Object 'reports/2026.csv' exists in bucket 'reports-<account id>'")
def object_exists(session: Any) -> None:
    session.client("s3").head_object(Bucket=bucket(session), Key=KEY)


@check("Its content type is text/csv")
def content_type(session: Any) -> None:
    value = session.client("s3").head_object(Bucket=bucket(session), Key=KEY).get("ContentType", "")
    if value.split(";")[0].strip() != "text/csv":
        fail(f"The content type is {value!r}; set ContentType='text/csv' when you upload.")


@check("It carries the metadata owner = finance")
def metadata(session: Any) -> None:
    value = session.client("s3").head_object(Bucket=bucket(session), Key=KEY).get("Metadata", {})
    if value.get("owner") != "finance":
        fail(f"The object's metadata is {value}; expected {{'owner': 'finance'}}.")


@check("Its first line is the header 'month,revenue'")
def header_line(session: Any) -> None:
    body = session.client("s3").get_object(Bucket=bucket(session), Key=KEY)["Body"].read().decode(errors="replace")
    first = body.splitlines()[0].strip() if body else ""
    if first != "month,revenue":
        fail(f"The first line is {first!r}.")


def solution(session: Any) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket(session))
    s3.put_object(
        Bucket=bucket(session),
        Key=KEY,
        Body=b"month,revenue\n2026-01,1200\n",
        ContentType="text/csv",
        Metadata={"owner": "finance"},
    )
