"""Small objects keep their bytes in their row; larger ones in a stored file. Reads cannot tell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from serverless_lab.cloud.s3 import backend, selectors, storage
from serverless_lab.cloud.s3.backend import INLINE_MAX_BYTES
from serverless_lab.cloud.s3.models import Object

pytestmark = pytest.mark.django_db

SMALL, LARGE = b"s" * INLINE_MAX_BYTES, bytes(range(256)) * (INLINE_MAX_BYTES // 256 + 1)


def files(root: Path) -> list[Path]:
    """The stored files, once replaced and deleted objects' files are gone (in the background)."""
    storage.settle()
    return [path for path in root.rglob("*") if path.is_file()]


def put(sandbox: Any, key: str, body: bytes) -> Object:
    return backend.put_object(sandbox=sandbox, bucket_name="inline-test", key=key, body=body, fields=backend.ObjectFields())


def get(sandbox: Any, key: str, byte_range: tuple[int, int] | None = None) -> bytes:
    return backend.read_object(backend.get_object(sandbox=sandbox, bucket_name="inline-test", key=key), byte_range)


def test_small_objects_live_in_their_row_and_read_back_whole_or_in_ranges(cast, media):
    backend.create_bucket(sandbox=cast.sandbox, name="inline-test", region="us-east-1")
    put(cast.sandbox, "small", SMALL)
    assert files(media) == []
    assert Object.objects.get(key="small").storage_name == ""
    assert get(cast.sandbox, "small") == SMALL
    assert get(cast.sandbox, "small", (3, 9)) == SMALL[3:10]
    assert selectors.open_object(backend.get_object(sandbox=cast.sandbox, bucket_name="inline-test", key="small")).read() == SMALL


def test_overwrites_between_the_two_forms_keep_the_right_bytes_and_no_stray_file(
    cast, media, django_capture_on_commit_callbacks
):
    backend.create_bucket(sandbox=cast.sandbox, name="inline-test", region="us-east-1")
    for body in (SMALL, LARGE, b"tiny", LARGE[:-1], b""):
        with django_capture_on_commit_callbacks(execute=True):  # a replaced file goes after commit
            put(cast.sandbox, "key", body)
        assert get(cast.sandbox, "key") == body
        assert len(files(media)) == (1 if len(body) > INLINE_MAX_BYTES else 0)
    backend.copy_object(
        sandbox=cast.sandbox, bucket_name="inline-test", key="copy", source_bucket="inline-test", source_key="key",
        source_version_id=None, replace_metadata=False, fields=backend.ObjectFields(), replace_tags=False,
    )
    assert get(cast.sandbox, "copy") == b""


def test_listings_leave_the_bytes_out(cast):
    backend.create_bucket(sandbox=cast.sandbox, name="inline-test", region="us-east-1")
    put(cast.sandbox, "a", SMALL)
    _, page = backend.list_objects(sandbox=cast.sandbox, bucket_name="inline-test")
    assert "data" in page.contents[0].get_deferred_fields()


@pytest.mark.parametrize("body", [SMALL, LARGE], ids=["small", "large"])
def test_content_md5_is_checked_for_both_forms_and_a_mismatch_keeps_nothing(cast, media, body):
    import base64
    import hashlib

    from serverless_lab.cloud.s3 import exceptions

    backend.create_bucket(sandbox=cast.sandbox, name="inline-test", region="us-east-1")
    right = base64.b64encode(hashlib.md5(body).digest()).decode()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(exceptions.InvalidDigest):
        backend.put_object(
            sandbox=cast.sandbox, bucket_name="inline-test", key="k", body=body, fields=backend.ObjectFields(),
            content_md5=wrong,
        )
    assert not Object.objects.exists() and files(media) == []
    obj = backend.put_object(
        sandbox=cast.sandbox, bucket_name="inline-test", key="k", body=body, fields=backend.ObjectFields(),
        content_md5=right,
    )
    assert obj.etag == hashlib.md5(body).hexdigest() and get(cast.sandbox, "k") == body
