"""S3 multipart uploads through boto3 over real HTTP: create, upload 3 parts, list, complete, abort."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MIB = 1024 * 1024


@pytest.fixture
def s3(live_lab, cast):
    client = live_lab.client("s3", cast.sandbox)
    client.create_bucket(Bucket="alice-big")
    return client


def test_a_three_part_upload_joins_the_parts_with_the_multipart_etag(s3):
    parts_data = [b"a" * (5 * MIB), b"b" * (5 * MIB), b"tail"]
    upload = s3.create_multipart_upload(
        Bucket="alice-big", Key="video.bin", ContentType="video/mp4", Metadata={"k": "v"}
    )
    upload_id = upload["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="alice-big")["Uploads"]] == [upload_id]
    etags = []
    for number, data in enumerate(parts_data, 1):
        etags.append(
            s3.upload_part(Bucket="alice-big", Key="video.bin", UploadId=upload_id, PartNumber=number, Body=data)[
                "ETag"
            ]
        )
    listed = s3.list_parts(Bucket="alice-big", Key="video.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (1, 5 * MIB, etags[0]),
        (2, 5 * MIB, etags[1]),
        (3, 4, etags[2]),
    ]
    done = s3.complete_multipart_upload(
        Bucket="alice-big",
        Key="video.bin",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    expected = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest() + "-3"
    assert done["ETag"] == f'"{expected}"'
    got = s3.get_object(Bucket="alice-big", Key="video.bin")
    assert got["Body"].read() == b"".join(parts_data)
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"k": "v"}
    assert s3.list_multipart_uploads(Bucket="alice-big").get("Uploads") is None


def test_completion_checks_parts_order_and_size(s3):
    upload_id = s3.create_multipart_upload(Bucket="alice-big", Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket="alice-big", Key="k", UploadId=upload_id, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket="alice-big", Key="k", UploadId=upload_id, PartNumber=2, Body=b"end")["ETag"]
    cases = [
        ([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}], "InvalidPartOrder"),
        ([{"PartNumber": 1, "ETag": '"0000"'}], "InvalidPart"),
        ([{"PartNumber": 7, "ETag": e1}], "InvalidPart"),
        ([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}], "EntityTooSmall"),
    ]
    for parts, code in cases:
        with pytest.raises(ClientError) as error:
            s3.complete_multipart_upload(
                Bucket="alice-big", Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        assert error.value.response["Error"]["Code"] == code
    single = s3.complete_multipart_upload(
        Bucket="alice-big", Key="k", UploadId=upload_id, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}]}
    )
    assert single["ETag"].endswith('-1"')


def test_abort_drops_the_upload_and_unknown_uploads_are_no_such_upload(s3):
    upload_id = s3.create_multipart_upload(Bucket="alice-big", Key="k")["UploadId"]
    s3.upload_part(Bucket="alice-big", Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket="alice-big", Key="k", UploadId=upload_id)
    for call in (
        lambda: s3.list_parts(Bucket="alice-big", Key="k", UploadId=upload_id),
        lambda: s3.upload_part(Bucket="alice-big", Key="k", UploadId=upload_id, PartNumber=2, Body=b"y"),
        lambda: s3.abort_multipart_upload(Bucket="alice-big", Key="k", UploadId="nope"),
    ):
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "NoSuchUpload"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_part_numbers_out_of_range_are_invalid_arguments(s3):
    upload_id = s3.create_multipart_upload(Bucket="alice-big", Key="k")["UploadId"]
    with pytest.raises(ClientError) as error:
        s3.upload_part(Bucket="alice-big", Key="k", UploadId=upload_id, PartNumber=10001, Body=b"x")
    assert error.value.response["Error"]["Code"] == "InvalidArgument"
