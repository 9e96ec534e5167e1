from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from serverless_lab.sandboxes import services
from serverless_lab.sandboxes.models import Sandbox

pytestmark = pytest.mark.django_db


def test_it_creates_an_account_with_aws_shaped_identifiers(cast):
    sandbox = cast.sandbox
    assert re.fullmatch(r"[1-9]\d{11}", sandbox.account_id)
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", sandbox.access_key_id)
    assert len(sandbox.secret_access_key) == 40
    assert sandbox.region == "us-east-1"
    assert sandbox.caller_arn == f"arn:aws:iam::{sandbox.account_id}:user/alice"


def test_every_sandbox_gets_its_own_keys(cast):
    other = services.sandbox_create(owner=cast.alice, name="second", region="eu-west-1")
    assert other.account_id != cast.sandbox.account_id
    assert other.access_key_id != cast.sandbox.access_key_id
    assert other.secret_access_key != cast.sandbox.secret_access_key


def test_it_rejects_a_duplicate_name_for_the_same_owner(cast):
    with pytest.raises(ValidationError) as error:
        services.sandbox_create(owner=cast.alice, name="alice-sandbox")
    assert "already have a sandbox" in str(error.value)
    # Another user may use the same name.
    assert services.sandbox_create(owner=cast.charlie, name="alice-sandbox").owner == cast.charlie


def test_it_caps_sandboxes_per_user(cast):
    for index in range(services.MAX_SANDBOXES_PER_USER - 1):
        services.sandbox_create(owner=cast.alice, name=f"box-{index}")
    with pytest.raises(ValidationError, match="at most"):
        services.sandbox_create(owner=cast.alice, name="one-too-many")


def test_rename_keeps_identity_and_refuses_a_taken_name(cast):
    services.sandbox_create(owner=cast.alice, name="taken")
    keys = (cast.sandbox.account_id, cast.sandbox.access_key_id)
    services.sandbox_rename(sandbox=cast.sandbox, name="renamed")
    cast.sandbox.refresh_from_db()
    assert cast.sandbox.name == "renamed"
    assert (cast.sandbox.account_id, cast.sandbox.access_key_id) == keys
    with pytest.raises(ValidationError):
        services.sandbox_rename(sandbox=cast.sandbox, name="taken")


def test_reset_keeps_the_account_and_sends_the_reset_signal(cast, django_capture_on_commit_callbacks):
    from serverless_lab.sandboxes.signals import sandbox_reset

    received = []

    def on_reset(sender, sandbox, **kwargs):
        received.append(sandbox.pk)

    sandbox_reset.connect(on_reset)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.sandbox_reset(sandbox=cast.sandbox)
    finally:
        sandbox_reset.disconnect(on_reset)
    assert received == [cast.sandbox.pk]
    assert Sandbox.objects.filter(pk=cast.sandbox.pk, access_key_id=cast.sandbox.access_key_id).exists()


def test_delete_removes_the_sandbox(cast):
    services.sandbox_delete(sandbox=cast.sandbox)
    assert not Sandbox.objects.filter(pk=cast.sandbox.pk).exists()
