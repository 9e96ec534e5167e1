"""What the endpoint does with a body while it arrives (views.while_arriving): only for a large body
signed with the key of a sandbox this process has seen, hash it and, for an S3 PutObject, write it."""
from __future__ import annotations

import pytest

from serverless_lab.cloud.endpoint.views import while_arriving
from serverless_lab.cloud.s3.storage import StreamedFile
from serverless_lab.sandboxes import keycache

pytestmark = pytest.mark.django_db
SHA = "a" * 64


def headers(access_key_id: str, service: str = "s3", length: int = 1 << 20, **extra: str) -> dict[str, str]:
    return {
        "authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/20261127/us-east-1/{service}/aws4_request, "
        f"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={'b' * 64}",
        "content-length": str(length),
        "x-amz-content-sha256": SHA,
        **extra,
    }


def test_a_large_s3_put_of_a_seen_sandbox_is_hashed_and_written(cast, media):
    key = cast.sandbox.access_key_id
    assert while_arriving("PUT", "", headers(key)).digests == ()  # not seen yet: nobody gets us hashing
    keycache.lookup(key)
    plan = while_arriving("PUT", "", headers(key))
    assert plan.digests == ("sha256", "md5")
    assert isinstance(plan.stored, StreamedFile) and plan.stored.name.startswith(f"{cast.sandbox.pk}/")
    assert while_arriving("POST", "", headers(key)).digests == ("sha256",)  # S3 wants the MD5 of a PUT only
    assert while_arriving("PUT", "", headers(key, service="dynamodb")).digests == ("sha256",)


def test_only_a_put_object_has_its_file_written_while_it_arrives(cast, media):
    key = cast.sandbox.access_key_id
    keycache.lookup(key)
    assert while_arriving("PUT", "partNumber=1&uploadId=u", headers(key)).stored is None  # UploadPart
    assert while_arriving("PUT", "", headers(key, **{"x-amz-copy-source": "/b/k"})).stored is None
    assert while_arriving("POST", "", headers(key)).stored is None
    assert while_arriving("PUT", "", headers(key, length=64 * 1024 + 1)).stored is not None
    assert while_arriving("PUT", "", headers(key, service="dynamodb")).stored is None


def test_nothing_is_done_early_for_small_unsigned_or_streaming_bodies(cast, media):
    key = cast.sandbox.access_key_id
    keycache.lookup(key)
    assert while_arriving("PUT", "", headers(key, length=1000)).digests == ()
    assert while_arriving("PUT", "", {"content-length": str(1 << 20)}).digests == ()  # presigned or unsigned
    assert while_arriving("PUT", "", headers(key, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})).digests == ("md5",)
    chunked = headers(key, **{"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked"})
    assert while_arriving("PUT", "", chunked).digests == () and while_arriving("PUT", "", chunked).stored is None
    assert while_arriving("PUT", "", headers(key, service="nosuchservice")).digests == ("sha256",)
