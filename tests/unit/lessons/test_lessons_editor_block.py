"""The ```editor``` block: validation, rendering for each kind of visitor, and Run's input checks."""

from __future__ import annotations

import textwrap

import pytest

from lessons.blocks import extract_blocks
from lessons.editor import code_problem
from lessons.services import lessons_load

pytestmark = pytest.mark.django_db

EDITOR = textwrap.dedent(
    """\
    ```editor
    function: hello-editor
    starter: |
      def lambda_handler(event, context):
          return event
    event: {name: Ada}
    ```
    """
)


@pytest.fixture
def loaded() -> None:
    assert lessons_load().ok


def test_an_editor_block_keeps_its_function_starter_and_event():
    _, blocks, errors = extract_blocks(EDITOR, first_line=10)
    assert errors == []
    assert blocks == [
        {
            "kind": "editor",
            "line": 10,
            "data": {
                "function": "hello-editor",
                "starter": "def lambda_handler(event, context):\n    return event\n",
                "event": {"name": "Ada"},
                "caption": "",
            },
        }
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("function: bad name!\nstarter: x = 1", "needs a 'function' name"),
        ("function: ok", "needs 'starter' code"),
        ("function: ok\nstarter: x = 1\nevent: {when: 2026-01-01}", "plain JSON data"),
        ("function: ok\nstarter: x = 1\nruntime: node", "an editor block takes"),
    ],
)
def test_a_broken_editor_block_names_its_line(body: str, message: str):
    _, _, errors = extract_blocks(f"Intro\n\n```editor\n{body}\n```\n", first_line=20)
    assert [error.line for error in errors] == [22]
    assert message in errors[0].message


def test_code_problems_name_the_file_and_line():
    assert code_problem("def lambda_handler(event, context):\n    return {\n") .startswith("lambda_function.py line ")
    assert code_problem("   ") == "Write some code first."
    assert code_problem("x = 1\n" * 20_000) == "The code is larger than 64 KB."
    assert code_problem("def lambda_handler(event, context):\n    return 1\n") == ""


def test_visitors_see_the_code_and_a_sign_in_prompt(client, loaded):
    html = client.get("/lessons/aws-lambda/").content.decode()
    assert 'data-code-editor data-language="python"' in html
    assert "def lambda_handler(event, context):" in html
    assert "Sign in to run" in html
    assert ">Run</button>" not in html
    assert "js/common/code-editor.js" in html


def test_students_with_a_sandbox_get_a_run_button(client, loaded, cast):
    client.force_login(cast.alice)
    html = client.get("/lessons/aws-lambda/").content.decode()
    assert ">Run</button>" in html
    assert "/lessons/aws-lambda/editor/hello-editor/run/" in html


def test_run_shows_a_syntax_error_in_the_page_without_deploying(client, loaded, cast):
    client.force_login(cast.alice)
    response = client.post(
        "/lessons/aws-lambda/editor/hello-editor/run/",
        {"code": "def lambda_handler(event, context)\n    return 1\n"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "lambda_function.py line 1: expected &#x27;:&#x27;" in response.content.decode()


def test_run_refuses_an_unknown_editor_and_a_missing_sandbox(client, loaded, cast):
    client.force_login(cast.alice)
    response = client.post("/lessons/aws-lambda/editor/nope/run/", {"code": "x = 1"})
    assert "This lesson has no such code editor." in response.content.decode()
    client.force_login(cast.charlie)
    response = client.post("/lessons/aws-lambda/editor/hello-editor/run/", {"code": "x = 1"})
    assert "Create a sandbox first" in response.content.decode()


def test_someone_elses_run_result_is_a_404(client, cast):
    client.force_login(cast.alice)
    assert client.get("/lessons/editor-results/not-mine/").status_code == 404


def test_two_editors_of_one_lesson_cannot_run_the_same_function():
    from lessons.content import parse_lesson
    from lessons.exercises import validate_links

    front = (
        "---\nid: demo\ntitle: Demo\norder: 1\nservice: Lambda\nsummary: S.\nobjectives: [Learn]\n"
        "estimated_minutes: 5\nprerequisites: []\n---\n"
    )
    lesson, errors = parse_lesson(front + "## Intro\n\n" + EDITOR + "\n" + EDITOR, path="demo.md")
    assert errors == [] and lesson is not None
    problems = validate_links([lesson], [])
    assert [str(problem) for problem in problems] == ["demo.md:21: another editor block runs 'hello-editor'"]
