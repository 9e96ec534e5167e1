"""AWS errors as Python exceptions.

Every emulator raises a subclass of :class:`AwsError`; the endpoint renders it in the
service's own wire protocol (query XML, JSON, REST-JSON or REST-XML), so boto3 sees the
same ``ClientError`` code, message and HTTP status that AWS would send.
"""
from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """One AWS error code.

    ``code`` is the wire error code (``ResourceNotFoundException``, ``NoSuchBucket``),
    ``status`` the HTTP status, ``sender_fault`` picks ``Sender``/``Client`` versus
    ``Receiver``/``Server`` in protocols that carry it, and ``fields`` holds extra
    members some services put beside the message (S3's ``BucketName``, DynamoDB's
    ``CancellationReasons``).
    """

    code: str = "InternalFailure"
    status: int = 400
    sender_fault: bool = True

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        sender_fault: bool | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if sender_fault is not None:
            self.sender_fault = sender_fault
        self.fields = fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, status={self.status})"


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class NotImplementedByLab(AwsError):
    """An operation botocore knows but Serverless Lab does not emulate (yet)."""

    code = "NotImplemented"
    status = 501
    sender_fault = False

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"The operation {operation} of {service} is not supported by Serverless Lab yet.",
            operation=operation,
        )


class UnknownOperation(AwsError):
    code = "UnknownOperationException"
    status = 400


class InvalidAction(AwsError):
    """Query-protocol services (SQS, SNS, STS) answer an unknown Action with this."""

    code = "InvalidAction"
    status = 400


class SerializationError(AwsError):
    code = "SerializationException"
    status = 400


class ValidationError(AwsError):
    code = "ValidationError"
    status = 400
