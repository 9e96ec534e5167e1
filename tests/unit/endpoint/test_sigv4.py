"""SigV4 verification against requests that botocore itself signed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from serverless_lab.cloud.endpoint import auth

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def verify(request: AWSRequest, secret: str = SECRET, body: bytes | None = None) -> bool:
    parts = urlsplit(request.url)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers.setdefault("host", parts.netloc)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    info = auth.read_signature(headers, query)
    assert info is not None
    raw_query = "&".join(p for p in parts.query.split("&") if not p.startswith("X-Amz-Signature=")) if info.presigned else parts.query
    url = f"http://{parts.netloc}{parts.path}" + (f"?{raw_query}" if raw_query else "")
    body = body if body is not None else (request.body or b"")
    expected = auth.expected_signature(info, secret_key=secret, method=request.method, url=url, headers=headers, body=body)
    return auth.signature_matches(info, expected)


def signed(signer, method: str, url: str, body: bytes = b"", headers: dict | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer.add_auth(request)
    return request


def test_a_query_protocol_post_verifies_and_a_wrong_secret_does_not():
    signer = SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1")
    request = signed(signer, "POST", "http://127.0.0.1:8000/aws/", b"Action=GetCallerIdentity&Version=2011-06-15",
                     {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    assert verify(request)
    assert not verify(request, secret="another-secret")


def test_a_changed_body_breaks_the_signature():
    signer = SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1")
    request = signed(signer, "POST", "http://127.0.0.1:8000/aws/", b"Action=GetCallerIdentity")
    assert not verify(request, body=b"Action=AssumeRole")


def test_s3_paths_with_encoded_characters_and_query_strings_verify():
    signer = S3SigV4Auth(Credentials(KEY, SECRET), "s3", "eu-west-1")
    request = signed(signer, "GET", "http://localhost:8000/aws/my-bucket/a%20key/%C3%A9t%C3%A9.txt?list-type=2&prefix=a%2Fb",
                     headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    assert verify(request)


def test_an_s3_presigned_url_verifies_and_tampering_is_detected():
    signer = S3SigV4QueryAuth(Credentials(KEY, SECRET), "s3", "us-east-1", expires=300)
    request = signed(signer, "GET", "http://localhost:8000/aws/bucket/key.txt")
    assert verify(request)
    request.url = request.url.replace("key.txt", "other.txt")
    assert not verify(request)


def test_read_signature_rejects_malformed_headers():
    with pytest.raises(auth.AuthError) as error:
        auth.read_signature({"authorization": "AWS4-HMAC-SHA256 Credential=x", "x-amz-date": "20260101T000000Z"}, {})
    assert error.value.code == "IncompleteSignature"
    with pytest.raises(auth.AuthError):
        auth.read_signature({"authorization": "AWS AKIA:sig"}, {})  # Signature V2
    with pytest.raises(auth.AuthError) as error:
        auth.read_signature(
            {"authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/sts, SignedHeaders=host, Signature=ab",
             "x-amz-date": "20260101T000000Z"}, {})
    assert "Credential should be scoped" in error.value.message
    assert auth.read_signature({}, {}) is None


def test_freshness_windows():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    stamp = lambda dt: dt.strftime("%Y%m%dT%H%M%SZ")  # noqa: E731
    fresh = auth.SignedRequestInfo(KEY, "20261127", "us-east-1", "sts", ("host",), "ab", stamp(now - timedelta(minutes=5)), False)
    auth.check_freshness(fresh, now=now, max_skew_seconds=900)
    stale = auth.SignedRequestInfo(KEY, "20261127", "us-east-1", "sts", ("host",), "ab", stamp(now - timedelta(minutes=16)), False)
    with pytest.raises(auth.AuthError) as error:
        auth.check_freshness(stale, now=now, max_skew_seconds=900)
    assert error.value.kind == "skewed"
    expired = auth.SignedRequestInfo(KEY, "20261127", "us-east-1", "s3", ("host",), "ab", stamp(now - timedelta(seconds=61)), True, 60)
    with pytest.raises(auth.AuthError, match="expired"):
        auth.check_freshness(expired, now=now, max_skew_seconds=900)


@pytest.mark.parametrize("amz_date", ["2026-11-27T12:00:00Z", "20261327T120000Z", "20261127T120000", "20261127T12000Z", ""])
def test_a_malformed_signing_date_is_an_incomplete_signature(amz_date):
    info = auth.SignedRequestInfo(KEY, "20261127", "us-east-1", "sts", ("host",), "ab", amz_date, False)
    with pytest.raises(auth.AuthError) as error:
        auth.check_freshness(info, now=datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc), max_skew_seconds=900)
    assert error.value.code == "IncompleteSignature" and "ISO-8601" in error.value.message
