from __future__ import annotations

import json

from serverless_lab.tracing import nodes

R, A = "us-east-1", "123456789012"


def node(service: str, params: dict) -> str:
    return nodes.resource_node(service, params, region=R, account=A)


def test_operations_land_on_the_resource_they_name():
    assert node("s3", {"Bucket": "photos", "Key": "a.jpg"}) == "arn:aws:s3:::photos"
    assert node("dynamodb", {"TableName": "orders"}) == f"arn:aws:dynamodb:{R}:{A}:table/orders"
    assert node("lambda", {"FunctionName": "resize"}) == f"arn:aws:lambda:{R}:{A}:function:resize"
    assert (
        node("lambda", {"FunctionName": f"arn:aws:lambda:{R}:{A}:function:resize:live"})
        == f"arn:aws:lambda:{R}:{A}:function:resize"
    )
    assert node("lambda", {"FunctionName": "resize:3"}) == f"arn:aws:lambda:{R}:{A}:function:resize"
    assert node("sqs", {"QueueUrl": f"http://localhost/aws/{A}/jobs"}) == f"arn:aws:sqs:{R}:{A}:jobs"
    assert node("sns", {"TopicArn": f"arn:aws:sns:{R}:{A}:alerts"}) == f"arn:aws:sns:{R}:{A}:alerts"
    assert node("logs", {"logGroupName": "/aws/lambda/resize"}) == f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/resize"


def test_operations_on_no_resource_land_on_the_service():
    assert node("sts", {}) == "service:sts"
    assert node("s3", {}) == "service:s3"


def test_a_preview_masks_secrets_summarises_bytes_and_is_capped():
    shown = nodes.preview(
        {
            "Bucket": "b",
            "Body": b"x" * 5000,
            "SecretAccessKey": "hunter2",
            "Environment": {"Variables": {"DB_PASSWORD": "p"}},
        }
    )
    assert "hunter2" not in shown and "DB_PASSWORD" not in shown
    assert json.loads(shown) == {"Bucket": "b", "Body": "<5000 bytes>", "SecretAccessKey": "***", "Environment": "***"}
    long = nodes.preview({"Key": "k" * 150, "Prefix": "p" * 150})
    assert len(long) == nodes.PREVIEW_CHARS and long.endswith("…")
    assert nodes.preview({}) == ""
