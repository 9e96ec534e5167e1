"""S3's error codes, each with the HTTP status S3 answers it with.

https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
"""

from __future__ import annotations

from typing import Any

from serverless_lab.cloud.core.errors import AwsError


class S3Error(AwsError):
    code = "InvalidRequest"
    status = 400


class AccessDenied(S3Error):
    code = "AccessDenied"
    status = 403


class BucketAlreadyExists(S3Error):
    code = "BucketAlreadyExists"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__(
            "The requested bucket name is not available. The bucket namespace is shared by all users of the "
            "system. Please select a different name and try again.",
            BucketName=bucket,
        )


class BucketAlreadyOwnedByYou(S3Error):
    code = "BucketAlreadyOwnedByYou"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__(
            "Your previous request to create the named bucket succeeded and you already own it.", BucketName=bucket
        )


class BucketNotEmpty(S3Error):
    code = "BucketNotEmpty"
    status = 409

    def __init__(self, bucket: str) -> None:
        super().__init__("The bucket you tried to delete is not empty", BucketName=bucket)


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"
    status = 400

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "Your proposed upload exceeds the maximum allowed size", ProposedSize=size, MaxSizeAllowed=limit
        )


class EntityTooSmall(S3Error):
    code = "EntityTooSmall"
    status = 400

    def __init__(self) -> None:
        super().__init__("Your proposed upload is smaller than the minimum allowed object size.")


class IllegalVersioningConfiguration(S3Error):
    code = "IllegalVersioningConfigurationException"
    status = 400


class InvalidArgument(S3Error):
    code = "InvalidArgument"
    status = 400

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, **fields)


class InvalidBucketName(S3Error):
    code = "InvalidBucketName"
    status = 400

    def __init__(self, bucket: str, reason: str = "The specified bucket is not valid.") -> None:
        super().__init__(reason, BucketName=bucket)


class InvalidDigest(S3Error):
    code = "BadDigest"
    status = 400

    def __init__(self) -> None:
        super().__init__("The Content-MD5 you specified did not match what we received.")


class InvalidPart(S3Error):
    code = "InvalidPart"
    status = 400

    def __init__(self, part_number: int) -> None:
        super().__init__(
            "One or more of the specified parts could not be found. The part may not have been uploaded, "
            "or the specified entity tag may not match the part's entity tag.",
            PartNumber=part_number,
        )


class InvalidPartOrder(S3Error):
    code = "InvalidPartOrder"
    status = 400

    def __init__(self) -> None:
        super().__init__("The list of parts was not in ascending order. Parts must be ordered by part number.")


class InvalidRange(S3Error):
    code = "InvalidRange"
    status = 416

    def __init__(self, size: int, requested: str) -> None:
        super().__init__("The requested range is not satisfiable", ActualObjectSize=size, RangeRequested=requested)


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    status = 400


class MalformedXML(S3Error):
    code = "MalformedXML"
    status = 400

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "The XML you provided was not well-formed or did not validate against our published schema."
            + (f" {detail}" if detail else "")
        )


class NoSuchBucket(S3Error):
    code = "NoSuchBucket"
    status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The specified bucket does not exist", BucketName=bucket)


class NoSuchCORSConfiguration(S3Error):
    code = "NoSuchCORSConfiguration"
    status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The CORS configuration does not exist", BucketName=bucket)


class NoSuchBucketPolicy(S3Error):
    code = "NoSuchBucketPolicy"
    status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The bucket policy does not exist", BucketName=bucket)


class NoSuchKey(S3Error):
    code = "NoSuchKey"
    status = 404

    def __init__(self, key: str) -> None:
        super().__init__("The specified key does not exist.", Key=key)


class NoSuchTagSet(S3Error):
    code = "NoSuchTagSet"
    status = 404

    def __init__(self, bucket: str) -> None:
        super().__init__("The TagSet does not exist", BucketName=bucket)


class NoSuchUpload(S3Error):
    code = "NoSuchUpload"
    status = 404

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
            "aborted or completed.",
            UploadId=upload_id,
        )


class NoSuchVersion(S3Error):
    code = "NoSuchVersion"
    status = 404

    def __init__(self, key: str, version_id: str) -> None:
        super().__init__("The specified version does not exist.", Key=key, VersionId=version_id)


class MethodNotAllowed(S3Error):
    code = "MethodNotAllowed"
    status = 405

    def __init__(self, method: str) -> None:
        super().__init__(
            "The specified method is not allowed against this resource.", Method=method, ResourceType="DeleteMarker"
        )


class PreconditionFailed(S3Error):
    code = "PreconditionFailed"
    status = 412

    def __init__(self, condition: str) -> None:
        super().__init__("At least one of the pre-conditions you specified did not hold", Condition=condition)


class QuotaExceeded(S3Error):
    """The sandbox's storage quota: S3 has no such code, so we borrow the closest real one's shape."""

    code = "QuotaExceeded"
    status = 403

    def __init__(self, used: int, size: int, limit: int) -> None:
        super().__init__(
            f"This sandbox's storage quota of {limit} bytes would be exceeded: {used} bytes are in use and "
            f"this request adds {size}. Delete objects (or old versions) and try again.",
            MaxStorageBytes=limit,
        )
