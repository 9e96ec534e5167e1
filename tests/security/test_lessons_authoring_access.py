"""Check code and reference solutions are for instructors only, and authored Markdown cannot inject script."""

from __future__ import annotations

import io

import pytest

from lessons.authoring import ExerciseDraft, authored_save
from lessons.models import Attempt
from lessons.services import lessons_load

pytestmark = pytest.mark.django_db

SECRET = "reference-solution-marker-7f3a"
CHECKS = f'''from lessons.checks import check


@check("A queue named 'jobs' exists")
def queue_exists(session):
    session.client("sqs").get_queue_url(QueueName="jobs")


def solution(session):
    session.client("sqs").create_queue(QueueName="jobs")  # {SECRET}
'''


@pytest.fixture
def authored(cast):
    assert lessons_load().ok
    draft = ExerciseDraft(
        slug="sqs-jobs",
        title="A jobs queue",
        lesson="amazon-sns-sqs",
        order=1,
        summary="Create a queue.",
        hints=["Use create_queue."],
        starter="import boto3\n",
        instructions=(
            "Build it.\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n"
            "[click](javascript:alert(1))\n"
        ),
        module_source=CHECKS,
    )
    return authored_save(author=cast.bob, draft=draft)


INSTRUCTOR_PAGES = [
    ("get", "/lessons/authoring/"),
    ("get", "/lessons/authoring/new/"),
    ("get", "/lessons/authoring/sqs-jobs/"),
    ("post", "/lessons/authoring/sqs-jobs/"),
    ("post", "/lessons/authoring/sqs-jobs/delete/"),
    ("post", "/lessons/authoring/import/"),
    ("get", "/lessons/exercises/sqs-jobs/export/"),
    ("get", "/lessons/exercises/sqs-orders-dlq/export/"),
    ("post", "/lessons/exercises/sqs-jobs/reference/"),
]


@pytest.mark.parametrize(("method", "url"), INSTRUCTOR_PAGES)
def test_students_get_a_403_and_no_check_code(client, cast, authored, method: str, url: str):
    client.force_login(cast.alice)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert SECRET.encode() not in response.content
    assert b"def solution" not in response.content


@pytest.mark.parametrize(("method", "url"), INSTRUCTOR_PAGES)
def test_visitors_are_sent_to_log_in(client, authored, method: str, url: str):
    response = getattr(client, method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_nothing_was_changed_by_a_student(client, cast, authored):
    client.force_login(cast.alice)
    client.post("/lessons/authoring/sqs-jobs/delete/")
    client.post("/lessons/authoring/sqs-jobs/", {"title": "hacked", "action": "save"})
    authored.refresh_from_db()
    assert authored.title == "A jobs queue"
    assert not Attempt.objects.filter(reference=True).exists()


def test_the_student_view_of_an_authored_exercise_shows_labels_not_code(client, cast, authored):
    client.force_login(cast.alice)
    pages = [
        client.get("/lessons/amazon-sns-sqs/"),
        client.get("/lessons/exercises/sqs-jobs/hints/?shown=5"),
        client.post("/lessons/exercises/sqs-jobs/submit/", headers={"HX-Request": "true"}),
    ]
    for response in pages:
        assert response.status_code == 200
        assert SECRET.encode() not in response.content
        assert b"def queue_exists" not in response.content
    assert b"A queue named &#x27;jobs&#x27; exists" in pages[0].content


def test_authored_markdown_cannot_inject_script(client, cast, authored):
    client.force_login(cast.alice)
    html = client.get("/lessons/amazon-sns-sqs/").content.decode()
    section = html[html.index('id="exercise-sqs-jobs"') :]
    assert "<script>alert" not in section
    assert "onerror" not in section
    assert "javascript:alert" not in section


def test_an_oversized_upload_is_refused_in_the_form(client, cast, authored):
    client.force_login(cast.bob)
    upload = io.BytesIO(b"x" * (300 * 1024))
    upload.name = "huge.zip"
    response = client.post("/lessons/authoring/import/", {"files": [upload]})
    assert response.status_code == 400
    assert b"too large" in response.content
