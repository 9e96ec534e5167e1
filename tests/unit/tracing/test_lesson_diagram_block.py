"""The lessons' ```diagram``` block: its YAML (focus / service) and what the page renders for it."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory

from lessons.blocks import extract_blocks


def diagram_block(body: str):
    _, blocks, errors = extract_blocks(f"```diagram\n{body}```\n", first_line=1)
    return blocks[0]["data"], [error.message for error in errors]


def test_a_diagram_block_focuses_on_one_service_or_a_list_of_them():
    assert diagram_block("focus: s3\n") == ({"caption": "", "focus": "s3", "focus_label": "S3"}, [])
    assert diagram_block("service: Lambda\ncaption: Hi\n")[0] == {"caption": "Hi", "focus": "lambda", "focus_label": "Lambda"}
    assert diagram_block("focus: [sns, sqs]\n")[0]["focus_label"] == "SNS and SQS"
    assert diagram_block("caption: The whole sandbox\n") == (
        {"caption": "The whole sandbox", "focus": "", "focus_label": ""}, []
    )


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("focus: ec2\n", "names services among"),
        ("focus: [s3, 3]\n", "names services among"),
        ("focus: s3\nservice: s3\n", "not both"),
        ("colour: red\n", "takes 'caption' and 'focus'"),
    ],
)
def test_a_diagram_block_with_a_bad_focus_is_an_error(body, problem):
    _, errors = diagram_block(body)
    assert any(problem in error for error in errors), errors


def render(user, sandbox, data, query: str = ""):
    request = RequestFactory().get("/lessons/amazon-s3/" + query)
    request.user = user
    return render_to_string(
        "lessons/_diagram_block.html", {"data": data, "sandbox": sandbox, "index": 3, "user": user}, request=request
    )


@pytest.mark.django_db
def test_the_block_draws_the_students_sandbox_focused_and_others_get_a_way_in(cast):
    from django.contrib.auth.models import AnonymousUser

    data = {"caption": "", "focus": "sns,sqs", "focus_label": "SNS and SQS"}
    html = render(cast.alice, cast.sandbox, data)
    assert f'data-ws-path="/ws/sandboxes/{cast.sandbox.pk}/events/"' in html
    assert 'id="lesson-diagram-3"' in html and 'data-focus="sns,sqs"' in html
    assert f"/sandboxes/{cast.sandbox.pk}/diagram/graph.json?focus=sns%2Csqs" in html
    assert "Live diagram: your SNS and SQS resources" in html and "lesson_embed.js" in html
    without_sandbox = render(cast.charlie, None, data)
    assert "data-lesson-diagram" not in without_sandbox and "Create a sandbox" in without_sandbox
    anonymous = render(AnonymousUser(), None, data)
    assert "Sign in" in anonymous and "Sign up and create a sandbox" in anonymous


def test_the_blocks_focus_names_are_the_graphs():
    from lessons.blocks import DIAGRAM_FOCUS
    from serverless_lab.tracing.selectors import FOCUSABLE

    assert tuple(DIAGRAM_FOCUS) == FOCUSABLE


@pytest.mark.django_db
def test_a_student_with_several_sandboxes_may_show_another_but_never_someone_elses(cast):
    from serverless_lab.sandboxes.services import sandbox_create

    newest = sandbox_create(owner=cast.alice, name="second")
    strangers = sandbox_create(owner=cast.charlie, name="charlies")
    data = {"caption": "", "focus": "s3", "focus_label": "S3"}
    html = render(cast.alice, newest, data)
    assert f"/ws/sandboxes/{newest.pk}/events/" in html and "Your newest sandbox" in html
    assert 'name="diagram_sandbox"' in html and f'<option value="{cast.sandbox.pk}">' in html
    older = render(cast.alice, newest, data, f"?diagram_sandbox={cast.sandbox.pk}")
    assert f"/ws/sandboxes/{cast.sandbox.pk}/events/" in older and f'value="{cast.sandbox.pk}" selected' in older
    for query in (f"?diagram_sandbox={strangers.pk}", "?diagram_sandbox=nonsense"):
        assert f"/ws/sandboxes/{newest.pk}/events/" in render(cast.alice, newest, data, query)
    assert 'name="diagram_sandbox"' not in render(cast.charlie, strangers, data)  # only one: no picker
