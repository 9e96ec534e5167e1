"""The site shell: home page, navigation, auth pages, placeholder and error pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.urls import reverse

from lessons.services import lessons_load
from serverless_lab.web.views import server_error

pytestmark = pytest.mark.django_db

TOPICS = [
    ("What is Serverless?", "/lessons/what-is-serverless/"),
    ("AWS Lambda", "/lessons/aws-lambda/"),
    ("Amazon API Gateway", "/lessons/amazon-api-gateway/"),
    ("Amazon S3", "/lessons/amazon-s3/"),
    ("Amazon DynamoDB", "/lessons/amazon-dynamodb/"),
    ("Amazon EventBridge", "/lessons/amazon-eventbridge/"),
    ("Amazon SNS and SQS", "/lessons/amazon-sns-sqs/"),
]


def nav_labels(html: str) -> list[str]:
    nav = re.search(r'<nav class="site-nav" aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav is not None
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav.group(1))


def test_home_and_web_home_are_the_same_url():
    assert reverse("home") == reverse("web:home") == "/"


def test_home_shows_the_seven_topics_in_order_with_links(client):
    assert lessons_load().ok
    html = client.get("/").content.decode()
    assert "Learn AWS serverless" in html
    cards = re.findall(r'<a class="stretched-link" href="([^"]+)">.*?</span>([^<]+)</a>', html)
    assert [(title, href) for href, title in cards] == TOPICS
    assert "Read" in html and "Run in your sandbox" in html and "Watch events flow" in html


def test_home_shows_progress_only_to_signed_in_users(client, cast):
    assert lessons_load().ok
    assert "Not started" not in client.get("/").content.decode()
    client.force_login(cast.alice)
    assert client.get("/").content.decode().count("Not started") == 7


def test_home_without_lessons_says_so(client):
    assert "No lessons loaded yet" in client.get("/").content.decode()


def test_nav_for_anonymous_visitors_offers_log_in_and_sign_up(client):
    html = client.get("/").content.decode()
    assert nav_labels(html) == ["Lessons", "Playground", "Sandboxes"]
    assert 'href="/accounts/login/?next=/"' in html
    assert 'href="/accounts/signup/"' in html


def test_nav_shows_instructor_only_to_instructors_and_staff(client, cast):
    client.force_login(cast.alice)
    assert "Instructor" not in nav_labels(client.get("/").content.decode())
    client.force_login(cast.bob)
    assert nav_labels(client.get("/").content.decode()) == ["Lessons", "Playground", "Sandboxes", "Instructor"]
    staff = User.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert "Instructor" in nav_labels(client.get("/").content.decode())


def test_nav_marks_the_current_section(client):
    html = client.get(reverse("lessons:index")).content.decode()
    assert '<a href="/lessons/" aria-current="page">Lessons</a>' in html


def test_nav_marks_instructor_pages_under_lessons_as_instructor(client, cast):
    client.force_login(cast.bob)
    for url in (reverse("lessons:coverage"), reverse("lessons:authoring")):
        html = client.get(url).content.decode()
        assert '<a href="/instructor/" aria-current="page">Instructor</a>' in html
        assert '<a href="/lessons/">Lessons</a>' in html
    html = client.get(reverse("lessons:index")).content.decode()
    assert '<a href="/lessons/" aria-current="page">Lessons</a>' in html


def test_signed_in_header_has_a_post_logout_form(client, cast):
    client.force_login(cast.alice)
    html = client.get("/").content.decode()
    assert re.search(
        r'<form method="post" action="/accounts/logout/">\s*<input type="hidden" name="csrfmiddlewaretoken"', html
    )
    assert "alice" in html


def test_instructor_page_is_friendly_403_for_students(client, cast):
    client.force_login(cast.alice)
    response = client.get(reverse("web:instructor"))
    assert response.status_code == 403
    assert "This page isn't open to you" in response.content.decode()
    client.force_login(cast.bob)
    assert client.get(reverse("web:instructor")).status_code == 200


def test_instructor_page_sends_anonymous_visitors_to_log_in(client):
    response = client.get(reverse("web:instructor"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_playground_is_a_coming_soon_page(client):
    response = client.get(reverse("web:playground"))
    assert response.status_code == 200
    assert "Coming soon" in response.content.decode()


def test_unknown_url_gets_the_friendly_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn't find that page" in html
    assert "/no/such/page/" in html
    assert "Technical details" not in html and "Using the URLconf" not in html


@pytest.mark.django_db
def test_a_404_inside_your_own_sandbox_leads_back_to_it(client, cast):
    client.force_login(cast.alice)
    html = client.get(f"/sandboxes/{cast.sandbox.pk}/sqs/queues/deleted-long-ago/").content.decode()
    assert f'href="/sandboxes/{cast.sandbox.pk}/"' in html and f"Back to {cast.sandbox.name}" in html
    client.force_login(cast.charlie)  # somebody else's sandbox: no hint that it exists
    html = client.get(f"/sandboxes/{cast.sandbox.pk}/sqs/queues/deleted-long-ago/").content.decode()
    assert "Back to" not in html and f'href="/sandboxes/{cast.sandbox.pk}/"' not in html


def test_server_error_page_renders_without_context_processors():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_login_page_has_labelled_fields_with_autocomplete(client):
    html = client.get(reverse("login")).content.decode()
    assert '<label class="field-label" for="id_username">Username' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html


def test_login_errors_are_announced(client, cast):
    html = client.post(reverse("login"), {"username": "alice", "password": "wrong"}).content.decode()
    assert 'class="form-errors" role="alert"' in html


def test_signup_field_errors_are_linked_to_their_inputs(client):
    response = client.post(
        reverse("signup"), {"username": "", "email": "not-an-email", "password1": "a", "password2": "b"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'autocomplete="email"' in html
    email_input = re.search(r'<input type="email"[^>]*>', html)
    assert email_input and 'aria-invalid="true"' in email_input.group(0)
    assert "id_email_error" in email_input.group(0)
    assert 'id="id_email_error"' in html
    assert 'autocomplete="new-password"' in html
