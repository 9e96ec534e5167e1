from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from serverless_lab.accounts.selectors import user_is_instructor, user_teaches

pytestmark = pytest.mark.django_db


def test_sign_up_logs_the_new_student_in(client):
    response = client.post(
        reverse("signup"),
        {"username": "dana", "email": "", "password1": "a-long-passphrase", "password2": "a-long-passphrase"},
    )
    assert response.status_code == 302
    dana = User.objects.get(username="dana")
    assert not user_is_instructor(dana)
    assert client.get(reverse("sandboxes:list")).status_code == 200


def test_sign_up_shows_field_errors(client):
    response = client.post(reverse("signup"), {"username": "", "password1": "short", "password2": "other"})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.exists()


def test_log_in_and_out(client, cast):
    response = client.post(reverse("login"), {"username": "alice", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get(reverse("sandboxes:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("sandboxes:list")).status_code == 302


def test_wrong_password_is_an_error_in_the_page(client, cast):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_create_instructor_command_creates_and_promotes(cast):
    out = StringIO()
    call_command("create_instructor", "erin", stdout=out)
    assert "instructor erin created" in out.getvalue()
    assert user_is_instructor(User.objects.get(username="erin"))
    call_command("create_instructor", "charlie", stdout=out)
    assert user_is_instructor(cast.charlie)


def test_instructor_relation_comes_from_classrooms(cast):
    assert user_teaches(cast.bob, cast.alice.pk)
    assert not user_teaches(cast.bob, cast.charlie.pk)
    assert not user_teaches(cast.charlie, cast.alice.pk)
