"""Authoring exercises in the browser: the form, preview, save, import and export."""

from __future__ import annotations

import io
import zipfile

import pytest

from lessons.authoring import draft_from_files, exercise_files
from lessons.exercises import checks_from_source, parse_exercise_texts
from lessons.models import AuthoredExercise, Exercise
from lessons.services import exercise_module, lessons_load

pytestmark = pytest.mark.django_db

CHECKS = '''from lessons.checks import check, fail


@check("A queue named 'jobs' exists")
def queue_exists(session):
    session.client("sqs").get_queue_url(QueueName="jobs")


def solution(session):
    session.client("sqs").create_queue(QueueName="jobs")
'''

FORM = {
    "slug": "sqs-jobs",
    "title": "A jobs queue",
    "lesson": "amazon-sns-sqs",
    "order": "1",
    "summary": "Create a queue for background jobs.",
    "instructions": "Create a queue named `jobs`.\n\n<script>alert(1)</script>",
    "hints": "Use create_queue.\nThe name is jobs.",
    "starter": "import boto3\n",
    "module_source": CHECKS,
}


@pytest.fixture
def loaded() -> None:
    assert lessons_load().ok


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_checks_are_read_from_the_syntax_tree_without_running_the_module():
    source = "import os\nos.system('touch /tmp/never')\n" + CHECKS
    checks, errors = checks_from_source(source, shown="x.py")
    assert errors == []
    assert checks == [{"name": "queue_exists", "label": "A queue named 'jobs' exists"}]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def solution(s):\n    pass\nif True\n", "x.py:3: invalid Python"),
        ("def solution(s): pass\n", "x.py: declares no @check functions"),
        ("@check('ok')\ndef a(s): pass\n", "x.py: needs a solution(session) function"),
        ("@check(label)\ndef a(s): pass\ndef solution(s): pass\n", "x.py:2: check 'a' needs a label"),
    ],
)
def test_a_broken_checks_module_names_the_line(source: str, message: str):
    _checks, errors = checks_from_source(source, shown="x.py")
    assert message in [str(error) for error in errors][0]


def test_an_instructor_previews_without_saving(client, loaded, cast):
    client.force_login(cast.bob)
    response = client.post("/lessons/authoring/new/", {**FORM, "action": "preview"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Preview · what students see" in html
    assert "A queue named &#x27;jobs&#x27; exists" in html
    assert "<code>jobs</code>" in html
    assert "<script>alert(1)</script>" not in html
    assert not AuthoredExercise.objects.exists()


def test_saving_makes_it_gradeable_like_a_file_exercise(client, loaded, cast):
    client.force_login(cast.bob)
    response = client.post("/lessons/authoring/new/", {**FORM, "action": "save"})
    assert response.status_code == 302 and response["Location"] == "/lessons/authoring/sqs-jobs/"
    exercise = Exercise.objects.get(slug="sqs-jobs")
    assert exercise.authored is not None and exercise.lesson_slug == "amazon-sns-sqs"
    assert exercise.checks == [{"name": "queue_exists", "label": "A queue named 'jobs' exists"}]
    assert exercise.hints == ["Use create_queue.", "The name is jobs."]
    assert "<script>" not in exercise.instructions_html
    module = exercise_module(exercise)
    assert callable(module.solution) and module.queue_exists.check_label == "A queue named 'jobs' exists"

    lesson = client.get("/lessons/amazon-sns-sqs/").content.decode()
    assert "More exercises" in lesson and 'id="exercise-sqs-jobs"' in lesson
    assert lessons_load().ok and Exercise.objects.filter(slug="sqs-jobs").exists()  # a reload keeps it


def test_form_errors_show_in_the_page(client, loaded, cast):
    client.force_login(cast.bob)
    bad = {**FORM, "slug": "Bad Id", "hints": "  ", "module_source": "def solution(s):\n    return (\n"}
    response = client.post("/lessons/authoring/new/", {**bad, "action": "save"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Use lowercase letters, digits and single hyphens" in html
    assert "Give at least one hint." in html
    assert "line 2: invalid Python" in html
    assert not AuthoredExercise.objects.exists()


def test_a_shipped_exercise_id_or_an_unknown_lesson_is_refused(client, loaded, cast):
    client.force_login(cast.bob)
    response = client.post("/lessons/authoring/new/", {**FORM, "slug": "sqs-orders-dlq", "action": "save"})
    assert "is the id of a shipped exercise" in response.content.decode()
    response = client.post("/lessons/authoring/new/", {**FORM, "lesson": "nope", "action": "save"})
    assert "Select a valid choice" in response.content.decode()


def test_editing_keeps_the_id_and_updates_the_exercise(client, loaded, cast):
    client.force_login(cast.bob)
    client.post("/lessons/authoring/new/", {**FORM, "action": "save"})
    response = client.post(
        "/lessons/authoring/sqs-jobs/", {**FORM, "slug": "renamed", "title": "Jobs, v2", "action": "save"}
    )
    assert response.status_code == 302
    assert list(AuthoredExercise.objects.values_list("slug", "title")) == [("sqs-jobs", "Jobs, v2")]
    assert Exercise.objects.get(slug="sqs-jobs").title == "Jobs, v2"


def test_export_then_import_round_trips_in_the_file_format(client, loaded, cast):
    client.force_login(cast.bob)
    client.post("/lessons/authoring/new/", {**FORM, "action": "save"})
    response = client.get("/lessons/exercises/sqs-jobs/export/")
    assert response["Content-Disposition"] == 'attachment; filename="sqs-jobs.zip"'
    files = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(files.namelist()) == ["sqs-jobs.md", "sqs-jobs.py"]
    md, py = files.read("sqs-jobs.md").decode(), files.read("sqs-jobs.py").decode()
    assert md.startswith("---\nid: sqs-jobs\ntitle: A jobs queue\nlesson: amazon-sns-sqs\norder: 1\n")
    assert "starter: |\n  import boto3\n" in md and py == CHECKS
    source, errors = parse_exercise_texts(md, py, stem="sqs-jobs", shown="sqs-jobs.md", shown_module="sqs-jobs.py")
    assert errors == [] and source is not None and source.hints == ["Use create_queue.", "The name is jobs."]

    AuthoredExercise.objects.all().delete()
    upload = io.BytesIO(response.content)
    upload.name = "sqs-jobs.zip"
    response = client.post("/lessons/authoring/import/", {"files": [upload]})
    assert response.status_code == 302
    assert Exercise.objects.get(slug="sqs-jobs").authored.module_source == CHECKS


def test_a_shipped_exercise_exports_its_own_files(client, loaded, cast):
    exercise = Exercise.objects.get(slug="sqs-orders-dlq")
    files = exercise_files(exercise)
    assert files["sqs-orders-dlq.md"].startswith("---\nid: sqs-orders-dlq\n")
    assert "def solution(session" in files["sqs-orders-dlq.py"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"x.md": "no front matter", "x.py": CHECKS}, "x.md:1: a lesson must start with a front matter block"),
        ({"x.md": "---\nid: y\n---\n", "x.py": CHECKS}, "x.md:"),
        ({"x.md": "---\n---\n", "y.py": CHECKS}, "y.py: must be named x.py"),
        ({"x.md": "---\n---\n"}, "upload <id>.md and <id>.py"),
    ],
)
def test_import_errors_name_the_file_and_line(files: dict[str, str], message: str):
    from lessons.authoring import AuthoringInvalid

    with pytest.raises(AuthoringInvalid) as caught:
        draft_from_files([(name, text.encode()) for name, text in files.items()])
    assert any(message in str(error) for error in caught.value.errors), caught.value.errors


def test_a_bad_upload_is_a_form_error_not_a_crash(client, loaded, cast):
    client.force_login(cast.bob)
    garbage = io.BytesIO(b"not a zip at all")
    garbage.name = "exercise.zip"
    response = client.post("/lessons/authoring/import/", {"files": [garbage]})
    assert response.status_code == 400
    assert "exercise.zip: is not a readable zip file" in response.content.decode()
    md = io.BytesIO(FORM_MD().replace("order: 1", "order: x").encode())
    md.name = "sqs-jobs.md"
    py = io.BytesIO(CHECKS.encode())
    py.name = "sqs-jobs.py"
    response = client.post("/lessons/authoring/import/", {"files": [md, py]})
    assert "sqs-jobs.md:5: &#x27;order&#x27; must be a whole number" in response.content.decode()  # file:line


def test_a_zip_with_traversal_names_is_read_by_base_name_only(client, loaded, cast):
    client.force_login(cast.bob)
    data = zipped({"../../evil/sqs-jobs.md": FORM_MD(), "/abs/sqs-jobs.py": CHECKS})
    upload = io.BytesIO(data)
    upload.name = "x.zip"
    response = client.post("/lessons/authoring/import/", {"files": [upload]})
    assert response.status_code == 302
    assert AuthoredExercise.objects.get().slug == "sqs-jobs"


def FORM_MD() -> str:  # noqa: N802 - reads like the constant it builds
    return (
        "---\nid: sqs-jobs\ntitle: Jobs\nlesson: amazon-sns-sqs\norder: 1\nsummary: S.\nhints: [h]\n---\nDo it.\n"
    )


def test_a_preview_lists_the_problems_next_to_it(client, loaded, cast):
    client.force_login(cast.bob)
    response = client.post("/lessons/authoring/new/", {**FORM, "hints": "", "action": "preview"})
    html = response.content.decode()
    preview = html[html.index('id="exercise-preview"') :]
    assert "Fix these before saving:" in preview and "Hints: Give at least one hint." in preview
