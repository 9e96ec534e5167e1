"""Trace ids and the ``X-Amzn-Trace-Id`` header, as AWS X-Ray spells them.

A trace id is ``1-<8 hex: epoch seconds>-<24 hex: random>``; a hop (X-Ray: segment) id is 16 hex.
The header is ``Root=<trace id>;Parent=<hop id>;Sampled=1`` (other fields are kept but ignored).
Whoever hands work on passes the header on: Lambda as the ``_X_AMZN_TRACE_ID`` environment variable
(botocore inside the function then sends it as ``X-Amzn-Trace-Id``), SQS as the ``AWSTraceHeader``
message system attribute, SNS/S3/stream deliveries inside their envelopes.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

HEADER = "X-Amzn-Trace-Id"
LAMBDA_ENV_VAR = "_X_AMZN_TRACE_ID"
SQS_SYSTEM_ATTRIBUTE = "AWSTraceHeader"

_TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_HOP_ID = re.compile(r"^[0-9a-f]{16}$")


def new_trace_id(now: float | None = None) -> str:
    return f"1-{int(now if now is not None else time.time()):08x}-{os.urandom(12).hex()}"


def new_hop_id() -> str:
    return os.urandom(8).hex()


def is_trace_id(value: str) -> bool:
    return bool(_TRACE_ID.match(value))


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str = ""
    sampled: bool = True

    def __str__(self) -> str:
        parts = [f"Root={self.root}"]
        if self.parent:
            parts.append(f"Parent={self.parent}")
        parts.append(f"Sampled={1 if self.sampled else 0}")
        return ";".join(parts)

    def child(self, hop_id: str) -> TraceHeader:
        """The header to pass on from inside hop ``hop_id``: same trace, that hop as the parent."""
        return TraceHeader(root=self.root, parent=hop_id, sampled=self.sampled)


def parse_header(value: str | None) -> TraceHeader | None:
    """The header's trace, or None when it is absent or names no valid root (then start a new trace)."""
    if not value:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, _, item = part.strip().partition("=")
        fields[key.strip().lower()] = item.strip()
    root = fields.get("root", "").lower()
    if not _TRACE_ID.match(root):
        return None
    parent = fields.get("parent", "").lower()
    return TraceHeader(
        root=root, parent=parent if _HOP_ID.match(parent) else "", sampled=fields.get("sampled", "1") != "0"
    )


def continue_or_start(value: str | None) -> TraceHeader:
    """The incoming trace, or a new one when the caller sent none."""
    return parse_header(value) or TraceHeader(root=new_trace_id())


def lambda_environment(header: str | TraceHeader) -> dict[str, str]:
    """What a Lambda execution environment gets so its AWS calls join the trace."""
    return {LAMBDA_ENV_VAR: str(header)}


def sqs_system_attributes(header: str | TraceHeader) -> dict[str, dict[str, str]]:
    """The SQS ``MessageSystemAttributes`` that carry the trace along with a message."""
    return {SQS_SYSTEM_ATTRIBUTE: {"DataType": "String", "StringValue": str(header)}}
