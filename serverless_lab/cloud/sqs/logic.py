"""SQS rules without the database: names, attribute validation, MD5 digests, receipt handles.

The MD5 of message attributes follows AWS's documented encoding (sorted names; each name, data
type and value length-prefixed with 4 big-endian bytes, a transport byte 1 for String/Number and 2
for Binary), because boto3 recomputes both digests and rejects a response that differs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import uuid
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_SIZE = 1_048_576
MAX_BATCH = 10
MAX_WAIT_SECONDS = 20
DEDUP_WINDOW_MS = 5 * 60 * 1000

# Settable attributes and their defaults (what GetQueueAttributes shows for a fresh queue).
DEFAULTS: dict[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": str(MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
FIFO_DEFAULTS = {"ContentBasedDeduplication": "false", "DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue"}
_RANGES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_SECONDS),
    "VisibilityTimeout": (0, 43_200),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}
_BOOLEANS = {"FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled"}
_FREE_TEXT = {"Policy", "KmsMasterKeyId", "RedrivePolicy", "RedriveAllowPolicy"}
_CHOICES = {"DeduplicationScope": {"messageGroup", "queue"}, "FifoThroughputLimit": {"perQueue", "perMessageGroupId"}}
SETTABLE = set(_RANGES) | _BOOLEANS | _FREE_TEXT | set(_CHOICES)
_FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
COMPUTED = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
}
ALL_ATTRIBUTES = SETTABLE | COMPUTED
MESSAGE_SYSTEM_ATTRIBUTES = {
    "ApproximateFirstReceiveTimestamp",
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "MessageDeduplicationId",
    "MessageGroupId",
    "SenderId",
    "SentTimestamp",
    "SequenceNumber",
    "SqsManagedSseEnabled",
}

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo\Z")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")
_TOKEN = re.compile(r"[!-~]{1,128}\Z")  # group and deduplication ids: printable ASCII
_INVALID_BODY_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}\Z")


class SqsRuleError(ValueError):
    """A broken rule; ``code`` is the SQS error code the backend raises for it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def bad_value(value: object, parameter: str, reason: str) -> str:
    """SQS's message for a parameter value out of its range."""
    return f"Value {value} for parameter {parameter} is invalid. Reason: {reason}"


def check_queue_name(name: str, fifo: bool) -> None:
    if fifo and not _FIFO_NAME.match(name):
        raise SqsRuleError(
            "InvalidParameterValue",
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
            "must end with .fifo suffix and be 1 to 80 in length.",
        )
    if not fifo and not _QUEUE_NAME.match(name):
        raise SqsRuleError(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        )


def _invalid_value(name: str, reason: str = "") -> SqsRuleError:
    return SqsRuleError(
        "InvalidAttributeValue", f"Invalid value for the parameter {name}.{(' Reason: ' + reason) if reason else ''}"
    )


def validate_attributes(attributes: dict[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """The settable attributes normalised, or SqsRuleError as SQS reports the first bad one."""
    clean: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in SETTABLE:
            raise SqsRuleError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if name in _FIFO_ONLY and not fifo:
            raise SqsRuleError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if name == "FifoQueue" and not creating:
            raise SqsRuleError("InvalidAttributeName", "Unknown Attribute FifoQueue.")
        if name in _RANGES:
            low, high = _RANGES[name]
            if not re.fullmatch(r"-?\d+", value.strip()) or not low <= int(value) <= high:
                raise _invalid_value(name)
            clean[name] = str(int(value))
        elif name in _BOOLEANS:
            if value.lower() not in ("true", "false"):
                raise _invalid_value(name)
            clean[name] = value.lower()
        elif name in _CHOICES:
            if value not in _CHOICES[name]:
                raise _invalid_value(name)
            clean[name] = value
        elif name == "RedrivePolicy":
            clean[name] = json.dumps(parse_redrive_policy(value)) if value else ""
        elif name == "RedriveAllowPolicy":
            clean[name] = _check_redrive_allow(value) if value else ""
        else:
            clean[name] = value
    return clean


@dataclass(frozen=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int


def parse_redrive_policy(text: str) -> dict[str, Any]:
    try:
        policy = json.loads(text)
    except ValueError:
        raise _invalid_value("RedrivePolicy", "Redrive policy is not a valid JSON map.") from None
    if not isinstance(policy, dict) or "deadLetterTargetArn" not in policy or "maxReceiveCount" not in policy:
        raise _invalid_value(
            "RedrivePolicy",
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn, maxReceiveCount.",
        )
    try:
        count = int(policy["maxReceiveCount"])
    except (TypeError, ValueError):
        raise _invalid_value(
            "RedrivePolicy", "Invalid value for maxReceiveCount: must be an integer from 1 to 1000."
        ) from None
    if not 1 <= count <= 1000:
        raise _invalid_value("RedrivePolicy", "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
    if parse_queue_arn(str(policy["deadLetterTargetArn"])) is None:
        raise _invalid_value("RedrivePolicy", "Invalid value for deadLetterTargetArn.")
    return {"deadLetterTargetArn": str(policy["deadLetterTargetArn"]), "maxReceiveCount": count}


def _check_redrive_allow(text: str) -> str:
    try:
        policy = json.loads(text)
    except ValueError:
        raise _invalid_value("RedriveAllowPolicy", "Redrive allow policy is not a valid JSON map.") from None
    permission = policy.get("redrivePermission") if isinstance(policy, dict) else None
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise _invalid_value("RedriveAllowPolicy", "Invalid value for redrivePermission.")
    sources = policy.get("sourceQueueArns", [])
    if permission == "byQueue" and not (isinstance(sources, list) and 1 <= len(sources) <= 10):
        raise _invalid_value(
            "RedriveAllowPolicy", "sourceQueueArns must hold 1 to 10 queue ARNs when redrivePermission is byQueue."
        )
    return json.dumps(policy)


def redrive_policy(attributes: dict[str, str]) -> RedrivePolicy | None:
    text = attributes.get("RedrivePolicy")
    if not text:
        return None
    policy = json.loads(text)
    return RedrivePolicy(policy["deadLetterTargetArn"], int(policy["maxReceiveCount"]))


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


def parse_queue_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account id, queue name) of an SQS queue ARN, or None."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]


def parse_queue_url(url: str) -> tuple[str, str] | None:
    """(account id, queue name) from ``…/<account id>/<queue name>``, or None."""
    parts = [part for part in url.split("?")[0].split("/") if part]
    if len(parts) < 2 or not re.fullmatch(r"\d{12}", parts[-2]):
        return None
    return parts[-2], parts[-1]


# --- messages -------------------------------------------------------------------------------


def check_body(body: str) -> None:
    if not body:
        raise SqsRuleError("MissingParameter", "The request must contain the parameter MessageBody.")
    bad = _INVALID_BODY_CHAR.search(body)
    if bad:
        raise SqsRuleError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, the set of allowed "
            "characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def check_message_attributes(attributes: dict[str, dict[str, Any]]) -> int:
    """Validate message attributes; return their size in bytes as SQS counts it."""
    if len(attributes) > 10:
        raise SqsRuleError(
            "InvalidParameterValue",
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].",
        )
    size = 0
    for name, value in attributes.items():
        if not _ATTRIBUTE_NAME.match(name) or name.lower().startswith(("aws.", "amazon.")):
            raise SqsRuleError("InvalidParameterValue", f"Message attribute name '{name}' is invalid.")
        data_type = value.get("DataType") or ""
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise SqsRuleError(
                "InvalidParameterValue",
                f"The message attribute '{name}' has an invalid message attribute type, the set of supported type "
                "prefixes is Binary, Number, and String.",
            )
        if base == "Binary":
            raw = value.get("BinaryValue")
            if raw is None:
                raise SqsRuleError(
                    "InvalidParameterValue",
                    f"The message attribute '{name}' must contain a non-empty message attribute value "
                    f"for message attribute type '{data_type}'.",
                )
            size += len(raw)
        else:
            text = value.get("StringValue")
            if text is None or text == "":
                raise SqsRuleError(
                    "InvalidParameterValue",
                    f"The message attribute '{name}' must contain a non-empty message attribute value "
                    f"for message attribute type '{data_type}'.",
                )
            if base == "Number" and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
                raise SqsRuleError(
                    "InvalidParameterValue", f"Can't cast the value of message (user) attribute '{name}' to a number."
                )
            check_body_like(name, text)
            size += len(text.encode())
        size += len(name.encode()) + len(data_type.encode())
    return size


def check_body_like(name: str, text: str) -> None:
    if _INVALID_BODY_CHAR.search(text):
        raise SqsRuleError(
            "InvalidParameterValue", f"Message (user) attribute '{name}' value contains invalid characters."
        )


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _chunk(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str | None:
    """AWS's MD5 of message attributes (also used for system attributes); None when there are none."""
    if not attributes:
        return None
    out = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        out += _chunk(name.encode()) + _chunk(data_type.encode())
        if "BinaryValue" in value and value.get("BinaryValue") is not None:
            raw = value["BinaryValue"]
            out += b"\x02" + _chunk(raw if isinstance(raw, bytes) else base64.b64decode(raw))
        else:
            out += b"\x01" + _chunk(str(value["StringValue"]).encode())
    return hashlib.md5(bytes(out)).hexdigest()


def stored_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Message attributes as JSON-safe dicts (binary values base64-encoded)."""
    stored: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        entry = {"DataType": value["DataType"]}
        if value.get("BinaryValue") is not None:
            entry["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        else:
            entry["StringValue"] = value["StringValue"]
        stored[name] = entry
    return stored


def wire_attributes(stored: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    return {
        name: (
            {"DataType": v["DataType"], "BinaryValue": base64.b64decode(v["BinaryValue"])}
            if "BinaryValue" in v
            else dict(v)
        )
        for name, v in stored.items()
    }


def select_attribute_names(names: list[str], available: dict[str, Any]) -> dict[str, Any]:
    """The message attributes a ReceiveMessage asked for (``All``, ``.*``, ``prefix.*`` or names)."""
    if not names:
        return {}
    chosen: dict[str, Any] = {}
    for wanted in names:
        if wanted in ("All", ".*"):
            return dict(available)
        if wanted.endswith(".*"):
            prefix = wanted[:-1]
            chosen.update({k: v for k, v in available.items() if k.startswith(prefix)})
        elif wanted in available:
            chosen[wanted] = available[wanted]
    return chosen


def content_dedup_id(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def check_token(kind: str, value: str) -> None:
    if not _TOKEN.match(value):
        raise SqsRuleError(
            "InvalidParameterValue",
            bad_value(
                value, kind, f"{kind} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            ),
        )


def check_batch_ids(ids: list[str]) -> None:
    if not ids:
        raise SqsRuleError(
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        )
    if len(ids) > MAX_BATCH:
        raise SqsRuleError(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are 10. You have sent {len(ids)}.",
        )
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise SqsRuleError(
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
                "It can be at most 80 letters long.",
            )
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise SqsRuleError("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", f"Id {duplicate} repeated.")


# --- receipt handles ------------------------------------------------------------------------


def make_receipt_handle(queue_id: int, message_id: str, nonce: str) -> str:
    return base64.urlsafe_b64encode(f"{queue_id}:{message_id}:{nonce}".encode()).decode()


def parse_receipt_handle(handle: str) -> tuple[int, str, str] | None:
    """(queue id, message id, nonce) of a handle we issued, or None."""
    try:
        queue_id, message_id, nonce = base64.urlsafe_b64decode(handle.encode()).decode().split(":")
        return int(queue_id), str(uuid.UUID(message_id)), nonce
    except (ValueError, UnicodeError):
        return None
