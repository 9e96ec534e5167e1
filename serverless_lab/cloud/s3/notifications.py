"""S3 event notifications: S3's event record, delivered to Lambda targets after the write commits.

SQS, SNS and EventBridge targets are stored and matched but not delivered yet.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import quote_plus

from django.db import transaction
from django.utils import timezone

from serverless_lab.cloud.core.errors import AwsError

from . import logic
from .models import NULL_VERSION, Bucket, Object

logger = logging.getLogger(__name__)


def event_record(bucket: Bucket, event_name: str, key: str, obj: Object | None, configuration_id: str) -> dict[str, Any]:
    """One record of S3's notification event (``eventVersion`` 2.1), as a Lambda receives it."""
    sandbox = bucket.sandbox
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": f"{time.time_ns():X}"}
    if obj is not None and not obj.is_delete_marker and event_name.startswith("s3:ObjectCreated:"):
        s3_object |= {"size": obj.size, "eTag": obj.etag.strip('"')}
    if obj is not None and obj.version_id != NULL_VERSION:
        s3_object["versionId"] = obj.version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": sandbox.region,
        "eventTime": timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": event_name.removeprefix("s3:"),
        "userIdentity": {"principalId": f"AWS:{sandbox.account_id}"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": secrets.token_hex(8).upper(), "x-amz-id-2": secrets.token_urlsafe(48)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket.name,
                "ownerIdentity": {"principalId": sandbox.account_id},
                "arn": f"arn:aws:s3:::{bucket.name}",
            },
            "object": s3_object,
        },
    }


def deliver(bucket: Bucket, event_name: str, key: str, obj: Object | None) -> None:
    """Queue an asynchronous invoke of each matching Lambda target, once the write has committed."""
    for target in bucket.notification.get("LambdaFunctionConfigurations", []):
        rules = target.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        if logic.event_matches(target.get("Events", []), event_name) and logic.filter_matches(rules, key):
            record = event_record(bucket, event_name, key, obj, target.get("Id", ""))
            payload = json.dumps({"Records": [record]}).encode()
            transaction.on_commit(lambda arn=target["LambdaFunctionArn"], body=payload: _invoke(bucket, arn, body))


def _invoke(bucket: Bucket, function_arn: str, payload: bytes) -> None:
    from serverless_lab.cloud.lambda_ import backend as lambda_backend
    from serverless_lab.runtime import services as runtime

    try:
        target = lambda_backend.resolve(sandbox=bucket.sandbox, function_name=function_arn)
        runtime.invoke_event(
            target=target, request_id=str(uuid.uuid4()), payload=payload, trace_header=None, client_context=None
        )
    except AwsError as error:  # the function is gone: S3 drops the event, as AWS does after retries
        logger.info("S3 could not invoke %s for %s: %s", function_arn, bucket.name, error.message)
