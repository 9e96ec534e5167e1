from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from serverless_lab.sandboxes.models import Sandbox

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("sandbox", *args, stdout=out)
    return out.getvalue()


def test_create_json_prints_the_credentials_and_creates_the_user():
    data = json.loads(run("create", "--user", "student1", "--create-user", "--json"))
    assert set(data) >= {"id", "account_id", "region", "access_key_id", "secret_access_key", "endpoint_url"}
    sandbox = Sandbox.objects.get(pk=data["id"])
    assert sandbox.owner.username == "student1"
    assert data["secret_access_key"] == sandbox.secret_access_key
    assert data["endpoint_url"].endswith("/aws/")


def test_create_refuses_an_unknown_user_without_create_user():
    with pytest.raises(CommandError, match="--create-user"):
        run("create", "--user", "nobody")
    assert not User.objects.filter(username="nobody").exists()


def test_create_refuses_a_bad_region_and_a_bad_name(cast):
    with pytest.raises(CommandError, match="unknown region"):
        run("create", "--user", "alice", "--region", "mars-north-1")
    with pytest.raises(CommandError):
        run("create", "--user", "alice", "--name", "../etc")


def test_list_reset_delete(cast):
    listing = json.loads(run("list", "--json"))
    assert [row["account_id"] for row in listing] == [cast.sandbox.account_id]
    assert "alice-sandbox" in run("list")
    assert "reset" in run("reset", cast.sandbox.account_id)
    assert "deleted" in run("delete", str(cast.sandbox.pk))
    assert run("list") .strip() == "no sandboxes"
    with pytest.raises(CommandError, match="no sandbox"):
        run("delete", "999999")
