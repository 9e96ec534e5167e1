"""S3 state: buckets, object versions, multipart uploads. Object bytes live in storage (see storage.py).

Bucket names are global across the lab, as they are across AWS: a name another sandbox holds is
``BucketAlreadyExists``, and that sandbox's bucket answers everyone else with ``AccessDenied``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from serverless_lab.sandboxes.models import Sandbox

NULL_VERSION = "null"


class KeyField(models.CharField):
    """A text column that compares and sorts by code point, as S3 orders keys (UTF-8 byte order).

    SQLite already compares text as bytes; PostgreSQL needs the "C" collation, or a locale would
    sort ``B`` between ``a`` and ``c`` and break listing order and continuation markers.
    """

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class Bucket(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="s3_buckets")
    name = models.CharField(max_length=63, unique=True)
    region = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)
    versioning = models.CharField(max_length=16, blank=True, default="")  # "", "Enabled", "Suspended"
    tags = models.JSONField(default=list, blank=True)  # botocore TagSet: [{"Key", "Value"}]
    cors_rules = models.JSONField(null=True, blank=True)  # botocore CORSRules, None when unset
    policy = models.TextField(null=True, blank=True)  # noqa: DJ001 -- None means "no policy", unlike ""
    notification = models.JSONField(default=dict, blank=True)  # botocore NotificationConfiguration

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ObjectManager(models.Manager["Object"]):
    """Leaves ``data`` out of every query unless asked for: listings read up to a thousand rows and
    never their bytes."""

    def get_queryset(self) -> models.QuerySet[Object]:
        return super().get_queryset().defer("data")


class Object(models.Model):
    """One version of one key; a bucket without versioning keeps exactly one, with version id "null".

    A small object's bytes are kept in ``data`` (``storage_name`` empty), written in the transaction
    that makes the version visible; larger ones live in storage under ``storage_name``.
    """

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="s3_objects")
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="object_versions")
    key = KeyField(max_length=1024)
    version_id = models.CharField(max_length=64, default=NULL_VERSION)
    is_latest = models.BooleanField(default=True)
    is_delete_marker = models.BooleanField(default=False)
    size = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=64, blank=True, default="")  # unquoted
    content_type = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)  # x-amz-meta-* without the prefix
    headers = models.JSONField(default=dict, blank=True)  # CacheControl, ContentDisposition, ...
    tags = models.JSONField(default=list, blank=True)
    storage_name = models.CharField(max_length=255, blank=True, default="")  # generated, never the key
    data = models.BinaryField(null=True, blank=True, editable=False)  # the bytes of a small object
    last_modified = models.DateTimeField()

    objects = ObjectManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "key", "version_id"], name="s3_object_version_unique"),
            models.UniqueConstraint(fields=["bucket", "key"], condition=Q(is_latest=True), name="s3_object_one_latest"),
        ]
        indexes = [models.Index(fields=["bucket", "is_latest", "key"], name="s3_object_listing")]

    def __str__(self) -> str:
        return f"{self.bucket_id}/{self.key}@{self.version_id}"


class MultipartUpload(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="s3_uploads")
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="uploads")
    key = KeyField(max_length=1024)
    upload_id = models.CharField(max_length=64, unique=True)
    content_type = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    initiated = models.DateTimeField()

    class Meta:
        ordering = ["key", "initiated"]

    def __str__(self) -> str:
        return f"{self.key} ({self.upload_id})"


class Part(models.Model):
    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="s3_parts")
    upload = models.ForeignKey(MultipartUpload, on_delete=models.CASCADE, related_name="parts")
    part_number = models.PositiveIntegerField()
    size = models.BigIntegerField()
    etag = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=255)
    last_modified = models.DateTimeField()

    class Meta:
        ordering = ["part_number"]
        constraints = [models.UniqueConstraint(fields=["upload", "part_number"], name="s3_part_unique")]

    def __str__(self) -> str:
        return f"part {self.part_number} of {self.upload_id}"


class Usage(models.Model):
    """The bytes a sandbox's S3 holds: every object version plus the parts of unfinished uploads.

    Kept in step with those rows inside the transactions that change them (backend.py), so the
    quota is one row to read rather than a SUM over all the sandbox's objects, and the UPDATE that
    adds a write's bytes checks the quota and takes the row lock that serialises the sandbox's S3
    writes. A sandbox without a row holds nothing (one is made on its first write).
    """

    sandbox = models.OneToOneField(Sandbox, on_delete=models.CASCADE, primary_key=True, related_name="s3_usage")
    bytes = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.sandbox_id}: {self.bytes} bytes"
