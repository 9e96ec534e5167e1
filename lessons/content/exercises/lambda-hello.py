"""Checks for "Your first function"."""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from typing import Any

from lessons.checks import account_id, check, fail

SOURCE = """
def handler(event, context):
    return {"message": f"Hello, {event.get('name', 'world')}!"}
"""


@check("A function named 'hello' exists with a Python runtime")
def function_exists(session: Any) -> None:
    runtime = session.client("lambda").get_function(FunctionName="hello")["Configuration"].get("Runtime", "")
    if not runtime.startswith("python3"):
        fail(f"Its runtime is {runtime or 'not set'}; use python3.9 to python3.13.")


@check("Invoking it with a name returns {'message': 'Hello, <name>!'}")
def greets(session: Any) -> None:
    name = f"Ada{secrets.randbelow(1000)}"
    response = session.client("lambda").invoke(FunctionName="hello", Payload=json.dumps({"name": name}).encode())
    body = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        fail(f"The function raised an error: {body[:300]}")
    try:
        result = json.loads(body)
    except ValueError:
        fail(f"It returned {body[:120]!r}, which is not JSON.")
    if result != {"message": f"Hello, {name}!"}:
        fail(f"Invoked with name {name!r} it returned {result!r}.")


def solution(session: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SOURCE)
    session.client("lambda").create_function(
        FunctionName="hello",
        Runtime="python3.12",
        Handler="app.handler",
        Role=f"arn:aws:iam::{account_id(session)}:role/lab",
        Code={"ZipFile": buffer.getvalue()},
    )
