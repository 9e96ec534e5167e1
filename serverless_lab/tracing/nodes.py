"""Diagram node ids: the resource's ARN, or ``client`` / ``browser`` for callers outside AWS.

The hop recorder and the diagram's graph selectors both name nodes through these functions, so a
hop's edge always lands on the node the graph drew.
"""

from __future__ import annotations

import json
import re
from typing import Any

CLIENT = "client"
BROWSER = "browser"
PREVIEW_CHARS = 240

# Parameter names whose values are never shown (matched case-insensitively, anywhere in the name).
_SECRET_WORDS = re.compile(r"secret|password|passwd|token|credential|authorization|signature|private", re.I)


def s3_bucket(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def dynamodb_table(region: str, account: str, name: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def lambda_function(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def sqs_queue(region: str, account: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def sns_topic(region: str, account: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{name}"


def log_group(region: str, account: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


def service_node(service: str) -> str:
    """A service itself, for operations on no single resource (sts:GetCallerIdentity, s3:ListBuckets)."""
    return f"service:{service}"


def _function_arn(value: str, region: str, account: str) -> str:
    if value.startswith("arn:"):
        # arn:aws:lambda:region:account:function:name[:qualifier] → drop the qualifier
        return ":".join(value.split(":")[:7])
    if ":" in value:  # "account:function:name" partial ARNs and "name:qualifier"
        parts = value.split(":")
        value = parts[2] if len(parts) >= 3 and parts[1] == "function" else parts[0]
    return lambda_function(region, account, value)


def resource_node(service: str, params: dict[str, Any], *, region: str, account: str) -> str:
    """The node an operation acts on, from its parameters; the service node when it names none."""
    if service == "s3" and params.get("Bucket"):
        return s3_bucket(str(params["Bucket"]))
    if service == "dynamodb":
        name = params.get("TableName")
        if isinstance(name, str) and name:
            return name if name.startswith("arn:") else dynamodb_table(region, account, name)
    if service == "lambda" and isinstance(params.get("FunctionName"), str):
        return _function_arn(params["FunctionName"], region, account)
    if service == "sqs" and isinstance(params.get("QueueUrl"), str):
        return sqs_queue(region, account, params["QueueUrl"].rstrip("/").rsplit("/", 1)[-1])
    if service == "sns":
        for key in ("TopicArn", "TargetArn"):
            if isinstance(params.get(key), str) and params[key]:
                return params[key]
    if service == "logs" and isinstance(params.get("logGroupName"), str):
        return log_group(region, account, params["logGroupName"])
    return service_node(service)


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: ("***" if _SECRET_WORDS.search(str(key)) else _shown(item)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shown(item) for item in value[:20]]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value[:200] if isinstance(value, str) else value
    if hasattr(value, "read"):
        return "<stream>"
    return str(value)[:80]


def preview(params: dict[str, Any], limit: int = PREVIEW_CHARS) -> str:
    """A short JSON rendering of ``params``: secrets masked, bytes summarised, capped at ``limit``."""
    if not params:
        return ""
    shown = dict(_shown(params))
    for key in ("Environment", "Variables"):  # Lambda environment values are often credentials
        if isinstance(shown.get(key), dict):
            shown[key] = "***"
    text = json.dumps(shown, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
