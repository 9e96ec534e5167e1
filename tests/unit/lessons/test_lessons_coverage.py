"""The coverage map of the source document's concepts, its check command and its instructor page."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from lessons.services import DEFAULT_CONTENT_DIR, content_read

TOPICS = [
    "What is Serverless",
    "AWS Lambda",
    "Amazon API Gateway",
    "Amazon S3",
    "Amazon DynamoDB",
    "Amazon EventBridge",
    "Amazon SNS/SQS",
]


def test_every_concept_of_the_source_document_has_a_section():
    content = content_read()
    assert content.errors == []
    gaps = [(c.id, c.problems) for c in content.gaps]
    assert gaps == []
    assert len(content.concepts) >= 45
    assert sorted({c.topic for c in content.concepts}) == sorted(TOPICS)
    for topic in TOPICS:
        kinds = {c.kind for c in content.concepts if c.topic == topic}
        assert "diagram" in kinds, f"{topic} has no diagram concept"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT_DIR, folder)
    return folder


def check(folder: Path) -> tuple[str, str, bool]:
    out, err = StringIO(), StringIO()
    try:
        call_command("lessons", "check", "--content-dir", str(folder), stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), str(exc), False
    return out.getvalue(), err.getvalue(), True


def test_check_prints_the_coverage_last(content: Path):
    out, _, ok = check(content)
    total = len(content_read().concepts)
    assert ok and out.splitlines()[-1] == f"coverage: {total}/{total} concepts"


def test_a_section_that_stops_teaching_its_concept_is_a_gap(content: Path):
    lesson = content / "05-dynamodb.md"
    lesson.write_text(lesson.read_text().replace("leaderboards", "high-score tables"))
    out, error, ok = check(content)
    total = len(content_read().concepts)
    assert not ok and "1 concept(s) of the coverage map have a gap" in error
    assert out.splitlines()[-1] == f"coverage: {total - 1}/{total} concepts"
    assert "GAP Amazon DynamoDB / Gaming applications (state, sessions, leaderboards)" in out
    assert "keyword 'leaderboards' appears in none of its sections" in out


def test_unknown_sections_and_steps_are_gaps(content: Path):
    coverage = content / "coverage.yaml"
    text = coverage.read_text()
    text = text.replace("sections: [aws-lambda#2-permissions]", "sections: [aws-lambda#no-such-heading]")
    text = text.replace("runnable: [quiz:apigw-api-types]", "runnable: [exercise:nope]")
    coverage.write_text(text)
    out, _, ok = check(content)
    assert not ok
    assert "unknown section 'aws-lambda#no-such-heading'" in out
    assert "unknown runnable step 'exercise:nope'" in out


def test_a_concept_without_sections_is_a_gap(content: Path):
    coverage = content / "coverage.yaml"
    coverage.write_text(coverage.read_text() + "  - {id: extra, topic: AWS Lambda, kind: feature, name: Extra}\n")
    out, _, ok = check(content)
    assert not ok and "no lesson section teaches it" in out


@pytest.mark.django_db
def test_the_coverage_page_is_for_instructors(client, cast):
    assert client.get("/lessons/coverage/").status_code == 302
    client.force_login(cast.alice)
    assert client.get("/lessons/coverage/").status_code == 403
    client.force_login(cast.bob)
    html = client.get("/lessons/coverage/").content.decode()
    assert "Coverage map" in html and "Concurrency controls" in html
    assert 'href="/lessons/aws-lambda/#features-at-a-glance"' in html
