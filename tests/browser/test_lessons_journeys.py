"""End-to-end journeys in Chromium against the live lab (uvicorn + a real Celery worker):

- a student reads the Lambda lesson, answers its quiz, runs code from the editor block, submits an
  exercise, reads the per-check results and sees their progress;
- an instructor writes an exercise in the browser, previews it, runs its reference solution, and
  follows a student's attempt at it on the class dashboard;
- a student fires the auto-scaling demo's burst and gets the concurrency chart.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lessons.checks import LabSession, load_module
from lessons.models import Exercise
from lessons.services import exercise_module_path, lessons_load
from tests.browser.test_lessons_flow import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHECKS = '''from lessons.checks import check, fail


@check("A queue named 'jobs' exists")
def queue_exists(session):
    session.client("sqs").get_queue_url(QueueName="jobs")


@check("Its visibility timeout is 60 seconds")
def visibility(session):
    sqs = session.client("sqs")
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    value = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    if value["VisibilityTimeout"] != "60":
        fail(f"It is {value['VisibilityTimeout']} seconds.")


def solution(session):
    session.client("sqs").create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "60"})
'''


def set_code(page, selector: str, text: str) -> None:
    """Replace the text of a CodeMirror-enhanced textarea the way the page's own scripts do."""
    page.wait_for_function(f"document.querySelector('{selector}').codeEditor !== undefined")
    page.evaluate(
        """([selector, text]) => import('/static/js/common/code-editor.js')
            .then((module) => module.setCode(document.querySelector(selector), text))""",
        [selector, text],
    )


def test_a_student_reads_answers_runs_code_and_gets_graded(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/aws-lambda/")
    expect(page.get_by_role("heading", name="AWS Lambda", level=1)).to_be_visible()

    quiz = page.locator("#quiz-lambda-invocation-types")
    quiz.get_by_label("Lambda retries the event (twice by default)", exact=False).check()
    quiz.get_by_role("button", name="Check my answer").click()
    expect(page.locator("#quiz-lambda-invocation-types")).to_contain_text("Right.")

    editor = page.locator("#editor-hello-editor")
    expect(editor.locator(".cm-content")).to_contain_text("def lambda_handler(event, context):")
    editor.get_by_role("button", name="Run").click()
    result = page.locator("#editor-hello-editor-result")
    expect(result).to_contain_text("Invoke: status 200", timeout=60_000)
    expect(result).to_contain_text('"message": "Hello, Ada!"')
    expect(result).to_contain_text("greeting Ada")
    expect(result).to_contain_text("Cold start")
    shot(editor, "editor-block-run")

    editor.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nprint('module loaded')")
    editor.get_by_role("button", name="Run").click()
    expect(result).to_contain_text("UpdateFunctionCode", timeout=60_000)
    expect(result).to_contain_text("module loaded")

    exercise = page.locator("#exercise-lambda-hello")
    exercise.get_by_role("button", name="Check my work").click()
    expect(exercise.locator(".attempt")).to_contain_text("Score 0%", timeout=60_000)
    expect(exercise.locator(".check-failed")).to_have_count(2)
    session = LabSession(
        endpoint_url=live_lab.endpoint_url,
        access_key_id=cast.sandbox.access_key_id,
        secret_access_key=cast.sandbox.secret_access_key,
        region=cast.sandbox.region,
    )
    load_module(exercise_module_path(Exercise.objects.get(slug="lambda-hello")), name="x").solution(session)
    exercise.get_by_role("button", name="Check my work").click()
    expect(exercise.locator(".attempt")).to_contain_text("Score 100%", timeout=60_000)
    expect(exercise.locator(".check-passed")).to_have_count(2)
    expect(page.locator(".lesson-actions")).to_be_visible()

    page.goto(f"{live_lab.url}/lessons/")
    # read + quiz + one exercise of two: 3 of 4 steps
    expect(page.get_by_label("Progress in AWS Lambda")).to_have_attribute("value", "75")


def test_visitors_see_the_editor_and_a_sign_in_prompt(live_lab, page):
    assert lessons_load().ok
    page.goto(f"{live_lab.url}/lessons/aws-lambda/#editor-hello-editor")
    editor = page.locator("#editor-hello-editor")
    expect(editor.locator(".cm-content")).to_contain_text("return {\"message\": f\"Hello, {name}!\"}")
    expect(editor.get_by_role("link", name="Sign in to run")).to_be_visible()
    expect(editor.get_by_role("button", name="Run")).to_have_count(0)
    shot(editor, "editor-block-visitor")


def test_an_instructor_authors_an_exercise_and_follows_a_students_attempt(live_lab, page, chromium, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "bob")
    page.goto(f"{live_lab.url}/instructor/")
    page.get_by_role("link", name="Author exercises").click()
    expect(page.get_by_role("heading", name="Authoring exercises", level=1)).to_be_visible()
    shot(page, "authoring-index-empty")
    page.get_by_role("link", name="New exercise").click()

    page.get_by_label("Id").fill("sqs-jobs")
    page.get_by_label("Title").fill("A queue for background jobs")
    page.get_by_label("Lesson").select_option(label="7. Amazon SNS and SQS")
    page.get_by_label("Summary").fill("Create the queue your workers read from.")
    page.get_by_label("Instructions (Markdown)").fill(
        "Create a standard queue named `jobs` whose **visibility timeout** is 60 seconds."
    )
    page.get_by_label("Hints").fill("create_queue takes Attributes.\nVisibilityTimeout is a string of seconds.")
    set_code(page, "#id_module_source", CHECKS)
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#exercise-preview")
    expect(preview).to_contain_text("Its visibility timeout is 60 seconds")
    expect(preview.locator("strong")).to_have_text("visibility timeout")
    shot(page, "authoring-form-preview")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="A queue for background jobs", level=1)).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("is saved and live")
    page.get_by_role("button", name="Run the reference solution against the checks").click()
    reference = page.locator("#reference-result")
    expect(reference).to_contain_text("Score 100%", timeout=60_000)
    expect(reference.locator(".check-passed")).to_have_count(2)
    shot(page, "authoring-reference-run")

    # Alice, in her own browser, finds it at the end of the lesson and gets it half right.
    student = chromium.new_context(viewport={"width": 1280, "height": 900})
    alice = student.new_page()
    alice.set_default_timeout(15_000)
    log_in(alice, live_lab, "alice")
    alice.goto(f"{live_lab.url}/lessons/amazon-sns-sqs/#more-exercises")
    expect(alice.get_by_role("heading", name="More exercises")).to_be_visible()
    card = alice.locator("#exercise-sqs-jobs")
    expect(card).not_to_contain_text("def solution")
    shot(alice.locator("#exercise-sqs-jobs"), "authored-exercise-in-lesson")
    live_lab.client("sqs", cast.sandbox).create_queue(QueueName="jobs")
    card.get_by_role("button", name="Check my work").click()
    expect(card.locator(".attempt")).to_contain_text("Score 50%", timeout=60_000)
    expect(card.locator(".check-failed")).to_contain_text("It is 30 seconds.")
    student.close()

    page.goto(f"{live_lab.url}/instructor/")
    page.get_by_role("link", name="Serverless 101").click()
    expect(page.locator("table")).to_contain_text("sqs-jobs")
    expect(page.locator("#chart-failing")).to_contain_text("Its visibility timeout is 60 seconds")
    page.get_by_role("link", name="alice").click()
    expect(page.locator(".check-failed")).to_contain_text("It is 30 seconds.")
    expect(page.get_by_text("A queue for background jobs")).to_be_visible()


def test_the_scaling_demo_plots_a_burst(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/what-is-serverless/#scaling-demo")
    demo = page.locator("#scaling-demo")
    demo.get_by_label("Simultaneous requests").fill("12")
    demo.get_by_role("button", name="Fire the burst").click()
    expect(demo.locator(".scaling-run")).to_be_visible(timeout=120_000)
    expect(demo).to_contain_text("throttled (429)")
    expect(demo.locator(".scaling-chart .main-svg").first).to_be_visible()
    expect(demo.locator(".scaling-chart")).to_contain_text("concurrency limit 10")
    shot(demo, "scaling-demo")


def test_the_sns_sqs_try_buttons_fan_out_and_dead_letter(live_lab, page, cast):
    assert lessons_load().ok
    log_in(page, live_lab, "alice")
    page.goto(f"{live_lab.url}/lessons/amazon-sns-sqs/")
    page.get_by_role("button", name="Publish one order to two queues").click()
    fanout = page.locator("#try-sns-fanout")
    expect(fanout).to_contain_text("try-it-billing got its copy", timeout=60_000)
    expect(fanout).to_contain_text("try-it-shipping got its copy")
    shot(fanout.locator("xpath=ancestor::aside"), "try-sns-fanout")
    page.get_by_role("button", name="Send a poison message and watch it reach the DLQ").click()
    dead = page.locator("#try-sqs-dead-letter")
    expect(dead).to_contain_text("dead-letter queue: found it in try-it-jobs-dlq", timeout=60_000)
    shot(dead.locator("xpath=ancestor::aside"), "try-sqs-dead-letter")
