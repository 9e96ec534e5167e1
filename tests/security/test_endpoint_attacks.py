"""Hostile requests to the AWS endpoint: each gets an AWS-format 4xx, never a 500 or a traceback."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AUTH = "AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64

ATTACKS = [
    ("no auth, json target", "POST", "", {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}, b"{}"),
    ("json garbage", "POST", "", {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Authorization": AUTH.format(key="AKIAFAKE", service="dynamodb"), "X-Amz-Date": "20260101T000000Z"}, b"{not json"),
    ("unknown service in scope", "POST", "", {"Authorization": AUTH.format(key="AKIAFAKE", service="ec2"), "X-Amz-Date": "20260101T000000Z"}, b"Action=DescribeInstances"),
    ("credential with a path", "POST", "", {"Authorization": AUTH.format(key="../../etc/passwd", service="sts"), "X-Amz-Date": "20260101T000000Z"}, b""),
    ("SigV2", "GET", "?Action=GetCallerIdentity&AWSAccessKeyId=AKIA&Signature=x&SignatureVersion=2", {}, b""),
    ("presigned without signature", "GET", "?X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fsts%2Faws4_request", {}, b""),
    ("presigned with a silly expiry", "GET", "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=abc&X-Amz-SignedHeaders=host&X-Amz-Signature=00", {}, b""),
    ("bad date", "POST", "", {"Authorization": AUTH.format(key="AKIAFAKE", service="sts"), "X-Amz-Date": "yesterday"}, b"Action=GetCallerIdentity"),
    ("deep path", "GET", "a/" * 200, {}, b""),
    ("nul in path", "GET", "bucket/%00key", {}, b""),
    ("traversal in path", "GET", "..%2F..%2Fadmin%2F", {}, b""),
    ("binary body", "POST", "", {"Content-Type": "application/octet-stream"}, bytes(range(256)) * 64),
]


@pytest.mark.parametrize("name,method,suffix,headers,body", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_hostile_requests_get_aws_errors(live_lab, cast, name, method, suffix, headers, body):
    url = live_lab.endpoint_url + suffix
    response = requests.request(method, url, headers=headers, data=body, timeout=15)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("x-amzn-RequestId")
    text = response.text
    assert "Traceback" not in text and "django" not in text.lower()
    assert ("<Code>" in text) or ('"__type"' in text) or ("x-amzn-ErrorType" in response.headers) or response.headers.get("X-Amzn-ErrorType")


def test_another_sandboxs_secret_cannot_sign_for_this_key(live_lab, cast):
    import boto3
    from botocore.exceptions import ClientError

    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.charlie, name="charlie-box")
    forged = boto3.client(
        "sts", endpoint_url=live_lab.endpoint_url, region_name="us-east-1",
        aws_access_key_id=cast.sandbox.access_key_id, aws_secret_access_key=other.secret_access_key,
    )
    with pytest.raises(ClientError) as error:
        forged.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_the_rate_quota_throttles_with_an_aws_error(live_lab, cast):
    cast.sandbox.max_requests_per_second = 1
    cast.sandbox.save()
    codes = _outcomes(live_lab.client("sts", cast.sandbox), 10)
    assert "Throttling" in codes
    assert codes.count("ok") >= 1


def test_a_stored_html_object_cannot_run_as_a_page_of_the_site(live_lab, cast):
    """An HTML object opened through a presigned link must not script the lab's own origin."""
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="xss-box")
    s3.put_object(Bucket="xss-box", Key="steal.html", Body=b"<script>fetch('/sandboxes/')</script>", ContentType="text/html")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "xss-box", "Key": "steal.html"}, ExpiresIn=60)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox") and "script-src" not in policy and "default-src 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("size", [21, 1024 * 1024], ids=["small", "large"])  # a large body is hashed on other threads
def test_a_body_that_does_not_match_its_signed_hash_is_refused(live_lab, cast, size):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    owners, attackers = b"what the owner signed".ljust(size, b"."), b"what an attacker sent".ljust(size, b".")
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="tamper")
    url = f"{live_lab.endpoint_url.rstrip('/')}/tamper/note.txt"
    signed = AWSRequest(method="PUT", url=url, data=owners)
    credentials = Credentials(cast.sandbox.access_key_id, cast.sandbox.secret_access_key)
    S3SigV4Auth(credentials, "s3", cast.sandbox.region).add_auth(signed)
    assert len(signed.headers["X-Amz-Content-SHA256"]) == 64

    swapped = requests.put(url, data=attackers, headers=dict(signed.headers), timeout=15)
    assert swapped.status_code == 400 and "<Code>XAmzContentSHA256Mismatch</Code>" in swapped.text
    assert s3.list_objects_v2(Bucket="tamper")["KeyCount"] == 0
    # A large body is written to a file while it arrives (s3/storage.py StreamedFile): refused, it goes.
    stored = Path(settings.MEDIA_ROOT) / "s3" / str(cast.sandbox.pk)
    deadline = time.monotonic() + 5
    while stored.exists() and any(p.is_file() for p in stored.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))

    honest = requests.put(url, data=owners, headers=dict(signed.headers), timeout=15)
    assert honest.status_code == 200 and honest.headers["ETag"] == f'"{hashlib.md5(owners).hexdigest()}"'
    assert s3.get_object(Bucket="tamper", Key="note.txt")["Body"].read() == owners


def test_a_deleted_sandboxs_key_stops_working_at_once(live_lab, cast):
    """The endpoint caches sandboxes by key (sandboxes/keycache.py); deleting one in another process
    must still refuse its key on the very next request."""
    from botocore.exceptions import ClientError

    from serverless_lab.sandboxes.services import sandbox_delete

    sts = live_lab.client("sts", cast.sandbox)
    for _ in range(3):  # cached now
        assert sts.get_caller_identity()["Account"] == cast.sandbox.account_id
    sandbox_delete(sandbox=cast.sandbox)
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_a_lowered_rate_quota_applies_to_a_cached_sandbox(live_lab, cast):
    sts = live_lab.client("sts", cast.sandbox)
    sts.get_caller_identity()  # cached with the default quota
    cast.sandbox.max_requests_per_second = 1
    cast.sandbox.save(update_fields=["max_requests_per_second"])
    assert "Throttling" in _outcomes(sts, 6)


def _outcomes(sts, calls: int) -> list[str]:
    """"ok" or the error code of each of ``calls`` GetCallerIdentity calls in a row."""
    from botocore.exceptions import ClientError

    codes = []
    for _ in range(calls):
        try:
            sts.get_caller_identity()
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    return codes


def test_requests_with_a_bad_signature_do_not_use_up_the_owners_quota(live_lab, cast):
    """Somebody who knows only the access key cannot throttle its owner."""
    import boto3
    from botocore.exceptions import ClientError

    cast.sandbox.max_requests_per_second = 3
    cast.sandbox.save(update_fields=["max_requests_per_second"])
    forged = boto3.client(
        "sts", endpoint_url=live_lab.endpoint_url, region_name="us-east-1",
        aws_access_key_id=cast.sandbox.access_key_id, aws_secret_access_key="z" * 40,
    )
    for _ in range(5):
        with pytest.raises(ClientError) as error:
            forged.get_caller_identity()
        assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert live_lab.client("sts", cast.sandbox).get_caller_identity()["Account"] == cast.sandbox.account_id
