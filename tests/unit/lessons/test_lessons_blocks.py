"""Interactive blocks in lesson Markdown, exercise files and the check runner."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

from botocore.exceptions import ClientError

from lessons.blocks import extract_blocks, split_rendered
from lessons.checks import check, fail, run_check
from lessons.content import parse_lesson
from lessons.exercises import read_exercises, validate_links

FRONT = textwrap.dedent(
    """\
    ---
    id: demo
    title: Demo
    order: 1
    service: S3
    summary: A demo.
    objectives: [Learn]
    estimated_minutes: 5
    prerequisites: []
    ---
    """
)
QUIZ = textwrap.dedent(
    """\
    ```quiz
    id: pick-one
    question: Which one?
    options:
      - text: This
        correct: true
        explain: Because.
      - text: That
        explain: Not that.
    ```
    """
)


def test_a_quiz_block_becomes_a_token_and_validated_data():
    lesson, errors = parse_lesson(FRONT + "## Intro\n\nText.\n\n" + QUIZ, path="demo.md")
    assert errors == [] and lesson is not None
    assert lesson.blocks == [
        {
            "kind": "quiz",
            "line": 15,
            "data": {
                "id": "pick-one",
                "question": "Which one?",
                "multiple": False,
                "options": [
                    {"text": "This", "correct": True, "explain": "Because."},
                    {"text": "That", "correct": False, "explain": "Not that."},
                ],
            },
        }
    ]
    segments = split_rendered(lesson.body_html, lesson.blocks)
    assert [kind for kind, _ in segments] == ["html", "block"]
    assert "LABBLOCK" not in segments[0][1]


def test_block_errors_name_the_file_line():
    bad = QUIZ.replace("    correct: true\n", "")
    _, errors = parse_lesson(FRONT + "## Intro\n\n" + bad, path="demo.md")
    assert [str(e) for e in errors] == [
        "demo.md:13: quiz: a single-choice quiz needs exactly one correct option (found 0)"
    ]
    _, errors = parse_lesson(FRONT + "## Intro\n\n```quiz\nid: x\n", path="demo.md")
    assert str(errors[0]) == "demo.md:13: the quiz block opened here is never closed with ```"


def test_fences_inside_code_blocks_and_other_languages_are_left_alone():
    body = "````markdown\n```quiz\nid: x\n```\n````\n\n```python\nprint(1)\n```\n"
    text, blocks, errors = extract_blocks(body, first_line=1)
    assert (text, blocks, errors) == (body, [], [])


def test_html_in_quiz_text_is_data_not_markup(client, db):
    lesson, errors = parse_lesson(
        FRONT + "## Intro\n\n" + QUIZ.replace("Which one?", "<script>alert(1)</script>"), path="demo.md"
    )
    assert not errors and lesson is not None
    # The block's text never went through Markdown: it is autoescaped by the quiz template.
    assert "<script>" not in lesson.body_html
    from django.template.loader import render_to_string

    from lessons.selectors import QuizView

    html = render_to_string("lessons/_quiz.html", {"quiz": QuizView("demo", lesson.blocks[0]["data"], None)})
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def write_exercise(folder: Path, slug: str, module: str, lesson: str = "demo") -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{slug}.md").write_text(
        f"---\nid: {slug}\ntitle: T\nlesson: {lesson}\norder: 1\nsummary: S\nhints: [One]\n---\nDo it.\n"
    )
    (folder / f"{slug}.py").write_text(module)


def test_exercise_files_are_validated(tmp_path: Path):
    folder = tmp_path / "exercises"
    write_exercise(folder, "no-checks", "def solution(session):\n    pass\n")
    write_exercise(folder, "no-solution", "from lessons.checks import check\n\n@check('ok')\ndef c(s):\n    pass\n")
    write_exercise(folder, "broken", "import nowhere_to_be_found\n")
    _, errors = read_exercises(folder, shown=lambda p: p.name)
    messages = sorted(str(e) for e in errors)
    assert messages[0].startswith("broken.py: cannot import: ModuleNotFoundError")
    assert messages[1:] == [
        "no-checks.py: declares no @check functions",
        "no-solution.py: needs a solution(session) function",
    ]


def test_exercises_must_exist_and_be_embedded(tmp_path: Path):
    folder = tmp_path / "exercises"
    module = "from lessons.checks import check\n\n@check('ok')\ndef c(s):\n    pass\n\ndef solution(s):\n    pass\n"
    write_exercise(folder, "orphan", module)
    write_exercise(folder, "lost", module, lesson="nowhere")
    exercises, errors = read_exercises(folder, shown=lambda p: p.name)
    assert errors == []
    lesson, _ = parse_lesson(FRONT + "## Intro\n\n```exercise\nid: missing\n```\n", path="demo.md")
    messages = sorted(str(e) for e in validate_links([lesson], exercises))
    assert messages == [
        "demo.md:13: unknown exercise 'missing'",
        "lost.md:4: unknown lesson 'nowhere'",
        "orphan.md:1: no lesson embeds this exercise (add an ```exercise``` block to 'demo')",
    ]


def test_check_outcomes_become_clear_feedback():
    @check("passes")
    def good(session):
        pass

    @check("fails")
    def bad(session):
        fail("The bucket is missing.")

    @check("aws says no")
    def aws(session):
        raise ClientError({"Error": {"Code": "NoSuchBucket", "Message": "The bucket does not exist"}}, "HeadBucket")

    @check("buggy")
    def buggy(session):
        return session.nothing.here

    session = SimpleNamespace()
    assert [run_check(f, session).as_dict() for f in (good, bad, aws, buggy)] == [
        {"name": "good", "label": "passes", "status": "passed", "message": ""},
        {"name": "bad", "label": "fails", "status": "failed", "message": "The bucket is missing."},
        {
            "name": "aws",
            "label": "aws says no",
            "status": "failed",
            "message": "AWS answered NoSuchBucket: The bucket does not exist",
        },
        {
            "name": "buggy",
            "label": "buggy",
            "status": "error",
            "message": "The check itself failed "
            "(AttributeError: 'types.SimpleNamespace' object has no attribute 'nothing').",
        },
    ]
