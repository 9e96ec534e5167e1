"""The S3 protocol adapter: parsed botocore params in, botocore-shaped output dicts out."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from serverless_lab.cloud.core import digests
from serverless_lab.cloud.core.protocol import AwsRequest
from serverless_lab.cloud.core.registry import RequestContext

from . import backend, exceptions, logic, notifications, storage
from .models import NULL_VERSION, Bucket, MultipartUpload, Object

_OWNER_NAME = "lab"
_HEADER_FIELDS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")


def _owner(ctx: RequestContext) -> dict[str, str]:
    return {
        "DisplayName": ctx.sandbox.owner.get_username() if ctx.sandbox.owner_id else _OWNER_NAME,
        "ID": ctx.sandbox.account_id,
    }


def _object_fields(params: dict[str, Any]) -> backend.ObjectFields:
    tags = [
        {"Key": key, "Value": value} for key, value in parse_qsl(params.get("Tagging") or "", keep_blank_values=True)
    ]
    return backend.ObjectFields(
        content_type=params.get("ContentType") or "",
        metadata=dict(params.get("Metadata") or {}),
        headers={name: params[name] for name in _HEADER_FIELDS if params.get(name)},
        tags=tags,
    )


def _encoder(params: dict[str, Any]) -> Any:
    """S3 percent-encodes keys in listings when the client asks (botocore always does)."""
    if params.get("EncodingType") == "url":
        return lambda value: quote(value, safe="/") if value is not None else None
    return lambda value: value


def _object_headers(obj: Object, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ETag": logic.quote_etag(obj.etag),
        "LastModified": obj.last_modified,
        "ContentType": params.get("ResponseContentType") or obj.content_type,
        "Metadata": obj.metadata,
        "AcceptRanges": "bytes",
        "VersionId": obj.version_id if obj.version_id != NULL_VERSION else None,
        "TagCount": len(obj.tags) or None,
        "StorageClass": None,
    }
    for name in _HEADER_FIELDS:
        out[name] = params.get(f"Response{name}") or obj.headers.get(name)
    if "-" in obj.etag:
        out["PartsCount"] = int(obj.etag.rpartition("-")[2])
    return out


def _conditional_status(obj: Object, params: dict[str, Any]) -> int | None:
    return logic.evaluate_conditions(
        etag=obj.etag,
        last_modified=obj.last_modified,
        if_match=params.get("IfMatch"),
        if_none_match=params.get("IfNoneMatch"),
        if_modified_since=params.get("IfModifiedSince"),
        if_unmodified_since=params.get("IfUnmodifiedSince"),
    )


def _body_md5(ctx: RequestContext, body: bytes) -> Future[str]:
    """The MD5 (hex) of an object's or part's bytes: the one the endpoint started early (see
    ``S3Handler.body_digests``) when ``body`` is the request's body as sent, else started now."""
    return ctx.request.body_digest("md5") if body is ctx.request.body else digests.started("md5", body)


def _bucket_params(ctx: RequestContext, params: dict[str, Any]) -> Bucket:
    return backend.get_bucket(sandbox=ctx.sandbox, name=params["Bucket"])


class S3Handler:
    """S3 on a sandbox. Groups: CORS, buckets, bucket configuration, objects, listings, multipart."""

    # --- called by the endpoint, not operations ------------------------------------------

    def body_digests(self, request: AwsRequest) -> tuple[str, ...]:
        """The digests of a request's body worth starting once it is authenticated: a PUT's MD5, the
        ETag of the object or part it uploads (not of an ``aws-chunked`` body, which the protocol
        layer decodes first: its payload is hashed afterwards)."""
        chunked = "aws-chunked" in request.headers.get("content-encoding", "") or request.headers.get(
            "x-amz-content-sha256", ""
        ).startswith("STREAMING-")
        return ("md5",) if request.method == "PUT" and not chunked else ()

    def body_store_while_arriving(self, request: AwsRequest, sandbox_id: int) -> storage.StreamedFile | None:
        """A PutObject's file, written while its body arrives, for a body too large for its row
        (the endpoint throws it away unless ``put_object`` stores the row that names it)."""
        if request.method != "PUT" or self.body_digests(request) != ("md5",):
            return None  # a chunked body is decoded first
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        if "uploadId" in query or "partNumber" in query or "x-amz-copy-source" in request.headers:
            return None
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) <= backend.INLINE_MAX_BYTES or not storage.streams_to_files():
            return None
        return storage.StreamedFile(sandbox_id)

    def cors_headers(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, str]:
        """Access-Control-* headers for a signed browser request, from its bucket's CORS rules."""
        bucket_name = params.get("Bucket")
        if not bucket_name:
            return {}
        rules = backend.bucket_cors_rules(name=bucket_name, sandbox=ctx.sandbox)
        decision = logic.match_cors(rules, origin=ctx.request.headers.get("origin", ""), method=ctx.request.method)
        return decision.headers if decision else {}

    def preflight(self, request: AwsRequest) -> dict[str, str]:
        """Answer an unsigned CORS preflight (OPTIONS) from the bucket's CORS configuration."""
        origin = request.headers.get("origin")
        method = request.headers.get("access-control-request-method")
        if not origin or not method:
            raise exceptions.S3Error(
                "Insufficient information. Origin request header needed.", code="BadRequest", status=400
            )
        bucket_name = unquote(request.path.lstrip("/").split("/", 1)[0])
        rules = backend.bucket_cors_rules(name=bucket_name, sandbox=None)
        requested = (request.headers.get("access-control-request-headers") or "").split(",")
        decision = logic.match_cors(rules, origin=origin, method=method, request_headers=requested)
        if decision is None:
            raise exceptions.AccessDenied(
                "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                "are not whitelisted by the resource's CORS spec.",
                code="AccessForbidden",
            )
        return decision.headers

    # --- buckets --------------------------------------------------------------------------

    def create_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        configuration = params.get("CreateBucketConfiguration") or {}
        region = configuration.get("LocationConstraint") or "us-east-1"
        bucket = backend.create_bucket(sandbox=ctx.sandbox, name=params["Bucket"], region=region)
        return {"Location": f"/{bucket.name}"}

    def delete_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_bucket(sandbox=ctx.sandbox, name=params["Bucket"])
        return {}

    def get_bucket_location(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        # us-east-1 buckets report an empty LocationConstraint, for historical reasons.
        return {"LocationConstraint": None if bucket.region == "us-east-1" else bucket.region}

    def head_bucket(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        return {"BucketRegion": bucket.region}

    def list_buckets(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        buckets = backend.list_buckets(sandbox=ctx.sandbox)
        prefix = params.get("Prefix") or ""
        return {
            "Buckets": [
                {"Name": bucket.name, "CreationDate": bucket.created_at, "BucketRegion": bucket.region}
                for bucket in buckets
                if bucket.name.startswith(prefix)
            ],
            "Owner": _owner(ctx),
            "Prefix": params.get("Prefix"),
        }

    # --- bucket configuration -------------------------------------------------------------

    def delete_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_bucket_cors(sandbox=ctx.sandbox, name=params["Bucket"])
        return {}

    def delete_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_bucket_policy(sandbox=ctx.sandbox, name=params["Bucket"])
        return {}

    def delete_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.delete_bucket_tagging(sandbox=ctx.sandbox, name=params["Bucket"])
        return {}

    def get_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        if not bucket.cors_rules:
            raise exceptions.NoSuchCORSConfiguration(bucket.name)
        return {"CORSRules": bucket.cors_rules}

    def get_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return dict(_bucket_params(ctx, params).notification)

    def get_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        if bucket.policy is None:
            raise exceptions.NoSuchBucketPolicy(bucket.name)
        return {"Policy": bucket.policy}

    def get_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        if not bucket.tags:
            raise exceptions.NoSuchTagSet(bucket.name)
        return {"TagSet": bucket.tags}

    def get_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = _bucket_params(ctx, params)
        return {"Status": bucket.versioning or None}

    def put_bucket_cors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        rules = (params.get("CORSConfiguration") or {}).get("CORSRules") or []
        backend.put_bucket_cors(sandbox=ctx.sandbox, name=params["Bucket"], rules=rules)
        return {}

    @notifications.carries_trace
    def put_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.put_bucket_notification_configuration(
            sandbox=ctx.sandbox, name=params["Bucket"], configuration=params.get("NotificationConfiguration") or {}
        )
        return {}

    def put_bucket_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.put_bucket_policy(sandbox=ctx.sandbox, name=params["Bucket"], policy=params.get("Policy") or "")
        return {}

    def put_bucket_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = (params.get("Tagging") or {}).get("TagSet") or []
        backend.put_bucket_tagging(sandbox=ctx.sandbox, name=params["Bucket"], tags=tags)
        return {}

    def put_bucket_versioning(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        status = (params.get("VersioningConfiguration") or {}).get("Status") or ""
        backend.put_bucket_versioning(sandbox=ctx.sandbox, name=params["Bucket"], status=status)
        return {}

    # --- objects --------------------------------------------------------------------------

    @notifications.carries_trace
    def copy_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        source = unquote(params["CopySource"]).lstrip("/")
        source, _, query = source.partition("?")
        source_bucket, _, source_key = source.partition("/")
        if not source_bucket or not source_key:
            raise exceptions.InvalidArgument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                ArgumentName="x-amz-copy-source",
            )
        source_version = dict(parse_qsl(query)).get("versionId")
        directive = params.get("MetadataDirective") or "COPY"
        tagging = params.get("TaggingDirective") or "COPY"
        if directive not in ("COPY", "REPLACE") or tagging not in ("COPY", "REPLACE"):
            raise exceptions.InvalidArgument(
                "Unknown metadata or tagging directive.", ArgumentName="x-amz-metadata-directive"
            )
        original = backend.get_object(
            sandbox=ctx.sandbox, bucket_name=source_bucket, key=source_key, version_id=source_version
        )
        status = logic.evaluate_conditions(
            etag=original.etag,
            last_modified=original.last_modified,
            if_match=params.get("CopySourceIfMatch"),
            if_none_match=params.get("CopySourceIfNoneMatch"),
            if_modified_since=params.get("CopySourceIfModifiedSince"),
            if_unmodified_since=params.get("CopySourceIfUnmodifiedSince"),
        )
        if status is not None:
            raise exceptions.PreconditionFailed("x-amz-copy-source-If-Match")
        source_obj, new = backend.copy_object(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            source_bucket=source_bucket,
            source_key=source_key,
            source_version_id=source_version,
            replace_metadata=directive == "REPLACE",
            fields=_object_fields(params),
            replace_tags=tagging == "REPLACE",
        )
        return {
            "CopyObjectResult": {"ETag": logic.quote_etag(new.etag), "LastModified": new.last_modified},
            "VersionId": new.version_id if new.version_id != NULL_VERSION else None,
            "CopySourceVersionId": source_obj.version_id if source_obj.version_id != NULL_VERSION else None,
        }

    @notifications.carries_trace
    def delete_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        outcome = backend.delete_object(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], version_id=params.get("VersionId")
        )
        return {
            "DeleteMarker": True if outcome.delete_marker else None,
            "VersionId": outcome.version_id if outcome.version_id != NULL_VERSION else None,
        }

    @notifications.carries_trace
    def delete_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        delete = params.get("Delete") or {}
        targets = [(item.get("Key", ""), item.get("VersionId")) for item in delete.get("Objects") or []]
        outcomes = backend.delete_objects(sandbox=ctx.sandbox, bucket_name=params["Bucket"], targets=targets)
        if delete.get("Quiet"):
            return {}  # Quiet mode reports only errors, and deleting never fails per key here
        deleted = []
        for outcome in outcomes:
            entry: dict[str, Any] = {"Key": outcome.key}
            if outcome.version_id and outcome.version_id != NULL_VERSION:
                entry["VersionId"] = outcome.version_id
            if outcome.delete_marker:
                entry["DeleteMarker"] = True
                entry["DeleteMarkerVersionId"] = outcome.delete_marker_version_id
            deleted.append(entry)
        return {"Deleted": deleted}

    def delete_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        obj = backend.delete_object_tagging(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], version_id=params.get("VersionId")
        )
        return {"VersionId": obj.version_id if obj.version_id != NULL_VERSION else None}

    def get_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, params, with_body=True)

    def get_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        obj = backend.get_object(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], version_id=params.get("VersionId")
        )
        return {"TagSet": obj.tags, "VersionId": obj.version_id if obj.version_id != NULL_VERSION else None}

    def head_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, params, with_body=False)

    @notifications.carries_trace
    def put_object(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("Body") or b""
        obj = backend.put_object(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            body=body,
            fields=_object_fields(params),
            content_md5=params.get("ContentMD5"),
            md5=_body_md5(ctx, body),
            stored=ctx.request.stored_body if body is ctx.request.body else None,
        )
        return {
            "ETag": logic.quote_etag(obj.etag),
            "VersionId": obj.version_id if obj.version_id != NULL_VERSION else None,
        }

    def put_object_tagging(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags = (params.get("Tagging") or {}).get("TagSet") or []
        obj = backend.put_object_tagging(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            version_id=params.get("VersionId"),
            tags=tags,
        )
        return {"VersionId": obj.version_id if obj.version_id != NULL_VERSION else None}

    def _read(self, ctx: RequestContext, params: dict[str, Any], *, with_body: bool) -> dict[str, Any]:
        obj = backend.get_object(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], version_id=params.get("VersionId")
        )
        out = _object_headers(obj, params)
        status = _conditional_status(obj, params)
        if status == 412:
            raise exceptions.PreconditionFailed("If-Match" if params.get("IfMatch") else "If-Unmodified-Since")
        if status == 304:
            # S3 answers 304 without a body; botocore turns it into ClientError("304").
            return {"ETag": out["ETag"], "LastModified": obj.last_modified, "ResponseMetadata": {"HTTPStatusCode": 304}}
        try:
            byte_range = logic.parse_range(params.get("Range"), obj.size)
        except logic.RangeNotSatisfiable:
            raise exceptions.InvalidRange(obj.size, params.get("Range") or "") from None
        if byte_range is None:
            out["ContentLength"] = obj.size
        else:
            start, end = byte_range
            out["ContentLength"] = end - start + 1
            out["ContentRange"] = f"bytes {start}-{end}/{obj.size}"
            out["ResponseMetadata"] = {"HTTPStatusCode": 206}
        if with_body:
            out["Body"] = backend.read_object(obj, byte_range)
        return out

    # --- listings -------------------------------------------------------------------------

    def list_object_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        encode = _encoder(params)
        page = backend.list_object_versions(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            prefix=params.get("Prefix") or "",
            delimiter=params.get("Delimiter") or "",
            max_keys=params.get("MaxKeys", 1000),
            key_marker=params.get("KeyMarker") or "",
            version_id_marker=params.get("VersionIdMarker") or "",
        )
        owner = _owner(ctx)
        versions, markers = [], []
        for obj in page.versions:
            entry: dict[str, Any] = {
                "Key": encode(obj.key),
                "VersionId": obj.version_id,
                "IsLatest": obj.is_latest,
                "LastModified": obj.last_modified,
                "Owner": owner,
            }
            if obj.is_delete_marker:
                markers.append(entry)
            else:
                versions.append(
                    {**entry, "ETag": logic.quote_etag(obj.etag), "Size": obj.size, "StorageClass": "STANDARD"}
                )
        return {
            "Name": params["Bucket"],
            "Prefix": encode(params.get("Prefix") or ""),
            "Delimiter": encode(params.get("Delimiter")),
            "KeyMarker": encode(params.get("KeyMarker") or ""),
            "VersionIdMarker": params.get("VersionIdMarker") or "",
            "MaxKeys": params.get("MaxKeys", 1000),
            "IsTruncated": page.is_truncated,
            "NextKeyMarker": encode(page.next_key_marker),
            "NextVersionIdMarker": page.next_version_id_marker,
            "Versions": versions or None,
            "DeleteMarkers": markers or None,
            "CommonPrefixes": [{"Prefix": encode(prefix)} for prefix in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"),
        }

    def list_objects(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        encode = _encoder(params)
        marker = params.get("Marker") or ""
        delimiter = params.get("Delimiter") or ""
        bucket, page = backend.list_objects(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            prefix=params.get("Prefix") or "",
            delimiter=delimiter,
            max_keys=params.get("MaxKeys", 1000),
            after=marker,
        )
        owner = _owner(ctx)
        return {
            "Name": bucket.name,
            "Prefix": encode(params.get("Prefix") or ""),
            "Delimiter": encode(params.get("Delimiter")),
            "Marker": encode(marker),
            "MaxKeys": params.get("MaxKeys", 1000),
            "IsTruncated": page.is_truncated,
            # S3 returns NextMarker only when a delimiter is given; clients then use the last key.
            "NextMarker": encode(page.next_marker) if delimiter else None,
            "Contents": [_content_entry(obj, encode, owner) for obj in page.contents] or None,
            "CommonPrefixes": [{"Prefix": encode(prefix)} for prefix in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"),
        }

    def list_objects_v2(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        encode = _encoder(params)
        token = params.get("ContinuationToken")
        after = params.get("StartAfter") or ""
        if token is not None:
            decoded = logic.decode_continuation_token(token)
            if decoded is None:
                raise exceptions.InvalidArgument(
                    "The continuation token provided is incorrect", ArgumentName="continuation-token"
                )
            after = max(after, decoded)
        bucket, page = backend.list_objects(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            prefix=params.get("Prefix") or "",
            delimiter=params.get("Delimiter") or "",
            max_keys=params.get("MaxKeys", 1000),
            after=after,
        )
        owner = _owner(ctx) if params.get("FetchOwner") else None
        return {
            "Name": bucket.name,
            "Prefix": encode(params.get("Prefix") or ""),
            "Delimiter": encode(params.get("Delimiter")),
            "MaxKeys": params.get("MaxKeys", 1000),
            "KeyCount": len(page.contents) + len(page.common_prefixes),
            "IsTruncated": page.is_truncated,
            "ContinuationToken": token,
            "NextContinuationToken": logic.encode_continuation_token(page.next_marker) if page.next_marker else None,
            "StartAfter": encode(params.get("StartAfter")),
            "Contents": [_content_entry(obj, encode, owner) for obj in page.contents] or None,
            "CommonPrefixes": [{"Prefix": encode(prefix)} for prefix in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"),
        }

    # --- multipart uploads ----------------------------------------------------------------

    def abort_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        backend.abort_multipart_upload(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], upload_id=params["UploadId"]
        )
        return {}

    @notifications.carries_trace
    def complete_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        listed = (params.get("MultipartUpload") or {}).get("Parts") or []
        parts = [(int(part.get("PartNumber", 0)), part.get("ETag", "")) for part in listed]
        obj = backend.complete_multipart_upload(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            upload_id=params["UploadId"],
            parts=parts,
        )
        return {
            "Location": f"/{params['Bucket']}/{quote(obj.key)}",
            "Bucket": params["Bucket"],
            "Key": obj.key,
            "ETag": logic.quote_etag(obj.etag),
            "VersionId": obj.version_id if obj.version_id != NULL_VERSION else None,
        }

    def create_multipart_upload(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        upload = backend.create_multipart_upload(
            sandbox=ctx.sandbox, bucket_name=params["Bucket"], key=params["Key"], fields=_object_fields(params)
        )
        return {"Bucket": params["Bucket"], "Key": upload.key, "UploadId": upload.upload_id}

    def list_multipart_uploads(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        encode = _encoder(params)
        uploads, truncated = backend.list_multipart_uploads(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            prefix=params.get("Prefix") or "",
            max_uploads=params.get("MaxUploads", 1000),
            key_marker=params.get("KeyMarker") or "",
        )
        owner = _owner(ctx)
        return {
            "Bucket": params["Bucket"],
            "Prefix": encode(params.get("Prefix")),
            "KeyMarker": encode(params.get("KeyMarker") or ""),
            "MaxUploads": params.get("MaxUploads", 1000),
            "IsTruncated": truncated,
            "NextKeyMarker": encode(uploads[-1].key) if truncated and uploads else None,
            "Uploads": [_upload_entry(upload, encode, owner) for upload in uploads] or None,
            "EncodingType": params.get("EncodingType"),
        }

    def list_parts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        marker = int(params.get("PartNumberMarker") or 0)
        upload, parts, truncated = backend.list_parts(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            upload_id=params["UploadId"],
            max_parts=params.get("MaxParts", 1000),
            marker=marker,
        )
        return {
            "Bucket": params["Bucket"],
            "Key": upload.key,
            "UploadId": upload.upload_id,
            "PartNumberMarker": marker,
            "NextPartNumberMarker": parts[-1].part_number if truncated and parts else None,
            "MaxParts": params.get("MaxParts", 1000),
            "IsTruncated": truncated,
            "Parts": [
                {
                    "PartNumber": p.part_number,
                    "LastModified": p.last_modified,
                    "ETag": logic.quote_etag(p.etag),
                    "Size": p.size,
                }
                for p in parts
            ]
            or None,
            "Owner": _owner(ctx),
            "Initiator": _owner(ctx),
            "StorageClass": "STANDARD",
        }

    def upload_part(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        body = params.get("Body") or b""
        part = backend.upload_part(
            sandbox=ctx.sandbox,
            bucket_name=params["Bucket"],
            key=params["Key"],
            upload_id=params["UploadId"],
            part_number=params["PartNumber"],
            body=body,
            content_md5=params.get("ContentMD5"),
            md5=_body_md5(ctx, body),
        )
        return {"ETag": logic.quote_etag(part.etag)}


def _content_entry(obj: Object, encode: Any, owner: dict[str, str] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Key": encode(obj.key),
        "LastModified": obj.last_modified,
        "ETag": logic.quote_etag(obj.etag),
        "Size": obj.size,
        "StorageClass": "STANDARD",
    }
    if owner is not None:
        entry["Owner"] = owner
    return entry


def _upload_entry(upload: MultipartUpload, encode: Any, owner: dict[str, str]) -> dict[str, Any]:
    return {
        "UploadId": upload.upload_id,
        "Key": encode(upload.key),
        "Initiated": upload.initiated,
        "StorageClass": "STANDARD",
        "Owner": owner,
        "Initiator": owner,
    }
