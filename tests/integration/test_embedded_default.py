"""The laptop default: no DATABASE_URL, no REDIS_URL; runlab brings up everything itself."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from django.contrib.auth.models import User

from serverless_lab.ops.embedded import free_port, wait_for_port
from serverless_lab.sandboxes.services import sandbox_create

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_lab(var_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "LAB_PUBLIC_URL"}}
    env["LAB_VAR_DIR"] = str(var_dir)
    return subprocess.Popen(
        [sys.executable, "manage.py", "runlab", "--port", str(port), "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=40)
    return output


def test_runlab_serves_on_sqlite_and_an_embedded_redis_and_keeps_state(tmp_path):
    port = free_port()
    lab = run_lab(tmp_path, port)
    try:
        wait_for_port("127.0.0.1", port, timeout=90)
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        signup = requests.get(f"http://127.0.0.1:{port}/accounts/signup/", timeout=10)
        static = requests.get(f"http://127.0.0.1:{port}/static/vendor/htmx-2.0.4.min.js", timeout=10)
    finally:
        output = stop(lab)
    assert home.status_code == 200, output
    assert signup.status_code == 200
    assert static.status_code == 200 and b"htmx" in static.content
    assert "embedded" in output and "sqlite3" in output
    assert lab.returncode == 0, output
    assert (tmp_path / "db.sqlite3").exists()
    with pytest.raises(OSError):  # Ctrl-C stopped the web server child too
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    # A second run reuses the same database: the user created through the first run is still there.
    subprocess.run(
        [sys.executable, "manage.py", "sandbox", "create", "--user", "keeper", "--create-user"],
        cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}, "LAB_VAR_DIR": str(tmp_path)},
        check=True, capture_output=True,
    )
    port = free_port()
    lab = run_lab(tmp_path, port)
    try:
        wait_for_port("127.0.0.1", port, timeout=90)
        time.sleep(0.2)
        listing = subprocess.run(
            [sys.executable, "manage.py", "sandbox", "list"],
            cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}, "LAB_VAR_DIR": str(tmp_path)},
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        output = stop(lab)
    assert "keeper" in listing
    assert lab.returncode == 0, output


@pytest.mark.django_db(transaction=True)
def test_runlab_honours_database_url_and_redis_url(live_lab):
    """Operators call runlab directly with the real backends: it must use them, not embedded ones."""
    sandbox = sandbox_create(owner=User.objects.create_user("operator"), name="ops-box")
    port = free_port()
    env = {**live_lab.env, "LAB_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    lab = subprocess.Popen(
        [sys.executable, "manage.py", "runlab", "--port", str(port), "--workers", "1", "--skip-setup"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        sts = boto3.client(
            "sts", endpoint_url=f"http://127.0.0.1:{port}/aws/", region_name="us-east-1",
            aws_access_key_id=sandbox.access_key_id, aws_secret_access_key=sandbox.secret_access_key,
        )
        account = sts.get_caller_identity()["Account"]
    finally:
        output = stop(lab)
    assert account == sandbox.account_id
    assert f"redis     {env['REDIS_URL']}" in output
    assert "embedded" not in output
    assert lab.returncode == 0, output
