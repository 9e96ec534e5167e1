"""A student reads a lesson, answers a quiz, submits an exercise and sees per-check results and progress."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lessons.checks import LabSession, load_module
from lessons.models import Attempt, Exercise
from lessons.services import exercise_module_path, lessons_load
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Set LAB_SCREENSHOTS=/some/dir to keep full-page screenshots for a human to look at.
SHOTS = os.environ.get("LAB_SCREENSHOTS")


def shot(target, name: str) -> None:
    """Screenshot a page (full length) or one element."""
    if SHOTS:
        path = str(Path(SHOTS) / f"{name}.png")
        if hasattr(target, "goto"):
            target.screenshot(path=path, full_page=True)
        else:
            target.screenshot(path=path)


def log_in(page, live_lab, username: str) -> None:
    page.goto(f"{live_lab.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_student_answers_a_quiz_and_gets_an_exercise_graded(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    expect(page.get_by_role("heading", name="Amazon S3", level=1)).to_be_visible()

    quiz = page.locator("#quiz-s3-folders")
    quiz.get_by_label("One object whose key is the whole string photos/2026/cat.jpg").check()
    quiz.get_by_role("button", name="Check my answer").click()
    expect(page.locator("#quiz-s3-folders")).to_contain_text("Right!")
    expect(page.locator("#quiz-s3-folders")).to_contain_text("S3 has no folders")

    exercise = page.locator("#exercise-s3-photos-versioning")
    exercise.get_by_role("button", name="Show a hint (0/3)").click()
    expect(exercise).to_contain_text("Hint 1.")
    exercise.get_by_role("button", name="Check my work").click()
    expect(exercise.locator(".attempt")).to_contain_text("Score 0%", timeout=30_000)
    expect(exercise.locator(".check-failed")).to_have_count(3)
    expect(exercise).to_contain_text("AWS answered")
    shot(exercise, "exercise-failed")
    shot(quiz, "quiz-answered")

    sandbox = cast.sandbox
    session = LabSession(
        endpoint_url=live_lab.endpoint_url,
        access_key_id=sandbox.access_key_id,
        secret_access_key=sandbox.secret_access_key,
        region=sandbox.region,
    )
    module = load_module(exercise_module_path(Exercise.objects.get(slug="s3-photos-versioning")), name="x")
    module.solution(session)
    exercise.get_by_role("button", name="Check my work").click()
    expect(exercise.locator(".attempt")).to_contain_text("Score 100%", timeout=30_000)
    expect(exercise.locator(".check-passed")).to_have_count(3)
    expect(exercise).to_contain_text("All checks pass")
    shot(exercise, "exercise-passed")
    shot(page.locator(".lesson-actions"), "lesson-actions")

    page.goto(f"{live_lab.url}/lessons/")
    # read + quiz + one of two exercises: 3 of 4 steps
    expect(page.get_by_label("Progress in Amazon S3")).to_have_attribute("value", "75")
    shot(page, "course-map")


def test_cost_calculator_draws_and_reacts_to_inputs(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/what-is-serverless/")
    summary = page.locator("#cost-summary")
    # 2M billable requests × $0.20/M; 180,000 GB-s stay inside the free tier
    expect(summary).to_have_text("At 3,000,000 requests a month: Lambda $0.40, servers $30, so Lambda is cheaper.")
    expect(page.locator("#cost-chart .main-svg").first).to_be_visible()
    page.get_by_label("Requests per month").fill("500000")
    expect(summary).to_contain_text("Lambda $0 (all inside the free tier), servers $30, so Lambda is cheaper")
    # 49M × $0.20/M + (10M − 0.4M) GB-s × $0.0000166667 = $169.80; a 3× peak of 57.9 req/s needs 2 servers
    page.get_by_label("Requests per month").fill("50000000")
    page.get_by_label("Average duration (ms)").fill("200")
    page.get_by_label("Memory (MB)").fill("1024")
    expect(summary).to_have_text(
        "At 50,000,000 requests a month: Lambda $170, servers $60, so the servers are cheaper."
    )
    shot(page.locator("#cost-calculator"), "cost-calculator")


def test_instructor_follows_the_class_on_the_dashboard(live_lab, page, cast):
    assert lessons_load().ok
    Attempt.objects.create(
        user=cast.alice,
        sandbox=cast.sandbox,
        exercise_slug="wis-first-bucket",
        total=2,
        score=50,
        status="done",
        results=[
            {
                "name": "bucket_exists",
                "label": "A bucket named 'first-steps' exists",
                "status": "passed",
                "message": "",
            },
            {"name": "object_has_text", "label": "It holds 'hello.txt'", "status": "failed", "message": "Wrong text"},
        ],
    )
    log_in(page, live_lab, "bob")
    page.goto(f"{live_lab.url}/instructor/")
    page.get_by_role("link", name="Serverless 101").click()
    expect(page.get_by_role("heading", name="Serverless 101", level=1)).to_be_visible()
    expect(page.locator(".dashboard-charts .main-svg")).not_to_have_count(0)
    expect(page.locator("#chart-failing")).to_contain_text("failing checks")
    shot(page, "class-dashboard")
    page.get_by_role("link", name="alice").click()
    expect(page.locator(".check-failed")).to_contain_text("Wrong text")
    shot(page, "class-student")


def test_try_it_uploads_to_the_sandbox_and_shows_the_event(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/amazon-s3/")
    page.get_by_role("button", name="Upload a photo to my sandbox").click()
    result = page.locator("#try-s3-upload")
    expect(result).to_contain_text("PutObject", timeout=30_000)
    expect(result).to_contain_text(f"try-it-{cast.sandbox.account_id}")
    expect(result).to_contain_text("ObjectCreated:Put")
    shot(page.locator(".try-it"), "try-it")


def test_try_it_invokes_a_function_with_a_prepared_event(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/aws-lambda/")
    page.get_by_role("button", name='Invoke a function with an S3 "object created" event').click()
    result = page.locator("#try-lambda-s3-event")
    expect(result).to_contain_text("status 200", timeout=45_000)
    expect(result).to_contain_text('"records": 1')
    expect(result).to_contain_text("got ObjectCreated:Put for photos/cat.jpg")
    shot(page.locator(".try-it"), "try-it-lambda")
