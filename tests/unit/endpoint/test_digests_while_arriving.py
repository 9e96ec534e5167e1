"""Which digests the endpoint computes while a body arrives (views.digests_while_arriving): only for
a large body signed with the key of a sandbox this process has seen."""
from __future__ import annotations

import pytest

from serverless_lab.cloud.endpoint.views import digests_while_arriving
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


def test_a_large_s3_put_of_a_seen_sandbox_gets_its_sha256_and_md5(cast):
    key = cast.sandbox.access_key_id
    assert digests_while_arriving("PUT", headers(key)) == ()  # not seen yet: nobody gets us hashing
    keycache.lookup(key)
    assert digests_while_arriving("PUT", headers(key)) == ("sha256", "md5")
    assert digests_while_arriving("POST", headers(key)) == ("sha256",)  # S3 wants the MD5 of a PUT only
    assert digests_while_arriving("PUT", headers(key, service="dynamodb")) == ("sha256",)


def test_nothing_is_hashed_early_for_small_unsigned_or_streaming_bodies(cast):
    key = cast.sandbox.access_key_id
    keycache.lookup(key)
    assert digests_while_arriving("PUT", headers(key, length=1000)) == ()
    assert digests_while_arriving("PUT", {"content-length": str(1 << 20)}) == ()  # presigned or unsigned
    assert digests_while_arriving("PUT", headers(key, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})) == ("md5",)
    chunked = headers(key, **{"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked"})
    assert digests_while_arriving("PUT", chunked) == ()
    assert digests_while_arriving("PUT", headers(key, service="nosuchservice")) == ("sha256",)
