"""S3 attacks that must be contained: other sandboxes' credentials, path traversal in keys,
oversized and malformed requests, and bytes outliving a sandbox reset."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from django.conf import settings

from serverless_lab.cloud.s3.backend import INLINE_MAX_BYTES
from serverless_lab.sandboxes.services import sandbox_create, sandbox_reset


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
STORED_NAME = re.compile(r"^\d+/[0-9a-f]{2}/[0-9a-f]{32}$")


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def stored_files(sandbox_id: int | None = None) -> list[str]:
    root = Path(settings.MEDIA_ROOT) / "s3"
    if sandbox_id is not None:
        root = root / str(sandbox_id)
    base = Path(settings.MEDIA_ROOT) / "s3"
    return sorted(p.relative_to(base).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def alice_s3(live_lab, cast):
    client = live_lab.client("s3", cast.sandbox)
    client.create_bucket(Bucket="alice-private")
    client.put_object(Bucket="alice-private", Key="secret.txt", Body=b"alice only")
    return client


def test_another_sandbox_can_neither_see_nor_touch_the_bucket(live_lab, cast, alice_s3):
    charlie = live_lab.client("s3", sandbox_create(owner=cast.charlie, name="charlie-box"))
    assert charlie.list_buckets()["Buckets"] == []
    attempts = [
        lambda: charlie.get_object(Bucket="alice-private", Key="secret.txt"),
        lambda: charlie.list_objects_v2(Bucket="alice-private"),
        lambda: charlie.put_object(Bucket="alice-private", Key="planted", Body=b"x"),
        lambda: charlie.delete_object(Bucket="alice-private", Key="secret.txt"),
        lambda: charlie.delete_objects(Bucket="alice-private", Delete={"Objects": [{"Key": "secret.txt"}]}),
        lambda: charlie.delete_bucket(Bucket="alice-private"),
        lambda: charlie.put_bucket_cors(
            Bucket="alice-private",
            CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]},
        ),
        lambda: charlie.create_multipart_upload(Bucket="alice-private", Key="k"),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as error:
            attempt()
        assert code_of(error) == "AccessDenied"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    charlie.create_bucket(Bucket="charlie-own")
    with pytest.raises(ClientError) as error:
        charlie.copy_object(Bucket="charlie-own", Key="stolen", CopySource="alice-private/secret.txt")
    assert code_of(error) == "AccessDenied"
    with pytest.raises(ClientError) as error:
        charlie.create_bucket(Bucket="alice-private")
    assert code_of(error) == "BucketAlreadyExists"
    with pytest.raises(ClientError) as error:
        charlie.get_object(Bucket="nobody-owns-this", Key="k")
    assert code_of(error) == "NoSuchBucket"
    assert alice_s3.get_object(Bucket="alice-private", Key="secret.txt")["Body"].read() == b"alice only"


@pytest.mark.parametrize(
    "key", ["../../../etc/passwd", "/etc/passwd", "a/../../b", "..", "./.", "C:\\windows\\win.ini", "%2e%2e/x"]
)
def test_traversal_keys_are_plain_keys_stored_under_generated_names(live_lab, cast, alice_s3, key):
    before = set(stored_files())
    payload = b"p" * (INLINE_MAX_BYTES + 1)  # a larger object, so its bytes go to a file
    alice_s3.put_object(Bucket="alice-private", Key=key, Body=payload)
    assert alice_s3.get_object(Bucket="alice-private", Key=key)["Body"].read() == payload
    assert key in [o["Key"] for o in alice_s3.list_objects_v2(Bucket="alice-private")["Contents"]]
    new = set(stored_files()) - before
    assert len(new) == 1
    assert all(STORED_NAME.match(name) and name.startswith(f"{cast.sandbox.pk}/") for name in new)
    alice_s3.delete_object(Bucket="alice-private", Key=key)
    assert set(stored_files()) == before


def test_a_nul_in_a_key_is_refused(live_lab, cast, alice_s3):
    with pytest.raises(ClientError) as error:
        alice_s3.put_object(Bucket="alice-private", Key="bad\x00key", Body=b"x")
    assert 400 <= error.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


def _signed(sandbox, method: str, url: str, body: bytes, headers: dict[str, str] | None = None) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(sandbox.access_key_id, sandbox.secret_access_key), "s3", sandbox.region).add_auth(request)
    return dict(request.headers)


def test_malformed_xml_and_oversized_bodies_get_4xx(live_lab, cast, alice_s3):
    url = f"{live_lab.url}/aws/alice-private?tagging"
    for body in (
        b"<Tagging><TagSet><Tag>",
        b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><Tagging/>",
        b"\xff\xfe",
    ):
        response = requests.put(url, data=body, headers=_signed(cast.sandbox, "PUT", url, body), timeout=10)
        assert 400 <= response.status_code < 500, response.text
        assert b"<Code>" in response.content
    too_big = b"x" * (settings.LAB_MAX_REQUEST_BYTES + 1)
    response = requests.put(f"{live_lab.url}/aws/alice-private/huge", data=too_big, timeout=60)
    assert response.status_code == 413


def test_a_truncated_aws_chunked_body_is_refused_and_keeps_nothing(live_lab, cast, alice_s3):
    before = stored_files()
    url = f"{live_lab.url}/aws/alice-private/chunked"
    body = b"10\r\nonly-part-of-it"
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "16"}
    request = AWSRequest(method="PUT", url=url, data=body, headers=headers)
    request.headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    S3SigV4Auth(
        Credentials(cast.sandbox.access_key_id, cast.sandbox.secret_access_key), "s3", cast.sandbox.region
    ).add_auth(request)
    response = requests.put(url, data=body, headers=dict(request.headers), timeout=10)
    assert 400 <= response.status_code < 500, response.text
    assert stored_files() == before


def test_reset_removes_the_sandboxes_bytes(live_lab, cast, alice_s3):
    alice_s3.put_object(Bucket="alice-private", Key="large", Body=b"l" * (INLINE_MAX_BYTES + 1))
    assert stored_files(cast.sandbox.pk)
    sandbox_reset(sandbox=cast.sandbox)
    assert stored_files(cast.sandbox.pk) == []
