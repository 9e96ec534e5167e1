"""Parsing, validation and rendering of lesson files (no database)."""

from __future__ import annotations

from pathlib import Path

from lessons.content import parse_lesson, read_directory

GOOD = """---
id: queues
title: Queues
order: 1
service: SQS
summary: A lesson about queues.
objectives:
  - Send a message
estimated_minutes: 5
prerequisites: []
---
## Sending

Use `send_message`.

```python
# a comment, not a heading
print("hi")
```
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_it_parses_front_matter_and_renders_markdown():
    lesson, errors = parse_lesson(GOOD, path="queues.md")
    assert errors == []
    assert lesson is not None
    assert (lesson.slug, lesson.order, lesson.estimated_minutes) == ("queues", 1, 5)
    assert lesson.objectives == ["Send a message"]
    assert '<h2 id="sending">Sending</h2>' in lesson.body_html
    assert '<code class="language-python">' in lesson.body_html
    assert lesson.toc == [{"id": "sending", "title": "Sending", "level": 2}]


def test_it_names_file_and_line_of_a_missing_field():
    text = GOOD.replace("summary: A lesson about queues.\n", "")
    lesson, errors = parse_lesson(text, path="lessons/content/01-queues.md")
    assert lesson is None
    assert [str(e) for e in errors] == ["lessons/content/01-queues.md:1: missing required field 'summary'"]


def test_it_reports_the_line_of_an_unknown_field():
    text = GOOD.replace("prerequisites: []", "prerequisites: []\nsumary: typo")
    _, errors = parse_lesson(text, path="x.md")
    assert len(errors) == 1
    assert str(errors[0]).startswith("x.md:11: unknown field 'sumary'")


def test_it_reports_the_line_of_a_bad_value():
    _, errors = parse_lesson(GOOD.replace("order: 1", "order: first"), path="x.md")
    assert [str(e) for e in errors] == ["x.md:4: 'order' must be a whole number, 1 or more"]


def test_it_reports_yaml_syntax_errors_with_their_line():
    text = GOOD.replace("estimated_minutes: 5", "estimated_minutes: [5")
    _, errors = parse_lesson(text, path="x.md")
    assert len(errors) == 1
    assert errors[0].line is not None and errors[0].line >= 9
    assert "not valid YAML" in errors[0].message


def test_it_requires_front_matter():
    _, errors = parse_lesson("## Just a body\n", path="x.md")
    assert str(errors[0]) == "x.md:1: a lesson must start with a front matter block opened by '---'"
    _, errors = parse_lesson("---\nid: x\n", path="x.md")
    assert "never closed" in errors[0].message


def test_it_rejects_a_level_one_heading_outside_code():
    text = GOOD + "\n# Second title\n"
    _, errors = parse_lesson(text, path="x.md")
    assert [e.line for e in errors] == [text.split("\n").index("# Second title") + 1]


def test_it_strips_raw_html_scripts_and_event_handlers():
    text = GOOD + (
        '\n<script>alert("owned")</script>\n\n<p onclick="steal()">hello</p>\n\n'
        '[click](javascript:alert(1))\n\n<iframe src="https://example.com"></iframe>\n'
    )
    lesson, errors = parse_lesson(text, path="x.md")
    assert errors == [] and lesson is not None
    html = lesson.body_html
    assert "<script" not in html and "alert(" not in html.replace("alert(1)", "")
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<iframe" not in html
    assert "hello" in html


def test_cross_file_rules_name_the_offending_file_and_line(tmp_path):
    write(tmp_path, "01-a.md", GOOD.replace("id: queues", "id: a"))
    write(tmp_path, "02-b.md", GOOD.replace("id: queues", "id: a"))
    third = GOOD.replace("id: queues", "id: c").replace("order: 1", "order: 3")
    write(tmp_path, "03-c.md", third.replace("prerequisites: []", "prerequisites: [nope]"))
    _, errors = read_directory(tmp_path, display_root=tmp_path)
    assert {str(e) for e in errors} == {
        "02-b.md:2: duplicate id 'a' (also used by 01-a.md)",
        "02-b.md:4: duplicate order 1 (also used by 01-a.md)",
        "03-c.md:10: unknown prerequisite 'nope'",
    }


def test_a_prerequisite_must_come_earlier(tmp_path):
    write(tmp_path, "01-a.md", GOOD.replace("id: queues", "id: a").replace("prerequisites: []", "prerequisites: [b]"))
    write(tmp_path, "02-b.md", GOOD.replace("id: queues", "id: b").replace("order: 1", "order: 2"))
    _, errors = read_directory(tmp_path, display_root=tmp_path)
    assert [str(e) for e in errors] == ["01-a.md:10: prerequisite 'b' (order 2) must come before this lesson (order 1)"]


def test_an_empty_or_missing_folder_is_an_error(tmp_path):
    assert "no lesson files" in str(read_directory(tmp_path)[1][0])
    assert "does not exist" in str(read_directory(tmp_path / "missing")[1][0])


def test_the_shipped_lessons_are_valid():
    lessons, errors = read_directory(Path(__file__).resolve().parents[3] / "lessons" / "content")
    assert errors == []
    assert [lesson.order for lesson in lessons] == list(range(1, 8))
