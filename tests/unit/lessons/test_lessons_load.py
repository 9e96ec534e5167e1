"""`lessons_load` and the `lessons` management command."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lessons.models import Lesson
from lessons.services import DEFAULT_CONTENT_DIR, lessons_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A writable copy of the shipped lessons."""
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, folder)
    return folder


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("lessons", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_loads_the_seven_topics_in_order():
    report = lessons_load()
    assert report.ok and len(report.created) == 7
    assert list(Lesson.objects.values_list("slug", flat=True)) == [
        "what-is-serverless",
        "aws-lambda",
        "amazon-api-gateway",
        "amazon-s3",
        "amazon-dynamodb",
        "amazon-eventbridge",
        "amazon-sns-sqs",
    ]
    lambda_ = Lesson.objects.get(slug="aws-lambda")
    assert lambda_.prerequisites == ["what-is-serverless"]
    assert lambda_.source_path == "lessons/content/02-aws-lambda.md"
    assert "Try it in your sandbox" in lambda_.body_html


def test_a_second_load_changes_nothing():
    lessons_load()
    before = dict(Lesson.objects.values_list("slug", "updated_at"))
    report = lessons_load()
    assert report.summary() == "lessons: 7 loaded (0 new, 0 updated, 7 unchanged, 0 removed)"
    assert dict(Lesson.objects.values_list("slug", "updated_at")) == before


def test_it_updates_changed_files_and_removes_deleted_ones(content: Path):
    lessons_load(content)
    path = content / "01-what-is-serverless.md"
    path.write_text(path.read_text().replace("estimated_minutes: 10", "estimated_minutes: 12"))
    (content / "07-sns-sqs.md").unlink()
    for exercise in ("sqs-orders-dlq", "sns-alerts-fanout"):  # the lesson's own exercises go with it
        for suffix in (".md", ".py"):
            (content / "exercises" / f"{exercise}{suffix}").unlink()
    report = lessons_load(content)
    assert (report.created, report.updated, report.removed) == ([], ["what-is-serverless"], ["amazon-sns-sqs"])
    assert Lesson.objects.get(slug="what-is-serverless").estimated_minutes == 12
    assert Lesson.objects.count() == 6


def test_a_broken_file_loads_nothing(content: Path):
    lessons_load(content)
    path = content / "03-api-gateway.md"
    path.write_text(path.read_text().replace("title: Amazon API Gateway\n", "").replace("Stages", "Stagez"))
    report = lessons_load(content)
    assert not report.ok
    assert [str(e) for e in report.errors] == [f"{path}:1: missing required field 'title'"]
    assert not Lesson.objects.filter(body_markdown__contains="Stagez").exists()


def test_script_tags_never_reach_the_database(content: Path):
    path = content / "01-what-is-serverless.md"
    path.write_text(path.read_text() + "\n<script>document.cookie</script>\n")
    assert lessons_load(content).ok
    assert "<script" not in Lesson.objects.get(slug="what-is-serverless").body_html


def test_command_load_prints_a_one_line_summary():
    out, _ = run("load")
    assert out.strip() == "lessons: 7 loaded (7 new, 0 updated, 0 unchanged, 0 removed)"
    out, _ = run("load")
    assert "(0 new, 0 updated, 7 unchanged, 0 removed)" in out


def test_command_check_validates_without_writing(content: Path):
    out, _ = run("check", "--content-dir", str(content))
    assert out.splitlines()[:2] == ["lessons: 7 OK", "exercises: 10 OK"]
    assert not Lesson.objects.exists()


def test_command_check_fails_naming_file_and_line(content: Path):
    path = content / "05-dynamodb.md"
    path.write_text(path.read_text().replace("prerequisites: [what-is-serverless]", "prerequisites: [dynamo-101]"))
    err = StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("lessons", "check", "--content-dir", str(content), stdout=StringIO(), stderr=err)
    assert f"{path}:14: unknown prerequisite 'dynamo-101'" in err.getvalue()
