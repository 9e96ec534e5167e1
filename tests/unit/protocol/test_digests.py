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


def test_digests_streamed_chunk_by_chunk_match_the_whole_bodys():
    chunks = [LARGE[start : start + 4099] for start in range(0, len(LARGE), 4099)]
    streamed = digests.Streamed(("md5", "sha256"))
    for chunk in chunks:
        streamed.feed(chunk)
    done = streamed.finish()
    assert done["md5"].result(timeout=10) == hashlib.md5(LARGE).hexdigest()
    assert done["sha256"].result(timeout=10) == hashlib.sha256(LARGE).hexdigest()
    assert digests.Streamed(("md5",)).finish()["md5"].result(timeout=10) == hashlib.md5(b"").hexdigest()


def test_a_request_uses_the_digests_computed_while_its_body_arrived():
    streamed = digests.Streamed(("md5",))
    streamed.feed(LARGE)
    request = AwsRequest(method="PUT", path="/b/k", query="", headers={}, body=LARGE)
    request.adopt_digests(streamed.finish())
    assert request.body_digest("md5").result(timeout=10) == hashlib.md5(LARGE).hexdigest()
