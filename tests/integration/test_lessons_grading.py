"""Every exercise, graded by the real Celery worker against a real sandbox over the real /aws/ endpoint.

The starter (an empty sandbox) must fail every check; the reference solution must pass them all.
"""

from __future__ import annotations

import time

import pytest

from lessons.checks import LabSession, load_module
from lessons.models import Attempt, Exercise
from lessons.services import exercise_module_path, exercise_submit, lessons_load
from serverless_lab.sandboxes.models import Sandbox
from serverless_lab.sandboxes.services import sandbox_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXERCISES = [
    "wis-first-bucket",
    "wis-whoami",
    "s3-photos-versioning",
    "s3-report-metadata",
    "ddb-orders-table",
    "ddb-scores-gsi",
    "lambda-hello",
    "lambda-config",
    "sqs-orders-dlq",
    "sns-alerts-fanout",
]


def wait_for(attempt: Attempt, timeout: float = 60) -> Attempt:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt.refresh_from_db()
        if attempt.finished:
            return attempt
        time.sleep(0.2)
    raise TimeoutError(f"attempt {attempt.pk} still {attempt.status} after {timeout}s")


def solve(live_lab, sandbox, slug: str) -> None:
    """Build the reference solution in ``sandbox`` over real HTTP."""
    session = LabSession(
        endpoint_url=live_lab.endpoint_url,
        access_key_id=sandbox.access_key_id,
        secret_access_key=sandbox.secret_access_key,
        region=sandbox.region,
    )
    load_module(exercise_module_path(Exercise.objects.get(slug=slug)), name=slug).solution(session)


def test_every_shipped_exercise_is_listed_here():
    assert lessons_load().ok
    assert sorted(Exercise.objects.values_list("slug", flat=True)) == sorted(EXERCISES)


@pytest.mark.parametrize("slug", EXERCISES)
def test_starter_fails_and_reference_solution_passes(live_lab, django_user_model, slug):
    assert lessons_load().ok
    exercise = Exercise.objects.get(slug=slug)
    student = django_user_model.objects.create_user(f"student-{slug}", password="x-long-password")
    sandbox = sandbox_create(owner=student, name="lab")

    # A classmate solved it first: bucket names are global, so this must not get in the way.
    classmate = django_user_model.objects.create_user(f"classmate-{slug}", password="x-long-password")
    solve(live_lab, sandbox_create(owner=classmate, name="lab"), slug)

    starter = wait_for(exercise_submit(user=student, exercise=exercise))
    assert starter.status == Attempt.Status.DONE, starter.error
    assert starter.score == 0
    assert [r["status"] for r in starter.results] == ["failed"] * len(exercise.checks)
    assert all(r["message"] for r in starter.results)

    solve(live_lab, sandbox, slug)

    solved = wait_for(exercise_submit(user=student, exercise=exercise))
    assert solved.status == Attempt.Status.DONE, solved.error
    assert [(r["name"], r["status"], r["message"]) for r in solved.results] == [
        (c["name"], "passed", "") for c in exercise.checks
    ]
    assert solved.score == 100


def test_an_instructor_runs_the_reference_solution_in_a_throwaway_sandbox(live_lab, cast, client):
    assert lessons_load().ok
    client.force_login(cast.bob)
    response = client.post("/lessons/exercises/ddb-scores-gsi/reference/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    attempt = wait_for(Attempt.objects.get(reference=True))
    assert attempt.status == Attempt.Status.DONE, attempt.error
    assert attempt.score == 100
    assert not Sandbox.objects.filter(owner=cast.bob).exists()  # deleted after the run
    client.force_login(cast.alice)
    assert client.post("/lessons/exercises/ddb-scores-gsi/reference/").status_code == 403


AUTHORED_CHECKS = '''from lessons.checks import check


@check("A queue named 'jobs' exists")
def queue_exists(session):
    session.client("sqs").get_queue_url(QueueName="jobs")


def solution(session):
    session.client("sqs").create_queue(QueueName="jobs")
'''


def test_an_authored_exercise_is_graded_like_a_shipped_one(live_lab, cast):
    from lessons.authoring import ExerciseDraft, authored_save
    from lessons.services import exercise_reference_run

    assert lessons_load().ok
    draft = ExerciseDraft(
        slug="sqs-jobs",
        title="A jobs queue",
        lesson="amazon-sns-sqs",
        order=1,
        summary="Create a queue.",
        hints=["Use create_queue."],
        starter="",
        instructions="Create a queue named `jobs`.",
        module_source=AUTHORED_CHECKS,
    )
    exercise = authored_save(author=cast.bob, draft=draft).exercise

    reference = wait_for(exercise_reference_run(user=cast.bob, exercise=exercise))
    assert (reference.status, reference.score, reference.error) == (Attempt.Status.DONE, 100, "")

    starter = wait_for(exercise_submit(user=cast.alice, exercise=exercise))
    assert [r["status"] for r in starter.results] == ["failed"] and starter.score == 0
    assert starter.results[0]["message"].startswith("AWS answered")
    live_lab.client("sqs", cast.sandbox).create_queue(QueueName="jobs")
    solved = wait_for(exercise_submit(user=cast.alice, exercise=exercise))
    assert [r["status"] for r in solved.results] == ["passed"] and solved.score == 100
