"""A NUL in a bucket name, key, prefix or marker is an S3 error (InvalidArgument), never a database error.

PostgreSQL refuses NUL in text, so before this check a signed GetObject of ``"a\\x00"`` answered 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from serverless_lab.cloud.s3 import backend, exceptions

pytestmark = pytest.mark.django_db

CALLS: dict[str, Callable[[Any], Any]] = {
    "get_bucket": lambda sb: backend.get_bucket(sandbox=sb, name="nul\x00bucket"),
    "get_object": lambda sb: backend.get_object(sandbox=sb, bucket_name="nul-test", key="a\x00"),
    "get_object_version": lambda sb: backend.get_object(sandbox=sb, bucket_name="nul-test", key="a", version_id="\x00"),
    "delete_object": lambda sb: backend.delete_object(sandbox=sb, bucket_name="nul-test", key="a\x00"),
    "delete_objects": lambda sb: backend.delete_objects(sandbox=sb, bucket_name="nul-test", targets=[("a\x00", None)]),
    "list_prefix": lambda sb: backend.list_objects(sandbox=sb, bucket_name="nul-test", prefix="\x00"),
    "list_after": lambda sb: backend.list_objects(sandbox=sb, bucket_name="nul-test", after="a\x00"),
    "versions_prefix": lambda sb: backend.list_object_versions(sandbox=sb, bucket_name="nul-test", prefix="\x00"),
    "versions_marker": lambda sb: backend.list_object_versions(sandbox=sb, bucket_name="nul-test", key_marker="\x00"),
    "get_upload": lambda sb: backend.get_upload(sandbox=sb, bucket_name="nul-test", key="a\x00", upload_id="x"),
    "list_uploads": lambda sb: backend.list_multipart_uploads(sandbox=sb, bucket_name="nul-test", prefix="\x00"),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_nul_is_invalid_argument(cast, call):
    backend.create_bucket(sandbox=cast.sandbox, name="nul-test", region="us-east-1")
    with pytest.raises(exceptions.InvalidArgument) as error:
        call(cast.sandbox)
    assert error.value.status == 400 and "NUL" in error.value.message


def test_a_preflight_for_a_nul_bucket_finds_no_rules(cast):
    assert backend.bucket_cors_rules(name="nul\x00bucket", sandbox=None) == []
