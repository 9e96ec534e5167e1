"""Body digests: computed once per request and algorithm, a large body's on another thread."""

from __future__ import annotations

import hashlib

from serverless_lab.cloud.core import digests
from serverless_lab.cloud.core.protocol import AwsRequest

SMALL, LARGE = b"s" * digests.ON_POOL_BYTES, bytes(range(256)) * (digests.ON_POOL_BYTES // 256 + 1)


def test_a_small_buffer_is_hashed_at_once_a_large_one_on_the_pool():
    small = digests.started("md5", SMALL)
    assert small.done() and small.result() == hashlib.md5(SMALL).hexdigest()
    large = digests.started("sha256", LARGE)
    assert large.result(timeout=10) == hashlib.sha256(LARGE).hexdigest()


def test_a_request_computes_each_digest_of_its_body_once():
    request = AwsRequest(method="PUT", path="/b/k", query="", headers={}, body=LARGE)
    md5 = request.body_digest("md5")
    assert request.body_digest("md5") is md5 and md5.result(timeout=10) == hashlib.md5(LARGE).hexdigest()
    assert request.body_digest("sha256").result(timeout=10) == hashlib.sha256(LARGE).hexdigest()


def test_s3_asks_for_the_md5_of_a_put_body_as_sent():
    from serverless_lab.cloud.s3.handlers import S3Handler

    def asked(method: str, **headers: str) -> tuple[str, ...]:
        return S3Handler().body_digests(AwsRequest(method=method, path="/b/k", query="", headers=headers, body=LARGE))

    assert asked("PUT") == ("md5",)
    assert asked("PUT", **{"content-encoding": "aws-chunked"}) == ()  # its payload is decoded first
    assert asked("PUT", **{"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}) == ()
    assert asked("POST") == ()
