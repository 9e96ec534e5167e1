"""The AWS endpoint over real HTTP: boto3 and the AWS CLI against a live server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from serverless_lab.sandboxes.services import sandbox_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def test_get_caller_identity_names_the_sandbox_account(live_lab, cast):
    identity = live_lab.client("sts", cast.sandbox).get_caller_identity()
    assert identity["Account"] == cast.sandbox.account_id
    assert identity["Arn"] == f"arn:aws:iam::{cast.sandbox.account_id}:user/alice"
    assert identity["UserId"].startswith("AIDA")


def test_each_sandbox_answers_as_its_own_account(live_lab, cast):
    other = sandbox_create(owner=cast.charlie, name="charlie-box")
    assert live_lab.client("sts", other).get_caller_identity()["Account"] == other.account_id


def test_an_unknown_access_key_is_refused(live_lab, cast):
    sts = boto3.client(
        "sts", endpoint_url=live_lab.endpoint_url, region_name="us-east-1",
        aws_access_key_id="AKIAAAAAAAAAAAAAAAAA", aws_secret_access_key="x" * 40,
    )
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error_code(error.value) == "InvalidClientTokenId"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_wrong_secret_is_a_signature_mismatch(live_lab, cast):
    sts = boto3.client(
        "sts", endpoint_url=live_lab.endpoint_url, region_name="us-east-1",
        aws_access_key_id=cast.sandbox.access_key_id, aws_secret_access_key="y" * 40,
    )
    with pytest.raises(ClientError) as error:
        sts.get_caller_identity()
    assert error_code(error.value) == "SignatureDoesNotMatch"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_unsupported_operation_is_an_aws_error_naming_it(live_lab, cast):
    sts = live_lab.client("sts", cast.sandbox)
    with pytest.raises(ClientError) as error:
        sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/demo", RoleSessionName="lesson")
    assert error_code(error.value) == "NotImplemented"
    assert "AssumeRole" in error.value.response["Error"]["Message"]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_an_unsigned_request_gets_an_aws_error(live_lab, cast):
    response = requests.post(live_lab.endpoint_url, data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, timeout=10)
    assert response.status_code == 403
    root = ET.fromstring(response.content)
    assert root.tag.endswith("ErrorResponse")
    assert root.find(".//{*}Code").text == "MissingAuthenticationToken"


def test_malformed_authorization_gets_an_aws_error_not_a_500(live_lab, cast):
    response = requests.post(
        live_lab.endpoint_url,
        data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={"Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20260101T000000Z"},
        timeout=10,
    )
    assert response.status_code == 403
    assert b"<Code>IncompleteSignature</Code>" in response.content


def _signed(sandbox, url: str, body: bytes, when: datetime) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    auth = SigV4Auth(Credentials(sandbox.access_key_id, sandbox.secret_access_key), "sts", sandbox.region)
    request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    return dict(request.headers)


def test_a_stale_signature_is_refused(live_lab, cast):
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = _signed(cast.sandbox, live_lab.endpoint_url, body, datetime.now(timezone.utc) - timedelta(hours=1))
    response = requests.post(live_lab.endpoint_url, data=body, headers=headers, timeout=10)
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content and b"Signature expired" in response.content


def test_an_oversized_request_is_refused_with_an_aws_error(live_lab, cast, settings):
    body = b"Action=GetCallerIdentity&Version=2011-06-15&pad=" + b"x" * (settings.LAB_MAX_REQUEST_BYTES + 10)
    response = requests.post(live_lab.endpoint_url, data=body, timeout=30)
    assert response.status_code == 413
    assert b"RequestEntityTooLarge" in response.content


def test_a_presigned_url_works_from_a_plain_http_client(live_lab, cast):
    url = live_lab.client("sts", cast.sandbox).generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert f"<Account>{cast.sandbox.account_id}</Account>".encode() in response.content
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    assert requests.get(tampered, timeout=10).status_code == 403


def test_the_aws_cli_prints_the_sandbox_account(live_lab, cast):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(live_lab.env.get("HOME", "/tmp")),
        "AWS_ACCESS_KEY_ID": cast.sandbox.access_key_id,
        "AWS_SECRET_ACCESS_KEY": cast.sandbox.secret_access_key,
        "AWS_DEFAULT_REGION": cast.sandbox.region,
        "AWS_ENDPOINT_URL": live_lab.endpoint_url,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", "sts", "get-caller-identity", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Account"] == cast.sandbox.account_id


def test_boto3s_default_s3_presigned_urls_signature_v2_work(live_lab, cast):
    """boto3 presigns S3 URLs with the legacy query signature unless told otherwise: students get those."""
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="presign-v2")
    s3.put_object(Bucket="presign-v2", Key="notes/hello world.txt", Body=b"hello v2")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign-v2", "Key": "notes/hello world.txt"}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.content == b"hello v2"
    assert requests.get(url.replace("hello%20world", "other"), timeout=10).status_code == 403
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": "presign-v2", "Key": "notes/hello world.txt"}, ExpiresIn=-5)
    refused = requests.get(expired, timeout=10)
    assert refused.status_code == 403 and b"expired" in refused.content


def test_renaming_the_owner_renames_the_caller_at_once(live_lab, cast):
    """A sandbox cached by the endpoint carries its owner; a rename must not leave the old name."""
    sts = live_lab.client("sts", cast.sandbox)
    assert sts.get_caller_identity()["Arn"].endswith(":user/alice")
    cast.alice.username = "alice-renamed"
    cast.alice.save()
    assert sts.get_caller_identity()["Arn"].endswith(":user/alice-renamed")
