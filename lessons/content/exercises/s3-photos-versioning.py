"""Checks for "Keep every version of your photos"."""

from __future__ import annotations

from typing import Any

from lessons.checks import account_id, check, fail

KEY = "cat.jpg"


def bucket(session: Any) -> str:
    return f"photos-{account_id(session)}"


@check("A bucket named 'photos-<account id>' exists")
def bucket_exists(session: Any) -> None:
    session.client("s3").head_bucket(Bucket=bucket(session))


@check("Versioning is Enabled on it")
def versioning_enabled(session: Any) -> None:
    status = session.client("s3").get_bucket_versioning(Bucket=bucket(session)).get("Status")
    if status != "Enabled":
        fail(f"Versioning status is {status or 'never set'}; it must be Enabled.")


@check("'cat.jpg' has at least two versions")
def two_versions(session: Any) -> None:
    listing = session.client("s3").list_object_versions(Bucket=bucket(session), Prefix=KEY)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == KEY]
    if len(versions) < 2:
        fail(f"Found {len(versions)} version(s) of '{KEY}'; upload it again after enabling versioning.")


def solution(session: Any) -> None:
    s3, name = session.client("s3"), bucket(session)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key=KEY, Body=b"first cat")
    s3.put_object(Bucket=name, Key=KEY, Body=b"second cat")
