"""Quiz answers, progress, sandbox reset and who may see an attempt (Django test client)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lessons.models import Attempt, LessonRecord, QuizAnswer
from lessons.selectors import course_map
from lessons.services import lessons_load
from serverless_lab.cloud.s3 import backend as s3_backend

pytestmark = pytest.mark.django_db

QUIZ_URL = reverse("lessons:quiz_answer", args=["amazon-s3", "s3-folders"])


@pytest.fixture
def loaded() -> None:
    assert lessons_load().ok


def test_answering_a_quiz_over_htmx_stores_it_and_explains_every_option(client, loaded, cast):
    client.force_login(cast.alice)
    response = client.post(QUIZ_URL, {"choice": "0"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="quiz-s3-folders"' in html
    assert "Not quite." in html and "S3 has no folders" in html and "Correct answer" in html
    assert QuizAnswer.objects.get(user=cast.alice, quiz_id="s3-folders").correct is False

    html = client.post(QUIZ_URL, {"choice": "1"}, headers={"HX-Request": "true"}).content.decode()
    assert "Right!" in html
    answer = QuizAnswer.objects.get(user=cast.alice, quiz_id="s3-folders")
    assert (answer.correct, answer.choices) == (True, [1])


def test_a_single_choice_quiz_takes_one_answer(client, loaded, cast):
    client.force_login(cast.alice)
    html = client.post(QUIZ_URL, {"choice": ["0", "1"]}, headers={"HX-Request": "true"}).content.decode()
    assert "Choose one answer." in html
    assert not QuizAnswer.objects.exists()


def test_without_htmx_the_answer_redirects_back_to_the_quiz(client, loaded, cast):
    client.force_login(cast.alice)
    response = client.post(QUIZ_URL, {"choice": "1"})
    assert response.status_code == 302 and response["Location"] == "/lessons/amazon-s3/#quiz-s3-folders"


def test_visitors_must_log_in_to_answer(client, loaded):
    response = client.post(QUIZ_URL, {"choice": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not QuizAnswer.objects.exists()


def test_progress_counts_reading_quizzes_and_exercise_scores(client, loaded, cast):
    client.force_login(cast.alice)
    client.get(reverse("lessons:detail", args=["amazon-s3"]))  # read: 1 of 4 steps (read, quiz, 2 exercises)
    assert progress(cast.alice, "amazon-s3") == (25, "in_progress")
    client.post(QUIZ_URL, {"choice": "1"})
    Attempt.objects.create(user=cast.alice, exercise_slug="s3-photos-versioning", total=3, score=100, status="done")
    Attempt.objects.create(user=cast.alice, exercise_slug="s3-report-metadata", total=4, score=50, status="done")
    Attempt.objects.create(user=cast.alice, exercise_slug="s3-report-metadata", total=4, score=25, status="done")
    # a reference run (an instructor's check of the solution) is not the student's work
    Attempt.objects.create(
        user=cast.alice, exercise_slug="s3-report-metadata", total=4, score=100, status="done", reference=True
    )
    assert progress(cast.alice, "amazon-s3") == (87, "in_progress")  # (1 + 1 + 1 + 0.5) / 4
    assert progress(cast.alice, "amazon-dynamodb") == (0, "not_started")

    client.post(reverse("lessons:complete", args=["amazon-s3"]))
    assert progress(cast.alice, "amazon-s3") == (100, "completed")
    home = client.get("/").content.decode()
    assert 'value="100" max="100" aria-label="Progress in Amazon S3"' in home


def progress(user, slug: str) -> tuple[int, str]:
    entry = next(e for e in course_map(user=user) if e.lesson.slug == slug)
    return entry.progress.percent, entry.progress.status


def test_reset_my_sandbox_for_this_lesson_empties_the_sandbox(client, loaded, cast):
    s3_backend.create_bucket(sandbox=cast.sandbox, name="photos", region=cast.sandbox.region)
    Attempt.objects.create(user=cast.alice, sandbox=cast.sandbox, exercise_slug="s3-photos-versioning", total=3)
    client.force_login(cast.alice)
    response = client.post(reverse("lessons:sandbox_reset", args=["amazon-s3"]), follow=True)
    assert "Your sandbox is empty again" in response.content.decode()
    assert s3_backend.list_buckets(sandbox=cast.sandbox) == []
    assert Attempt.objects.count() == 1  # grading history survives a reset


def test_an_attempt_is_visible_to_its_student_and_their_instructor_only(client, loaded, cast):
    attempt = Attempt.objects.create(
        user=cast.alice,
        sandbox=cast.sandbox,
        exercise_slug="s3-photos-versioning",
        total=1,
        status="done",
        results=[{"name": "x", "label": "Bucket exists", "status": "failed", "message": "No bucket"}],
    )
    url = reverse("lessons:attempt", args=[attempt.pk])
    for user, status in ((cast.alice, 200), (cast.bob, 200), (cast.charlie, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status
    client.force_login(cast.alice)
    assert "No bucket" in client.get(url).content.decode()


def test_a_finished_attempt_s_bar_shows_the_score_not_the_checks_run(client, loaded, cast):
    results = [
        {"name": "a", "label": "Bucket exists", "status": "passed", "message": ""},
        {"name": "b", "label": "Versioning on", "status": "failed", "message": "Off"},
    ]
    attempt = Attempt.objects.create(
        user=cast.alice, sandbox=cast.sandbox, exercise_slug="s3-photos-versioning", total=2, status="done",
        results=results, score=50,
    )
    client.force_login(cast.alice)
    html = client.get(reverse("lessons:attempt", args=[attempt.pk])).content.decode()
    assert 'class="progress progress-warning" value="50" max="100" aria-label="Score"' in html
    attempt.status, attempt.results, attempt.score = "running", results[:1], 0
    attempt.save()
    html = client.get(reverse("lessons:attempt", args=[attempt.pk])).content.decode()
    assert 'value="50" max="100" aria-label="Checks run"' in html


def test_submitting_without_a_sandbox_says_what_to_do(client, loaded, cast):
    client.force_login(cast.charlie)
    response = client.post(
        reverse("lessons:exercise_submit", args=["wis-first-bucket"]), headers={"HX-Request": "true"}
    )
    assert "Create a sandbox first" in response.content.decode()
    assert not Attempt.objects.exists()


def test_submitting_queues_an_attempt_on_the_newest_sandbox(client, loaded, cast):
    client.force_login(cast.alice)
    response = client.post(
        reverse("lessons:exercise_submit", args=["wis-first-bucket"]), headers={"HX-Request": "true"}
    )
    attempt = Attempt.objects.get()
    assert (attempt.sandbox, attempt.status, attempt.total) == (cast.sandbox, "queued", 2)
    assert f'hx-get="/lessons/attempts/{attempt.pk}/"' in response.content.decode()


def test_a_service_lesson_links_to_that_service_s_console_in_the_student_s_sandbox(client, loaded, cast):
    client.force_login(cast.alice)
    html = client.get(reverse("lessons:detail", args=["amazon-s3"])).content.decode()
    assert f'<a href="{reverse("s3:buckets", args=[cast.sandbox.pk])}">S3 console</a>' in html
    assert f'<a href="{reverse("sandboxes:detail", args=[cast.sandbox.pk])}">sandbox page</a>' in html


def test_hints_are_revealed_one_at_a_time(client, loaded, cast):
    client.force_login(cast.alice)
    url = reverse("lessons:exercise_hints", args=["wis-first-bucket"])
    html = client.get(url + "?shown=1").content.decode()
    assert "Hint 1." in html and "Hint 2." not in html and "Show another hint (1/4)" in html
    html = client.get(url + "?shown=9").content.decode()
    assert "Hint 4." in html and "Show another hint" not in html


def test_the_lesson_page_embeds_quiz_exercise_and_records_the_read(client, loaded, cast):
    client.force_login(cast.alice)
    html = client.get(reverse("lessons:detail", args=["what-is-serverless"])).content.decode()
    assert 'id="quiz-wis-pay-for-use"' in html and 'id="exercise-wis-first-bucket"' in html
    assert 'id="cost-chart"' in html and "cost_calculator.js" in html
    assert "data-lesson-diagram" in html and "lesson_embed.js" in html  # alice has a sandbox: her live diagram
    assert LessonRecord.objects.filter(user=cast.alice, lesson_slug="what-is-serverless").exists()


def test_grading_that_runs_out_of_time_keeps_the_finished_checks(loaded, cast, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from lessons import services, tasks

    attempt = Attempt.objects.create(user=cast.alice, sandbox=cast.sandbox, exercise_slug="wis-first-bucket", total=2)

    def slow(*, attempt_id, reraise):
        Attempt.objects.filter(pk=attempt_id).update(
            status="running", results=[{"name": "a", "label": "A", "status": "passed", "message": ""}]
        )
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "attempt_run", slow)
    tasks.attempt_grade(attempt.pk)
    attempt.refresh_from_db()
    assert attempt.status == "error" and len(attempt.results) == 1
    assert attempt.error.startswith("Grading stopped after 45 seconds")


def test_exercise_instructions_are_sanitised(tmp_path):
    from lessons.exercises import read_exercises

    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "x.md").write_text(
        "---\nid: x\ntitle: T\nlesson: demo\norder: 1\nsummary: S\nhints: [h]\n---\n"
        "Do it <script>alert(1)</script><img src=x onerror=alert(2)> [link](javascript:alert(3))\n"
    )
    (folder / "x.py").write_text(
        "from lessons.checks import check\n\n@check('ok')\ndef c(s):\n    pass\n\ndef solution(s):\n    pass\n"
    )
    exercises, errors = read_exercises(folder, shown=lambda p: p.name)
    html = exercises[0].instructions_html
    assert errors == [] and "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_the_starter_code_carries_the_students_own_endpoint_and_keys(client, loaded, cast):
    url = reverse("lessons:detail", args=["what-is-serverless"])
    assert "PASTE_ACCESS_KEY_ID" in client.get(url).content.decode()
    client.force_login(cast.alice)
    html = client.get(url).content.decode()
    assert cast.sandbox.access_key_id in html and cast.sandbox.secret_access_key in html
    assert f"account id <code>{cast.sandbox.account_id}</code>" in html
    client.force_login(cast.bob)  # no sandbox: placeholders, and a pointer to create one
    html = client.get(url).content.decode()
    assert cast.sandbox.secret_access_key not in html and "Create a sandbox" in html


def test_a_try_button_is_live_when_its_action_exists(client, loaded, cast):
    client.force_login(cast.alice)
    s3 = client.get(reverse("lessons:detail", args=["amazon-s3"])).content.decode()
    assert 'hx-post="/lessons/try/s3-upload/"' in s3
    lambda_page = client.get(reverse("lessons:detail", args=["aws-lambda"])).content.decode()
    assert 'hx-post="/lessons/try/lambda-s3-event/"' in lambda_page


def test_try_results_are_readable_only_by_the_browser_that_asked(client, loaded, cast, monkeypatch):
    from lessons import tasks

    monkeypatch.setattr(tasks.try_run, "delay", lambda *args: type("R", (), {"id": "task-1"})())
    client.force_login(cast.alice)
    html = client.post(reverse("lessons:try_start", args=["s3-upload"])).content.decode()
    assert 'hx-get="/lessons/try-results/task-1/"' in html
    assert client.post(reverse("lessons:try_start", args=["nothing"])).content.decode().count("does nothing yet")
    client.force_login(cast.charlie)
    assert client.get(reverse("lessons:try_result", args=["task-1"])).status_code == 404
