"""SNS rules without the database: names, ARNs, endpoint checks, message validation, envelopes."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

MAX_MESSAGE_BYTES = 262_144
MAX_BATCH = 10
DEDUP_WINDOW_MS = 5 * 60 * 1000
PROTOCOLS = {"sqs", "lambda", "http", "https", "email", "email-json", "sms"}
NEEDS_CONFIRMATION = {"http", "https", "email", "email-json"}
TOPIC_ATTRIBUTES = {
    "DeliveryPolicy",
    "DisplayName",
    "Policy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "FifoTopic",
    "ArchivePolicy",
    "DataProtectionPolicy",
    "FifoThroughputScope",
}
SUBSCRIPTION_ATTRIBUTES = {
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
}
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
_FIFO_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo\Z")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_PHONE = re.compile(r"\+[1-9]\d{6,14}\Z")
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")
_TOKEN = re.compile(r"[!-~]{1,128}\Z")


class SnsRuleError(ValueError):
    """A broken rule: ``code`` the SNS error code, ``message`` its full text."""

    def __init__(self, message: str, code: str = "InvalidParameter") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(detail: str) -> SnsRuleError:
    return SnsRuleError(f"Invalid parameter: {detail}")


def check_topic_name(name: str, fifo: bool) -> None:
    if not (_FIFO_TOPIC_NAME if fifo else _TOPIC_NAME).match(name):
        raise invalid(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, "
            "numbers, underscores, and hyphens, and must be between 1 and 256 characters long."
            if fifo or name.endswith(".fifo")
            else "Topic Name"
        )


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def parse_arn(arn: str, service: str) -> tuple[str, str, str] | None:
    """(region, account, resource) of an ARN of ``service``, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[:3] != ["arn", "aws", service] or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]


def check_endpoint(protocol: str, endpoint: str, lab_url: str) -> None:
    """Refuse endpoints SNS would refuse, and any HTTP host that is not this lab (no SSRF)."""
    if protocol not in PROTOCOLS:
        raise invalid(f"Invalid protocol type: {protocol}" if protocol else "Protocol")
    if protocol == "sqs" and parse_arn(endpoint, "sqs") is None:
        raise invalid("SQS endpoint ARN")
    if protocol == "lambda" and parse_arn(endpoint, "lambda") is None:
        raise invalid("Lambda endpoint ARN")
    if protocol in ("email", "email-json") and not _EMAIL.match(endpoint):
        raise invalid("Email address")
    if protocol == "sms" and not _PHONE.match(endpoint):
        raise invalid(f"Invalid SMS endpoint: {endpoint}")
    if protocol in ("http", "https"):
        parts = urlsplit(endpoint)
        lab = urlsplit(lab_url)
        if parts.scheme != protocol or not parts.hostname:
            raise invalid("Endpoint must match the specified protocol")
        if (parts.hostname, parts.port) != (lab.hostname, lab.port):
            raise invalid(
                f"Endpoint {endpoint}: Serverless Lab delivers HTTP(S) notifications only to its own URLs "
                f"({lab_url}/...)"
            )


def check_subject(subject: str | None) -> None:
    if subject is None:
        return
    if not subject or len(subject) > 100 or not subject.isascii() or any(c in subject for c in "\r\n"):
        raise invalid("Subject")


def check_message(message: str | None, structure: str | None) -> dict[str, str] | None:
    """Validate a message; for MessageStructure=json return the per-protocol messages."""
    if not message:
        raise invalid("Empty message")
    if len(message.encode()) > MAX_MESSAGE_BYTES:
        raise invalid("Message too long")
    if structure is None:
        return None
    if structure != "json":
        raise invalid("MessageStructure")
    try:
        parsed = json.loads(message)
    except ValueError:
        raise invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict):
        raise invalid("Message Structure - JSON message body failed to parse")
    if "default" not in parsed:
        raise invalid("Message Structure - No default entry in JSON message body")
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in parsed.items()}


def check_message_attributes(attributes: dict[str, dict[str, Any]]) -> None:
    if len(attributes) > 10:
        raise invalid("Too many message attributes")
    for name, value in attributes.items():
        data_type = value.get("DataType") or ""
        base = data_type.split(".", 1)[0]
        if not name or len(name) > 256 or name.lower().startswith(("aws.", "amazon.")):
            raise SnsRuleError(f"The message attribute name '{name}' is invalid.", "ParameterValueInvalid")
        if base not in ("String", "Number", "Binary"):
            raise SnsRuleError(
                f"The message attribute '{name}' has an invalid message attribute type, the set of supported type "
                "prefixes is Binary, Number, and String.",
                "ParameterValueInvalid",
            )
        key = "BinaryValue" if base == "Binary" else "StringValue"
        if value.get(key) in (None, "", b""):
            raise SnsRuleError(
                f"The message attribute '{name}' must contain non-empty message attribute value.",
                "ParameterValueInvalid",
            )
        if data_type == "String.Array":
            try:
                parsed = json.loads(value["StringValue"])
            except ValueError:
                parsed = None
            if not isinstance(parsed, list):
                raise SnsRuleError(
                    f"The message attribute '{name}' with type 'String.Array' has an invalid value.",
                    "ParameterValueInvalid",
                )
        if base == "Number":
            try:
                float(value["StringValue"])
            except ValueError:
                raise SnsRuleError(
                    f"Could not cast message attribute '{name}' value to number.", "ParameterValueInvalid"
                ) from None


def check_token(kind: str, value: str) -> None:
    if not _TOKEN.match(value):
        raise invalid(
            f"{kind} Reason: {kind} can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )


def check_batch_ids(ids: list[str]) -> None:
    if not ids:
        raise SnsRuleError("The batch request doesn't contain any entries.", "EmptyBatchRequest")
    if len(ids) > MAX_BATCH:
        raise SnsRuleError("The batch request contains more entries than permissible.", "TooManyEntriesInBatchRequest")
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise SnsRuleError(
                "The Id of a batch entry in a batch request doesn't abide by the specification.", "InvalidBatchEntryId"
            )
    if len(set(ids)) != len(ids):
        raise SnsRuleError("Two or more batch entries in the request have the same Id.", "BatchEntryIdsNotDistinct")


def stored_attributes(attributes: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    stored = {}
    for name, value in attributes.items():
        entry = {"DataType": value["DataType"]}
        if value.get("BinaryValue") is not None:
            entry["BinaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        else:
            entry["StringValue"] = str(value["StringValue"])
        stored[name] = entry
    return stored


def content_dedup_id(message: str) -> str:
    return hashlib.sha256(message.encode()).hexdigest()


def signature(sandbox_secret: str, fields: dict[str, Any]) -> str:
    """A stand-in for SNS's certificate signature: base64 of a SHA-256 over the signed fields.

    Real SNS signs with a private key behind SigningCertURL; the lab has no such key, so this
    proves only that the envelope was not altered, to a reader who knows the sandbox secret.
    """
    text = "".join(f"{key}\n{fields[key]}\n" for key in sorted(fields) if fields.get(key) is not None)
    return base64.b64encode(hashlib.sha256((sandbox_secret + text).encode()).digest()).decode()


def envelope(
    *,
    message_type: str,
    message_id: str,
    topic_arn: str,
    message: str,
    timestamp: str,
    subject: str | None,
    attributes: dict[str, dict[str, str]],
    lab_url: str,
    subscription_arn: str,
    secret: str,
    sequence_number: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """The JSON document SNS sends to SQS, HTTP(S) and email-json subscribers."""
    doc: dict[str, Any] = {"Type": message_type, "MessageId": message_id}
    if token:
        doc["Token"] = token
    doc.update(TopicArn=topic_arn)
    if subject:
        doc["Subject"] = subject
    doc.update(Message=message, Timestamp=timestamp)
    if sequence_number:
        doc["SequenceNumber"] = sequence_number
    doc["SignatureVersion"] = "1"
    doc["Signature"] = signature(secret, doc)
    doc["SigningCertURL"] = f"{lab_url}/aws/sns/SimpleNotificationService-lab.pem"
    if token:
        doc["SubscribeURL"] = f"{lab_url}/aws/?Action=ConfirmSubscription&TopicArn={quote(topic_arn)}&Token={token}"
    else:
        doc["UnsubscribeURL"] = f"{lab_url}/aws/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn)}"
    if attributes:
        doc["MessageAttributes"] = {
            name: {"Type": value["DataType"], "Value": value.get("StringValue", value.get("BinaryValue"))}
            for name, value in attributes.items()
        }
    return doc
