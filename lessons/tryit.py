"""Prepared "try it" actions: one button in a lesson runs a small, fixed scenario in the student's
sandbox and shows every call it made and the event AWS would emit. They run in the Celery worker,
like grading, through the lab's ``/aws/`` endpoint, so they show up on the sandbox's live events.

A ``try`` block names its action (``action: s3-upload``); a block whose action is not here yet
renders as a "coming soon" placeholder (its service is not in the sandbox yet).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.utils.timezone import now

from lessons.checks import account_id

Step = dict[str, str]  # {"call": "PutObject", "detail": "..."}


def _s3_upload(session: Any) -> list[Step]:
    """Upload a small file and show the ObjectCreated:Put record S3 sends its notification targets."""
    s3 = session.client("s3")
    bucket, key = f"try-it-{account_id(session)}", f"uploads/photo-{now():%H%M%S}.txt"
    steps: list[Step] = []
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
        steps.append({"call": "CreateBucket", "detail": bucket})
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"pretend this is a photo", ContentType="text/plain")
    steps.append({"call": "PutObject", "detail": f"s3://{bucket}/{key} (ETag {put['ETag']})"})
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": session.region_name,
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": key, "size": 23, "eTag": put["ETag"].strip('"')},
        },
    }
    steps.append({"call": "Event", "detail": json.dumps({"Records": [record]}, indent=2)})
    return steps


ACTIONS: dict[str, Callable[[Any], list[Step]]] = {"s3-upload": _s3_upload}
