"""Classes: students join with a code; only the class's instructor sees its dashboard and attempts."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from lessons.models import Attempt
from lessons.services import lessons_load
from serverless_lab.accounts.models import Classroom

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded() -> None:
    assert lessons_load().ok


def test_a_student_joins_a_class_with_its_code(client, cast):
    classroom = Classroom.objects.create(name="Evening class", instructor=cast.bob)
    client.force_login(cast.charlie)
    response = client.post(reverse("lessons:class_join"), {"join_code": f" {classroom.join_code.lower()} "})
    assert response.status_code == 302
    assert classroom.students.filter(pk=cast.charlie.pk).exists()


def test_a_wrong_code_says_so(client, cast):
    client.force_login(cast.charlie)
    html = client.post(reverse("lessons:class_join"), {"join_code": "NOPE"}).content.decode()
    assert "No class has that join code" in html
    assert not cast.charlie.classrooms.exists()


def test_an_instructor_creates_a_class(client, cast):
    client.force_login(cast.bob)
    response = client.post(reverse("lessons:class_create"), {"name": "Spring term"})
    classroom = Classroom.objects.get(name="Spring term")
    assert response["Location"] == reverse("lessons:class_dashboard", args=[classroom.pk])
    assert classroom.instructor == cast.bob
    client.force_login(cast.alice)
    assert client.post(reverse("lessons:class_create"), {"name": "Mine"}).status_code == 403


def test_the_instructor_page_lists_classes_with_their_codes(client, cast):
    client.force_login(cast.bob)
    html = client.get(reverse("web:instructor")).content.decode()
    classroom = Classroom.objects.get(instructor=cast.bob)
    assert "Serverless 101" in html and classroom.join_code in html and "1 student" in html


def test_the_class_dashboard_charts_progress_and_failing_checks(client, loaded, cast):
    Attempt.objects.create(
        user=cast.alice,
        exercise_slug="s3-photos-versioning",
        total=2,
        score=50,
        status="done",
        results=[
            {"name": "a", "label": "Bucket exists", "status": "passed", "message": ""},
            {"name": "b", "label": "Versioning is Enabled", "status": "failed", "message": "Suspended"},
        ],
    )
    classroom = Classroom.objects.get(instructor=cast.bob)
    client.force_login(cast.bob)
    response = client.get(reverse("lessons:class_dashboard", args=[classroom.pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "alice" in html and "class_dashboard.js" in html
    figures = json.loads(html.split('id="class-figures" type="application/json">')[1].split("</script>")[0])
    assert set(figures) == {"lessons", "exercises", "attempts", "failing"}
    assert figures["failing"]["data"][0]["y"] == ["Keep every version of your photos: Versioning is Enabled"]
    assert figures["attempts"]["data"][0]["x"] == [1]


def test_nobody_else_sees_a_class_or_its_students_attempts(client, loaded, cast):
    classroom = Classroom.objects.get(instructor=cast.bob)
    Attempt.objects.create(user=cast.alice, exercise_slug="wis-first-bucket", total=2, status="done")
    dashboard = reverse("lessons:class_dashboard", args=[classroom.pk])
    attempts = reverse("lessons:class_student", args=[classroom.pk, cast.alice.pk])
    client.force_login(cast.bob)
    assert client.get(attempts).status_code == 200
    assert "Your first bucket" in client.get(attempts).content.decode()
    assert client.get(reverse("lessons:class_student", args=[classroom.pk, cast.charlie.pk])).status_code == 404
    other_instructor = Classroom.objects.create(name="Other", instructor=cast.charlie)
    assert client.get(reverse("lessons:class_dashboard", args=[other_instructor.pk])).status_code == 404
    for user in (cast.alice, cast.charlie):
        client.force_login(user)
        assert client.get(dashboard).status_code == 404
        assert client.get(attempts).status_code == 404
