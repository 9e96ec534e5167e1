"""S3 objects through boto3 over real HTTP: put/get/head/delete, metadata, ranges, conditional
requests, copy, batch delete, tagging, presigned URLs, virtual-host addressing and quotas."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def status_of(error: pytest.ExceptionInfo[ClientError]) -> int:
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(live_lab, cast):
    client = live_lab.client("s3", cast.sandbox)
    client.create_bucket(Bucket="alice-data")
    return client


def test_put_then_get_returns_the_bytes_metadata_and_md5_etag(s3):
    body = b"hello, serverless"
    put = s3.put_object(
        Bucket="alice-data",
        Key="docs/hello.txt",
        Body=body,
        ContentType="text/plain",
        Metadata={"Author": "alice"},
        CacheControl="max-age=60",
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="alice-data", Key="docs/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"author": "alice"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket="alice-data", Key="docs/hello.txt")
    assert head["ContentLength"] == len(body) and head["ETag"] == put["ETag"]


def test_an_empty_object_and_unicode_keys_work(s3):
    s3.put_object(Bucket="alice-data", Key="naïve café/😀 +plus & space.txt", Body=b"")
    got = s3.get_object(Bucket="alice-data", Key="naïve café/😀 +plus & space.txt")
    assert got["Body"].read() == b"" and got["ContentType"] == "binary/octet-stream"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="alice-data")["Contents"]]
    assert keys == ["naïve café/😀 +plus & space.txt"]


def test_a_missing_key_is_no_such_key(s3):
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="nope")
    assert code_of(error) == "NoSuchKey" and status_of(error) == 404
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket="alice-data", Key="nope")
    assert status_of(error) == 404


def test_a_bad_content_md5_is_refused(s3):
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="alice-data", Key="k", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert code_of(error) == "BadDigest"


def test_ranges_answer_206_with_content_range(s3):
    s3.put_object(Bucket="alice-data", Key="digits", Body=b"0123456789")
    part = s3.get_object(Bucket="alice-data", Key="digits", Range="bytes=2-5")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["Body"].read() == b"2345"
    assert part["ContentRange"] == "bytes 2-5/10"
    assert s3.get_object(Bucket="alice-data", Key="digits", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket="alice-data", Key="digits", Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket="alice-data", Key="digits", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="digits", Range="bytes=10-12")
    assert code_of(error) == "InvalidRange" and status_of(error) == 416


def test_conditional_requests_answer_304_and_412(s3):
    etag = s3.put_object(Bucket="alice-data", Key="c", Body=b"v1")["ETag"]
    modified = s3.head_object(Bucket="alice-data", Key="c")["LastModified"]
    assert s3.get_object(Bucket="alice-data", Key="c", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="c", IfMatch='"0000"')
    assert code_of(error) == "PreconditionFailed" and status_of(error) == 412
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="c", IfNoneMatch=etag)
    assert status_of(error) == 304
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="c", IfModifiedSince=modified + timedelta(seconds=5))
    assert status_of(error) == 304
    assert (
        s3.get_object(Bucket="alice-data", Key="c", IfModifiedSince=modified - timedelta(days=1))["Body"].read()
        == b"v1"
    )
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-data", Key="c", IfUnmodifiedSince=modified - timedelta(days=1))
    assert status_of(error) == 412
    with pytest.raises(ClientError) as error:
        s3.head_object(Bucket="alice-data", Key="c", IfNoneMatch=etag)
    assert status_of(error) == 304


def test_copy_keeps_or_replaces_metadata(s3):
    s3.create_bucket(Bucket="alice-copies")
    s3.put_object(Bucket="alice-data", Key="src.txt", Body=b"copy me", ContentType="text/plain", Metadata={"a": "1"})
    result = s3.copy_object(Bucket="alice-copies", Key="dst.txt", CopySource={"Bucket": "alice-data", "Key": "src.txt"})
    assert result["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copy me").hexdigest()}"'
    copied = s3.get_object(Bucket="alice-copies", Key="dst.txt")
    assert (
        copied["Body"].read() == b"copy me"
        and copied["Metadata"] == {"a": "1"}
        and copied["ContentType"] == "text/plain"
    )
    s3.copy_object(
        Bucket="alice-data",
        Key="src.txt",
        CopySource="alice-data/src.txt",
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/markdown",
    )
    head = s3.head_object(Bucket="alice-data", Key="src.txt")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/markdown"
    with pytest.raises(ClientError) as error:
        s3.copy_object(Bucket="alice-data", Key="x", CopySource="alice-data/missing")
    assert code_of(error) == "NoSuchKey"


def test_delete_and_batch_delete_with_quiet_mode(s3):
    for key in ("a", "b", "c", "d"):
        s3.put_object(Bucket="alice-data", Key=key, Body=key.encode())
    assert s3.delete_object(Bucket="alice-data", Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.delete_object(Bucket="alice-data", Key="never-existed")  # S3 answers 204 for a missing key too
    loud = s3.delete_objects(Bucket="alice-data", Delete={"Objects": [{"Key": "b"}, {"Key": "ghost"}]})
    assert sorted(d["Key"] for d in loud["Deleted"]) == ["b", "ghost"]
    quiet = s3.delete_objects(Bucket="alice-data", Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="alice-data")["Contents"]] == ["d"]


def test_object_tags_are_stored_replaced_and_removed(s3):
    s3.put_object(Bucket="alice-data", Key="t", Body=b"x", Tagging="team=blue&stage=dev")
    assert s3.get_object(Bucket="alice-data", Key="t")["TagCount"] == 2
    assert {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket="alice-data", Key="t")["TagSet"]} == {
        "team": "blue",
        "stage": "dev",
    }
    s3.put_object_tagging(Bucket="alice-data", Key="t", Tagging={"TagSet": [{"Key": "team", "Value": "red"}]})
    assert s3.get_object_tagging(Bucket="alice-data", Key="t")["TagSet"] == [{"Key": "team", "Value": "red"}]
    s3.delete_object_tagging(Bucket="alice-data", Key="t")
    assert s3.get_object_tagging(Bucket="alice-data", Key="t")["TagSet"] == []


def test_presigned_get_and_put_work_from_a_plain_http_client(s3, cast, s3v4):
    presigner = s3v4(cast.sandbox)
    put_url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": "alice-data", "Key": "up.txt"}, ExpiresIn=60
    )
    assert requests.put(put_url, data=b"uploaded by url", timeout=10).status_code == 200
    get_url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": "alice-data", "Key": "up.txt"}, ExpiresIn=60
    )
    response = requests.get(get_url, timeout=10)
    assert response.status_code == 200 and response.content == b"uploaded by url"
    assert requests.get(get_url.replace("up.txt", "other.txt"), timeout=10).status_code == 403
    assert requests.get(get_url.replace("X-Amz-Expires=60", "X-Amz-Expires=61"), timeout=10).status_code == 403


def _virtual_host_request(live_lab, sandbox, method: str, path: str, body: bytes = b"") -> requests.Response:
    """A SigV4-signed request to ``alice-data.localhost:<port>/aws/...``, sent to loopback with that Host."""
    port = live_lab.url.rsplit(":", 1)[1]
    request = AWSRequest(method=method, url=f"http://alice-data.localhost:{port}/aws{path}", data=body)
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(sandbox.access_key_id, sandbox.secret_access_key), "s3", sandbox.region).add_auth(request)
    headers = dict(request.headers) | {"Host": f"alice-data.localhost:{port}"}
    return requests.request(method, f"{live_lab.url}/aws{path}", data=body, headers=headers, timeout=10)


def test_virtual_host_style_addressing_reaches_the_bucket(live_lab, cast, s3):
    put = _virtual_host_request(live_lab, cast.sandbox, "PUT", "/vhost/key.txt", b"virtual")
    assert put.status_code == 200, put.text
    assert s3.get_object(Bucket="alice-data", Key="vhost/key.txt")["Body"].read() == b"virtual"
    listing = _virtual_host_request(live_lab, cast.sandbox, "GET", "/?list-type=2")
    assert listing.status_code == 200 and b"<Key>vhost/key.txt</Key>" in listing.content
    got = _virtual_host_request(live_lab, cast.sandbox, "GET", "/vhost/key.txt")
    assert got.content == b"virtual"


def test_the_storage_quota_refuses_and_keeps_nothing(live_lab, cast, s3):
    cast.sandbox.max_storage_bytes = 1000
    cast.sandbox.save()
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="alice-data", Key="huge", Body=b"x" * 1500)
    assert code_of(error) == "EntityTooLarge" and status_of(error) == 400
    s3.put_object(Bucket="alice-data", Key="first", Body=b"x" * 600)
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="alice-data", Key="second", Body=b"x" * 600)
    assert code_of(error) == "QuotaExceeded" and status_of(error) == 403
    assert "1000 bytes" in error.value.response["Error"]["Message"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="alice-data")["Contents"]] == ["first"]


def test_concurrent_writers_never_overshoot_the_quota(live_lab, cast, s3):
    """Twelve 100-byte puts at once against room for five: exactly five are kept, the rest refused."""
    from concurrent.futures import ThreadPoolExecutor

    from serverless_lab.cloud.s3.backend import storage_used

    cast.sandbox.max_storage_bytes = 500
    cast.sandbox.save()
    clients = [live_lab.client("s3", cast.sandbox) for _ in range(12)]

    def put(index: int) -> str:
        try:
            clients[index].put_object(Bucket="alice-data", Key=f"racer-{index}", Body=b"r" * 100)
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "ok"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(put, range(12)))
    assert sorted(outcomes) == ["QuotaExceeded"] * 7 + ["ok"] * 5
    kept = [o["Key"] for o in s3.list_objects_v2(Bucket="alice-data").get("Contents", [])]
    assert sorted(kept) == sorted(f"racer-{i}" for i, outcome in enumerate(outcomes) if outcome == "ok")
    assert storage_used(cast.sandbox) == 500


def test_an_unsigned_payload_trailer_upload_is_decoded(live_lab, cast, s3):
    """The aws-chunked form recent botocore/awscli send: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer."""
    import base64
    import zlib

    data = b"chunked hello " * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in (data[:8192], data[8192:]))
    body += f"0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    url = f"{live_lab.url}/aws/alice-data/trailer.txt"
    request = AWSRequest(
        method="PUT",
        url=url,
        data=body,
        headers={
            "Content-Encoding": "aws-chunked",
            "X-Amz-Decoded-Content-Length": str(len(data)),
            "X-Amz-Trailer": "x-amz-checksum-crc32",
            "Content-Type": "text/plain",
        },
    )
    request.headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    S3SigV4Auth(
        Credentials(cast.sandbox.access_key_id, cast.sandbox.secret_access_key), "s3", cast.sandbox.region
    ).add_auth(request)
    response = requests.put(url, data=body, headers=dict(request.headers), timeout=10)
    assert response.status_code == 200, response.text
    got = s3.get_object(Bucket="alice-data", Key="trailer.txt")
    assert got["Body"].read() == data and got["ContentType"] == "text/plain"
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
