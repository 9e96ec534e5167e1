"""The per-sandbox usage counter: always the SUM it replaces (object versions plus upload parts)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db.models import Sum

from serverless_lab.cloud.s3 import backend, exceptions
from serverless_lab.cloud.s3.models import Object, Part, Usage

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def summed(sandbox: Any) -> int:
    objects = Object.objects.filter(sandbox=sandbox).aggregate(total=Sum("size"))["total"] or 0
    parts = Part.objects.filter(sandbox=sandbox).aggregate(total=Sum("size"))["total"] or 0
    return objects + parts


def put(sandbox: Any, key: str, body: bytes, bucket: str = "usage-test") -> Any:
    return backend.put_object(
        sandbox=sandbox, bucket_name=bucket, key=key, body=body, fields=backend.ObjectFields()
    )


def test_the_counter_follows_every_write(cast):
    sandbox = cast.sandbox
    backend.create_bucket(sandbox=sandbox, name="usage-test", region="us-east-1")
    backend.create_bucket(sandbox=sandbox, name="usage-other", region="us-east-1")
    steps = [
        lambda: put(sandbox, "a", b"x" * 100),
        lambda: put(sandbox, "a", b"x" * 40),  # replaces the "null" version
        lambda: put(sandbox, "b", b"y" * 7),
        lambda: backend.delete_object(sandbox=sandbox, bucket_name="usage-test", key="b"),
        lambda: backend.put_bucket_versioning(sandbox=sandbox, name="usage-test", status="Enabled"),
        lambda: put(sandbox, "a", b"z" * 30),  # keeps the "null" version
        lambda: backend.delete_object(sandbox=sandbox, bucket_name="usage-test", key="a"),  # a marker
        lambda: backend.put_bucket_versioning(sandbox=sandbox, name="usage-test", status="Suspended"),
        lambda: put(sandbox, "a", b"w" * 5),  # replaces the "null" version only
        lambda: backend.copy_object(
            sandbox=sandbox, bucket_name="usage-other", key="copy", source_bucket="usage-test", source_key="a",
            source_version_id=None, replace_metadata=False, fields=backend.ObjectFields(), replace_tags=False,
        ),
        lambda: backend.delete_objects(  # the versions kept from while versioning was on
            sandbox=sandbox,
            bucket_name="usage-test",
            targets=[("a", v) for v in Object.objects.filter(key="a").exclude(version_id="null").values_list(
                "version_id", flat=True
            )],
        ),
    ]
    for step in steps:
        step()
        assert backend.storage_used(sandbox) == summed(sandbox) > 0


def test_the_counter_counts_parts_until_completion_or_abort(cast):
    sandbox = cast.sandbox
    backend.create_bucket(sandbox=sandbox, name="usage-test", region="us-east-1")
    fields = backend.ObjectFields()
    for key, finish in (("done", "complete"), ("dropped", "abort")):
        upload = backend.create_multipart_upload(sandbox=sandbox, bucket_name="usage-test", key=key, fields=fields)
        common = {"sandbox": sandbox, "bucket_name": "usage-test", "key": key, "upload_id": upload.upload_id}
        first = backend.upload_part(**common, part_number=1, body=b"p" * (5 * MIB))
        backend.upload_part(**common, part_number=2, body=b"q" * 10)
        last = backend.upload_part(**common, part_number=2, body=b"r" * 20)  # replaces part 2
        backend.upload_part(**common, part_number=3, body=b"s" * 30)  # left out of the object
        assert backend.storage_used(sandbox) == summed(sandbox)
        if finish == "complete":
            backend.complete_multipart_upload(**common, parts=[(1, first.etag), (2, last.etag)])
        else:
            backend.abort_multipart_upload(**common)
        assert backend.storage_used(sandbox) == summed(sandbox) == 5 * MIB + 20
    backend.upload_part(
        sandbox=sandbox, bucket_name="usage-test", key="left", part_number=1, body=b"t" * 9,
        upload_id=backend.create_multipart_upload(
            sandbox=sandbox, bucket_name="usage-test", key="left", fields=fields
        ).upload_id,
    )
    backend.delete_objects(sandbox=sandbox, bucket_name="usage-test", targets=[("done", None)])
    backend.delete_bucket(sandbox=sandbox, name="usage-test")  # its unfinished upload's parts go too
    assert backend.storage_used(sandbox) == summed(sandbox) == 0


def test_the_quota_is_checked_against_the_counter_and_refusals_change_nothing(cast):
    sandbox = cast.sandbox
    sandbox.max_storage_bytes = 100
    backend.create_bucket(sandbox=sandbox, name="usage-test", region="us-east-1")
    put(sandbox, "a", b"x" * 60)
    with pytest.raises(exceptions.QuotaExceeded):
        put(sandbox, "b", b"x" * 41)
    put(sandbox, "b", b"x" * 40)
    assert backend.storage_used(sandbox) == summed(sandbox) == 100
    assert sorted(Object.objects.values_list("key", flat=True)) == ["a", "b"]


def test_the_migration_backfills_from_the_rows(cast):
    from importlib import import_module

    backfill = import_module("serverless_lab.cloud.s3.migrations.0002_usage").backfill
    backend.create_bucket(sandbox=cast.sandbox, name="usage-test", region="us-east-1")
    put(cast.sandbox, "a", b"x" * 12)
    backend.create_multipart_upload(sandbox=cast.sandbox, bucket_name="usage-test", key="u", fields=backend.ObjectFields())
    Usage.objects.all().delete()
    backfill(apps, None)
    assert Usage.objects.get(pk=cast.sandbox.pk).bytes == 12
