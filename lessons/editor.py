"""The ```editor``` block's Run: deploy the student's code as a Lambda function in their sandbox
(create it, or update its code) and invoke it once with the block's event.

Like the "try it" actions it runs in the Celery worker and talks to the lab's ``/aws/`` endpoint
with the sandbox's keys, so the calls appear on the sandbox's live events and diagram. The code goes
in ``lambda_function.py`` and the handler is ``lambda_function.lambda_handler``, as in the AWS
console's Python template.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any, TypedDict

from botocore.exceptions import ClientError

from lessons.checks import account_id

MODULE_FILE = "lambda_function.py"
HANDLER = "lambda_function.lambda_handler"
RUNTIME = "python3.12"
MAX_CODE_BYTES = 64 * 1024


class RunResult(TypedDict):
    deployed: str  # "CreateFunction", "UpdateFunctionCode", or "" when the code did not change
    status_code: int
    function_error: str
    payload: str  # pretty-printed when it is JSON
    logs: str
    request_id: str


def code_problem(code: str) -> str:
    """Why ``code`` cannot be deployed (empty, too large, a syntax error with its line), or ''.

    ``compile`` only parses: nothing of the student's code runs in the web process.
    """
    if not code.strip():
        return "Write some code first."
    if len(code.encode()) > MAX_CODE_BYTES:
        return f"The code is larger than {MAX_CODE_BYTES // 1024} KB."
    try:
        compile(code, MODULE_FILE, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{MODULE_FILE} line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. a NUL byte
        return f"{MODULE_FILE}: {exc}"
    return ""


def _zip(code: str) -> bytes:
    """The deployment package; the same code always gives the same bytes (a fixed timestamp)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(MODULE_FILE, date_time=(1980, 1, 1, 0, 0, 0)), code)
    return buffer.getvalue()


def deploy(session: Any, *, function: str, code: str) -> str:
    """Create the function, or replace its code when it changed; returns the call made (or '')."""
    client = session.client("lambda")
    archive = _zip(code)
    try:
        current = client.get_function(FunctionName=function)["Configuration"].get("CodeSha256")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        client.create_function(
            FunctionName=function,
            Runtime=RUNTIME,
            Handler=HANDLER,
            Role=f"arn:aws:iam::{account_id(session)}:role/lesson-editor",
            Code={"ZipFile": archive},
            Timeout=10,
        )
        return "CreateFunction"
    # Unchanged code keeps the function's warm environments, so a second Run shows a warm start.
    if current == base64.b64encode(hashlib.sha256(archive).digest()).decode():
        return ""
    client.update_function_code(FunctionName=function, ZipFile=archive)
    return "UpdateFunctionCode"


def deploy_and_invoke(session: Any, *, function: str, code: str, event: Any) -> RunResult:
    """Deploy ``code`` as ``function`` and invoke it synchronously with ``event``, tailing the log."""
    deployed = deploy(session, function=function, code=code)
    response = session.client("lambda").invoke(
        FunctionName=function, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    body = response["Payload"].read().decode(errors="replace")
    try:
        payload = json.dumps(json.loads(body), indent=2)
    except ValueError:
        payload = body
    logs = base64.b64decode(response.get("LogResult") or b"").decode(errors="replace").strip()
    return RunResult(
        deployed=deployed,
        status_code=int(response["StatusCode"]),
        function_error=response.get("FunctionError") or "",
        payload=payload,
        logs=logs,
        request_id=response.get("ResponseMetadata", {}).get("RequestId", ""),
    )
