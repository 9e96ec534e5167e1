"""serialize_error: whatever botocore reads as code and message is error.code and error.message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from urllib3 import HTTPHeaderDict

from serverless_lab.cloud.core.errors import AwsError, InternalFailure, InvalidAction, UnknownOperation
from serverless_lab.cloud.core.protocol import load_service_model, serialize_error
from serverless_lab.cloud.core.protocol.shapes import service_protocol

if TYPE_CHECKING:
    from conftest import InProcessAws

MESSAGE = "Nope: <tag> & \"quotes\" 'single' — ünïcode ✓"


def botocore_error(model: ServiceModel, error: AwsError, operation: str | None = None) -> dict:
    """What botocore's parser (the oracle) reads from our error response."""
    operation_model = model.operation_model(operation) if operation else None
    response = serialize_error(model, error, request_id="req-9", operation_model=operation_model)
    parsed = create_parser(service_protocol(model)).parse(
        {"status_code": response.status, "headers": HTTPHeaderDict(response.headers), "body": response.body},
        operation_model.output_shape if operation_model else None,
    )
    parsed["ResponseMetadata"]["HTTPStatusCode"] = response.status
    return parsed


@pytest.mark.parametrize("service", ["sts", "sqs", "sns", "dynamodb", "lambda", "s3", "logs", "events", "apigatewayv2"])
@pytest.mark.parametrize(
    "error",
    [
        AwsError(MESSAGE, code="ResourceNotFoundException", status=404),
        AwsError("", code="ThrottlingException", status=429),
        InternalFailure("We encountered an internal error. Please try again."),
    ],
    ids=repr,
)
def test_botocore_reads_back_code_message_and_status(service: str, error: AwsError) -> None:
    parsed = botocore_error(load_service_model(service), error)
    assert parsed["Error"]["Code"] == error.code
    assert (parsed["Error"]["Message"] or "") == error.message  # XML protocols read <Message/> as None
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == error.status
    assert parsed["ResponseMetadata"]["RequestId"] == "req-9"


def test_sqs_query_protocol_error(sqs_query: ServiceModel) -> None:
    error = AwsError("The specified queue does not exist.", code="AWS.SimpleQueueService.NonExistentQueue")
    parsed = botocore_error(sqs_query, error)
    assert parsed["Error"] == {"Type": "Sender", "Code": error.code, "Message": error.message}


def test_unknown_operation_errors_render_in_their_protocols() -> None:
    parsed = botocore_error(load_service_model("dynamodb"), UnknownOperation("Unknown operation 'X.Y'"))
    assert parsed["Error"]["Code"] == "UnknownOperationException"
    parsed = botocore_error(
        load_service_model("sns"), InvalidAction("The action Nope is not valid for this web service.")
    )
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "InvalidAction",
        "Message": "The action Nope is not valid for this web service.",
    }


def raise_error(error: AwsError) -> Any:
    def handler(operation: str, params: dict) -> dict:
        raise error

    return handler


def client_error(aws: InProcessAws, service: str, call: str, error: AwsError, **params: Any) -> ClientError:
    aws.handler = raise_error(error)
    client = aws.client(service)
    with pytest.raises(ClientError) as caught:
        getattr(client, call)(**params)
    return caught.value


def test_sts_sender_and_receiver_faults(aws: InProcessAws) -> None:
    caught = client_error(
        aws,
        "sts",
        "assume_role",
        AwsError("not authorized", code="AccessDenied", status=403),
        RoleArn="arn:aws:iam::1:role/r",
        RoleSessionName="session",
    )
    assert caught.response["Error"] == {"Type": "Sender", "Code": "AccessDenied", "Message": "not authorized"}
    assert caught.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    caught = client_error(aws, "sts", "get_caller_identity", InternalFailure("broken"))
    assert caught.response["Error"]["Type"] == "Receiver"
    assert aws.last.response.body.startswith(b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">')


@pytest.mark.parametrize("code", ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"])
def test_sqs_json_error_is_query_compatible(aws: InProcessAws, code: str) -> None:
    sqs = aws.client("sqs")
    caught = client_error(
        aws, "sqs", "get_queue_url", AwsError("The specified queue does not exist.", code=code), QueueName="missing"
    )
    assert caught.response["Error"]["Code"] == code
    assert caught.response["Error"]["Message"] == "The specified queue does not exist."
    assert caught.response["Error"]["QueryErrorCode"] == "QueueDoesNotExist"
    assert isinstance(caught, sqs.exceptions.QueueDoesNotExist)
    assert aws.last.response.headers["x-amzn-query-error"] == f"{code};Sender"


def test_sns_modelled_error(aws: InProcessAws) -> None:
    sns = aws.client("sns")
    caught = client_error(
        aws,
        "sns",
        "get_topic_attributes",
        AwsError("Topic does not exist", code="NotFound", status=404),
        TopicArn="arn:aws:sns:us-east-1:1:x",
    )
    assert isinstance(caught, sns.exceptions.NotFoundException)
    assert caught.response["Error"]["Code"] == "NotFound"


def test_dynamodb_errors_with_modelled_fields(aws: InProcessAws) -> None:
    ddb = aws.client("dynamodb")
    caught = client_error(
        aws,
        "dynamodb",
        "get_item",
        AwsError("Requested resource not found", code="ResourceNotFoundException"),
        TableName="missing",
        Key={"pk": {"S": "x"}},
    )
    assert isinstance(caught, ddb.exceptions.ResourceNotFoundException)
    assert aws.last.response.body.startswith(b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"')
    reasons = [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": {"pk": {"S": "a"}, "b": {"B": b"\x00"}},
        },
    ]
    error = AwsError(
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]",
        code="TransactionCanceledException",
        CancellationReasons=reasons,
    )
    caught = client_error(
        aws,
        "dynamodb",
        "transact_write_items",
        error,
        TransactItems=[{"Delete": {"TableName": "t", "Key": {"pk": {"S": "a"}}}}],
    )
    assert isinstance(caught, ddb.exceptions.TransactionCanceledException)
    assert caught.response["CancellationReasons"] == reasons
    assert caught.response["Error"]["Message"] == error.message


def test_lambda_errors(aws: InProcessAws) -> None:
    lam = aws.client("lambda")
    caught = client_error(
        aws,
        "lambda",
        "get_function",
        AwsError(
            "Function not found: arn:aws:lambda:us-east-1:1:function:nope",
            code="ResourceNotFoundException",
            status=404,
        ),
        FunctionName="nope",
    )
    assert isinstance(caught, lam.exceptions.ResourceNotFoundException)
    assert caught.response["Type"] == "User"
    assert caught.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert aws.last.response.headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    caught = client_error(
        aws,
        "lambda",
        "invoke",
        AwsError(
            "Rate exceeded",
            code="TooManyRequestsException",
            status=429,
            retryAfterSeconds="3",
            Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
        ),
        FunctionName="f",
    )
    assert isinstance(caught, lam.exceptions.TooManyRequestsException)
    assert caught.response["retryAfterSeconds"] == "3"  # modelled as the Retry-After header
    assert aws.last.response.headers["Retry-After"] == "3"
    assert caught.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_s3_errors_carry_fields_and_head_errors_have_no_body(aws: InProcessAws) -> None:
    s3 = aws.client("s3")
    caught = client_error(
        aws,
        "s3",
        "get_object",
        AwsError("The specified key does not exist.", code="NoSuchKey", status=404, Key="a b.txt"),
        Bucket="b",
        Key="a b.txt",
    )
    assert isinstance(caught, s3.exceptions.NoSuchKey)
    assert caught.response["Error"] == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "a b.txt",
    }
    assert caught.response["ResponseMetadata"]["RequestId"] == aws.request_id
    caught = client_error(
        aws,
        "s3",
        "list_objects_v2",
        AwsError("The specified bucket does not exist", code="NoSuchBucket", status=404, BucketName="b"),
        Bucket="b",
    )
    assert caught.response["Error"]["BucketName"] == "b"
    caught = client_error(
        aws, "s3", "head_object", AwsError("Not Found", code="NoSuchKey", status=404), Bucket="b", Key="k"
    )
    assert aws.last.response.body == b""
    assert caught.response["Error"]["Code"] == "404"  # what boto3 users see from AWS too
    assert caught.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_logs_events_and_apigatewayv2_errors(aws: InProcessAws) -> None:
    logs = aws.client("logs")
    caught = client_error(
        aws,
        "logs",
        "get_log_events",
        AwsError("The specified log group does not exist.", code="ResourceNotFoundException"),
        logGroupName="g",
        logStreamName="s",
    )
    assert isinstance(caught, logs.exceptions.ResourceNotFoundException)
    assert aws.last.response.headers["Content-Type"] == "application/x-amz-json-1.1"
    events = aws.client("events")
    caught = client_error(
        aws,
        "events",
        "describe_rule",
        AwsError("Rule r does not exist on EventBus default.", code="ResourceNotFoundException"),
        Name="r",
    )
    assert isinstance(caught, events.exceptions.ResourceNotFoundException)
    assert caught.response["Error"]["Message"] == "Rule r does not exist on EventBus default."
    apigw = aws.client("apigatewayv2")
    caught = client_error(
        aws,
        "apigatewayv2",
        "get_api",
        AwsError("Invalid API identifier specified", code="NotFoundException", status=404, ResourceType="Api"),
        ApiId="nope",
    )
    assert isinstance(caught, apigw.exceptions.NotFoundException)
    assert caught.response["ResourceType"] == "Api"
    assert caught.response["Error"]["Message"] == "Invalid API identifier specified"


def test_unmodelled_fields_still_reach_the_client(aws: InProcessAws) -> None:
    caught = client_error(
        aws,
        "dynamodb",
        "get_item",
        AwsError("x", code="CustomLabError", Hint="see lesson 3", Limit=5),
        TableName="t",
        Key={},
    )
    assert caught.response["Error"]["Code"] == "CustomLabError"
    assert b'"Hint":"see lesson 3"' in aws.last.response.body
    caught = client_error(
        aws, "sts", "get_caller_identity", AwsError("x", code="CustomLabError", Details={"a": 1, "ok": True})
    )
    assert caught.response["Error"]["Details"] == {"a": "1", "ok": "true"}
