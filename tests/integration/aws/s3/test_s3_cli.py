"""The AWS CLI against S3: `aws s3 cp`, `aws s3 sync` of a folder and `aws s3api`, as a student runs them.

The CLI uploads with aws-chunked bodies and CRC32 trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER or
STREAMING-AWS4-HMAC-SHA256-PAYLOAD, depending on the botocore version); the objects must come out intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def aws(live_lab, sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(live_lab.env.get("HOME", "/tmp")),
        "AWS_ACCESS_KEY_ID": sandbox.access_key_id,
        "AWS_SECRET_ACCESS_KEY": sandbox.secret_access_key,
        "AWS_DEFAULT_REGION": sandbox.region,
        "AWS_ENDPOINT_URL": live_lab.endpoint_url,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    result = subprocess.run(
        [sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


def test_cp_sync_and_s3api_round_trip(live_lab, cast, tmp_path: Path):
    s3 = live_lab.client("s3", cast.sandbox)
    aws(live_lab, cast.sandbox, "s3", "mb", "s3://alice-cli")
    source = tmp_path / "site"
    (source / "css").mkdir(parents=True)
    files = {"index.html": b"<h1>home</h1>", "css/app.css": b"body{}", "big.bin": os.urandom(9 * 1024 * 1024)}
    for name, data in files.items():
        (source / name).write_bytes(data)

    aws(live_lab, cast.sandbox, "s3", "cp", str(source / "index.html"), "s3://alice-cli/copied/index.html")
    assert s3.get_object(Bucket="alice-cli", Key="copied/index.html")["Body"].read() == files["index.html"]

    aws(live_lab, cast.sandbox, "s3", "sync", str(source), "s3://alice-cli/site/")
    for name, data in files.items():
        assert s3.get_object(Bucket="alice-cli", Key=f"site/{name}")["Body"].read() == data, name
    # A second sync finds nothing to upload; a sync back down reproduces the folder.
    assert aws(live_lab, cast.sandbox, "s3", "sync", str(source), "s3://alice-cli/site/").stdout.strip() == ""
    target = tmp_path / "back"
    aws(live_lab, cast.sandbox, "s3", "sync", "s3://alice-cli/site/", str(target))
    assert {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()} == files

    listing = aws(live_lab, cast.sandbox, "s3", "ls", "s3://alice-cli/site/").stdout
    assert "PRE css/" in listing and "index.html" in listing
    head = json.loads(
        aws(live_lab, cast.sandbox, "s3api", "head-object", "--bucket", "alice-cli", "--key", "site/index.html").stdout
    )
    assert head["ContentLength"] == len(files["index.html"]) and head["ContentType"] == "text/html"
    aws(live_lab, cast.sandbox, "s3", "rm", "s3://alice-cli/", "--recursive")
    aws(live_lab, cast.sandbox, "s3", "rb", "s3://alice-cli")
    assert s3.list_buckets()["Buckets"] == []
