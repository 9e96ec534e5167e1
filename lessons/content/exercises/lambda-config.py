"""Checks for "Configure, don't hard-code"."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from lessons.checks import account_id, check, fail

FUNCTION = "greeter"
SOURCE = """
import os

def handler(event, context):
    return {"message": f"{os.environ['GREETING']}, {event.get('name', 'world')}!"}
"""


def _configuration(session: Any) -> dict[str, Any]:
    return session.client("lambda").get_function_configuration(FunctionName=FUNCTION)


def _greet(session: Any, name: str) -> Any:
    response = session.client("lambda").invoke(FunctionName=FUNCTION, Payload=json.dumps({"name": name}).encode())
    body = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        fail(f"The function raised an error: {body[:300]}")
    return json.loads(body)


@check("A function named 'greeter' has 256 MB of memory and a 10 s timeout")
def sized(session: Any) -> None:
    config = _configuration(session)
    if (config.get("MemorySize"), config.get("Timeout")) != (256, 10):
        fail(f"It has {config.get('MemorySize')} MB and a {config.get('Timeout')} s timeout.")


@check("Its environment variable GREETING is 'Hola'")
def greeting_variable(session: Any) -> None:
    variables = _configuration(session).get("Environment", {}).get("Variables", {})
    if variables.get("GREETING") != "Hola":
        fail(f"GREETING is {variables.get('GREETING')!r}.")


@check("It answers with the greeting from its environment")
def uses_the_variable(session: Any) -> None:
    if (result := _greet(session, "Ada")) != {"message": "Hola, Ada!"}:
        fail(f"Invoked with name 'Ada' it returned {result!r}.")
    client = session.client("lambda")
    variables = _configuration(session).get("Environment", {}).get("Variables", {})
    client.update_function_configuration(
        FunctionName=FUNCTION, Environment={"Variables": {**variables, "GREETING": "Ciao"}}
    )
    try:
        if (result := _greet(session, "Ada")) != {"message": "Ciao, Ada!"}:
            fail(f"With GREETING set to 'Ciao' it returned {result!r}: read os.environ, don't hard-code.")
    finally:
        client.update_function_configuration(FunctionName=FUNCTION, Environment={"Variables": variables})


def solution(session: Any) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", SOURCE)
    session.client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Handler="app.handler",
        Role=f"arn:aws:iam::{account_id(session)}:role/lab",
        Code={"ZipFile": buffer.getvalue()},
        MemorySize=256,
        Timeout=10,
        Environment={"Variables": {"GREETING": "Hola"}},
    )
