"""SQS's error codes. The JSON protocol carries the legacy query codes (``x-amzn-query-error``),
which is what boto3 reports as ``Error.Code``; the serializer maps them to the modelled shapes."""

from __future__ import annotations

from serverless_lab.cloud.core.errors import AwsError

from .logic import SqsRuleError


class SqsError(AwsError):
    code = "InvalidParameterValue"


class QueueDoesNotExist(SqsError):
    code = "AWS.SimpleQueueService.NonExistentQueue"

    def __init__(self) -> None:
        super().__init__("The specified queue does not exist.")


class QueueAlreadyExists(SqsError):
    code = "QueueAlreadyExists"


class ReceiptHandleIsInvalid(SqsError):
    code = "ReceiptHandleIsInvalid"

    def __init__(self, handle: str) -> None:
        super().__init__(f'The input receipt handle "{handle}" is not a valid receipt handle.')


class MessageNotInflight(SqsError):
    code = "AWS.SimpleQueueService.MessageNotInflight"

    def __init__(self) -> None:
        super().__init__("The message referred to isn't in flight.")


class InvalidParameterValue(SqsError):
    code = "InvalidParameterValue"


class MissingParameter(SqsError):
    code = "MissingParameter"


def from_rule(error: SqsRuleError) -> SqsError:
    return SqsError(error.message, code=error.code)
