"""Interactive blocks inside lesson Markdown: fenced blocks with a YAML body.

Syntax (documented in docs/lessons.md)::

    ```quiz
    id: pay-for-use
    question: What do you pay for with Lambda?
    multiple: false            # true: tick every correct option
    options:
      - text: Requests and compute time
        correct: true
        explain: Billing is per request plus GB-seconds.
      - text: Idle servers
        explain: There are none to pay for.
    ```

    ```exercise
    id: s3-photos-versioning   # an exercise of lessons/content/exercises/
    ```

    ```try
    label: Upload a photo
    service: s3
    action: s3-upload           # a prepared action of lessons/tryit.py; without one: "coming soon"
    ```

    ```editor
    function: hello-editor      # the Lambda function Run creates or updates in the student's sandbox
    starter: |                  # the code shown; its lambda_handler(event, context) is the handler
      def lambda_handler(event, context): ...
    event: {name: Ada}          # optional: what Run invokes it with (default {})
    ```

    ```diagram``` / ```cost-calculator``` / ```scaling-demo```   (optional YAML body: caption)

Blocks are cut out of the Markdown *before* it is rendered and sanitised: each becomes a
``LABBLOCK<n>`` paragraph, and the page renders the block's validated data with a server template
(autoescaped). No HTML from the Markdown ever reaches the page unsanitised. Pure: no Django.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

BLOCK_KINDS = ("quiz", "exercise", "try", "diagram", "editor", "cost-calculator", "scaling-demo")
_FENCE_OPEN = re.compile(r"^```(" + "|".join(re.escape(k) for k in BLOCK_KINDS) + r")[ \t]*$")
TOKEN = "LABBLOCK{index}"
TOKEN_RE = re.compile(r"<p>LABBLOCK(\d+)</p>")
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_QUIZ_KEYS = {"id", "question", "multiple", "options"}
_OPTION_KEYS = {"text", "correct", "explain"}
_EDITOR_KEYS = {"function", "starter", "event", "caption"}
_FUNCTION_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class BlockError:
    line: int
    message: str


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _validate_quiz(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    unknown = set(data) - _QUIZ_KEYS
    if unknown:
        problems.append(f"unknown quiz field(s): {', '.join(sorted(unknown))}")
    if not (isinstance(data.get("id"), str) and _ID_RE.match(data["id"])):
        problems.append("a quiz needs an 'id' slug like 'pay-for-use'")
    if not _text(data.get("question")):
        problems.append("a quiz needs a 'question'")
    multiple = data.get("multiple", False)
    if not isinstance(multiple, bool):
        problems.append("'multiple' must be true or false")
    options = data.get("options")
    if not isinstance(options, list) or len(options) < 2:
        return data, [*problems, "a quiz needs at least two 'options'"]
    clean: list[dict[str, Any]] = []
    for number, option in enumerate(options, start=1):
        if not isinstance(option, dict) or not _text(option.get("text")):
            problems.append(f"option {number} needs a 'text'")
            continue
        if set(option) - _OPTION_KEYS:
            problems.append(f"option {number} has unknown field(s): {', '.join(sorted(set(option) - _OPTION_KEYS))}")
        if not isinstance(option.get("correct", False), bool):
            problems.append(f"option {number}: 'correct' must be true or false")
        if not _text(option.get("explain")):
            problems.append(f"option {number} needs an 'explain' (why it is right or wrong)")
        clean.append(
            {
                "text": str(option["text"]).strip(),
                "correct": option.get("correct") is True,
                "explain": str(option.get("explain") or "").strip(),
            }
        )
    right = sum(option["correct"] for option in clean)
    if multiple is False and right != 1:
        problems.append(f"a single-choice quiz needs exactly one correct option (found {right})")
    if multiple is True and right < 1:
        problems.append("a multiple-choice quiz needs at least one correct option")
    return {
        "id": data.get("id"),
        "question": str(data.get("question", "")).strip(),
        "multiple": multiple,
        "options": clean,
    }, problems


def _validate_editor(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    if set(data) - _EDITOR_KEYS:
        problems.append(f"an editor block takes {', '.join(sorted(_EDITOR_KEYS))}")
    if not (isinstance(data.get("function"), str) and _FUNCTION_RE.match(data["function"])):
        problems.append("an editor block needs a 'function' name (letters, digits, - and _, at most 64)")
    if not _text(data.get("starter")):
        problems.append("an editor block needs 'starter' code (use 'starter: |')")
    try:
        json.dumps(data.get("event", {}))
    except (TypeError, ValueError):
        problems.append("the 'event' must be plain JSON data (quote dates and times)")
    clean = {
        "function": data.get("function"),
        "starter": str(data.get("starter") or "").rstrip() + "\n",
        "event": data.get("event", {}),
        "caption": str(data.get("caption") or "").strip(),
    }
    return clean, problems


# The services a diagram block can focus on (the same names as tracing.selectors.FOCUSABLE).
DIAGRAM_FOCUS = {
    "s3": "S3", "dynamodb": "DynamoDB", "lambda": "Lambda", "sqs": "SQS", "sns": "SNS",
    "events": "EventBridge", "apigateway": "API Gateway", "logs": "CloudWatch Logs",
}


def _validate_diagram(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``caption`` and ``focus`` (alias ``service``): one service name or a list of them."""
    problems = []
    if set(data) - {"caption", "focus", "service"}:
        problems.append("a diagram block takes 'caption' and 'focus' (or 'service')")
    if "focus" in data and "service" in data:
        problems.append("give a diagram block 'focus' or 'service', not both")
    focus = data.get("focus", data.get("service"))
    names = [focus] if isinstance(focus, str) else focus if isinstance(focus, list) else [] if focus is None else [None]
    names = [str(name).strip().lower() if isinstance(name, str) else "" for name in names]
    if not all(name in DIAGRAM_FOCUS for name in names):
        problems.append(f"a diagram's 'focus' names services among: {', '.join(DIAGRAM_FOCUS)}")
    clean = {
        "caption": str(data.get("caption") or "").strip(),
        "focus": ",".join(names),
        "focus_label": " and ".join(DIAGRAM_FOCUS.get(name, name) for name in names),
    }
    return clean, problems


def _validate(kind: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    if kind == "quiz":
        return _validate_quiz(data)
    if kind == "exercise":
        if set(data) != {"id"} or not (isinstance(data["id"], str) and _ID_RE.match(data["id"])):
            return data, ["an exercise block has exactly one field: 'id' (an exercise slug)"]
        return data, []
    if kind == "try":
        problems = [] if _text(data.get("label")) else ["a try block needs a 'label'"]
        if set(data) - {"label", "service", "action", "caption"}:
            problems.append("a try block takes 'label', 'service', 'action' and 'caption'")
        if not _text(data.get("service")):
            problems.append("a try block needs the 'service' it fires an event at")
        return data, problems
    if kind == "editor":
        return _validate_editor(data)
    if kind == "diagram":
        return _validate_diagram(data)
    # cost-calculator / scaling-demo: an optional caption.
    if set(data) - {"caption"}:
        return data, [f"a {kind} block only takes a 'caption'"]
    return data, []


def extract_blocks(body: str, *, first_line: int) -> tuple[str, list[dict[str, Any]], list[BlockError]]:
    """Replace every interactive fenced block with a token paragraph.

    ``first_line`` is the file line of the body's first line, so errors point into the file.
    Returns (markdown with tokens, blocks as ``{kind, line, data}`` dicts, errors).
    """
    lines = body.split("\n")
    out: list[str] = []
    blocks: list[dict[str, Any]] = []
    errors: list[BlockError] = []
    index, in_fence = 0, False
    while index < len(lines):
        line = lines[index]
        match = None if in_fence else _FENCE_OPEN.match(line.strip())
        if match is None:
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            out.append(line)
            index += 1
            continue
        kind, start = match.group(1), first_line + index
        end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            errors.append(BlockError(start, f"the {kind} block opened here is never closed with ```"))
            return body, blocks, errors
        try:
            data = yaml.safe_load("\n".join(lines[index + 1 : end])) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(BlockError(start + 1 + (mark.line if mark else 0), f"the {kind} block is not valid YAML"))
            data = None
        if data is not None and not isinstance(data, dict):
            errors.append(BlockError(start, f"the {kind} block must be 'field: value' lines"))
        elif data is not None:
            clean, problems = _validate(kind, data)
            errors.extend(BlockError(start, f"{kind}: {problem}") for problem in problems)
            out.extend(["", TOKEN.format(index=len(blocks)), ""])
            blocks.append({"kind": kind, "line": start, "data": clean})
        index = end + 1
    return "\n".join(out), blocks, errors


def split_rendered(body_html: str, blocks: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Cut rendered HTML at its block tokens: ``[("html", str), ("block", block), ...]``."""
    segments: list[tuple[str, Any]] = []
    position = 0
    for match in TOKEN_RE.finditer(body_html):
        number = int(match.group(1))
        if number >= len(blocks):
            continue
        segments.append(("html", body_html[position : match.start()]))
        segments.append(("block", blocks[number]))
        position = match.end()
    segments.append(("html", body_html[position:]))
    return [segment for segment in segments if segment[0] == "block" or segment[1].strip()]
