"""Lesson index and detail pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lessons.services import lessons_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded() -> None:
    assert lessons_load().ok


def test_index_lists_the_lessons_in_order(client, loaded):
    response = client.get(reverse("lessons:index"))
    assert response.status_code == 200
    html = response.content.decode()
    titles = ["What is Serverless?", "AWS Lambda", "Amazon API Gateway", "Amazon S3", "Amazon DynamoDB"]
    positions = [html.index(title) for title in titles]
    assert positions == sorted(positions)
    assert 'href="/lessons/amazon-sns-sqs/"' in html


def test_index_without_lessons_shows_how_to_load_them(client):
    response = client.get(reverse("lessons:index"))
    assert "No lessons loaded yet" in response.content.decode()
    assert "manage.py lessons load" in response.content.decode()


def test_detail_renders_objectives_toc_and_neighbours(client, loaded):
    response = client.get(reverse("lessons:detail", args=["aws-lambda"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "What you'll learn" in html
    assert "Tell synchronous, asynchronous and event-source-mapping invocations apart" in html
    assert 'href="#limits-worth-memorising"' in html
    assert 'rel="prev"' in html and 'href="/lessons/what-is-serverless/"' in html
    assert 'rel="next"' in html and 'href="/lessons/amazon-api-gateway/"' in html
    assert "About 20 minutes" in html


def test_first_lesson_has_no_previous_link(client, loaded):
    html = client.get(reverse("lessons:detail", args=["what-is-serverless"])).content.decode()
    assert 'rel="prev"' not in html and 'rel="next"' in html


def test_unknown_lesson_is_a_friendly_404(client, loaded):
    response = client.get("/lessons/no-such-lesson/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()


def test_progress_is_shown_only_to_signed_in_students(client, loaded, cast):
    url = reverse("lessons:detail", args=["amazon-s3"])
    assert "Not started" not in client.get(url).content.decode()
    client.force_login(cast.alice)
    html = client.get(url).content.decode()
    assert "In progress" in html  # opening the lesson is its first step
    assert '<progress class="progress" value="25" max="100"' in html
