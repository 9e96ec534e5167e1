"""S3 listings and versions through boto3 over real HTTP: ListObjects v1/v2 with prefix, delimiter,
MaxKeys, continuation tokens, StartAfter and Marker; ListObjectVersions, VersionId reads, delete markers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEYS = [
    "a.txt",
    "photos/2024/cat.jpg",
    "photos/2024/dog.jpg",
    "photos/2025/owl.jpg",
    "photos/index.html",
    "z/last",
    "B-upper",
]


@pytest.fixture
def s3(live_lab, cast):
    client = live_lab.client("s3", cast.sandbox)
    client.create_bucket(Bucket="alice-list")
    for key in KEYS:
        client.put_object(Bucket="alice-list", Key=key, Body=key.encode())
    return client


def test_v2_lists_every_key_in_byte_order(s3):
    listed = s3.list_objects_v2(Bucket="alice-list")
    assert [o["Key"] for o in listed["Contents"]] == sorted(KEYS)  # "B-upper" sorts before "a.txt"
    assert listed["KeyCount"] == len(KEYS) and listed["IsTruncated"] is False
    assert listed["Contents"][0]["Size"] == len("B-upper")


def test_prefix_and_delimiter_roll_up_common_prefixes(s3):
    top = s3.list_objects_v2(Bucket="alice-list", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["B-upper", "a.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["photos/", "z/"]
    inner = s3.list_objects_v2(Bucket="alice-list", Prefix="photos/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["photos/index.html"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["photos/2024/", "photos/2025/"]


def test_continuation_tokens_page_through_keys_and_prefixes(s3):
    seen, token = [], None
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket="alice-list", Delimiter="/", MaxKeys=1, **kwargs)
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["B-upper", "a.txt", "photos/", "z/"]
    paginated = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="alice-list", PaginationConfig={"PageSize": 2})
        for o in page["Contents"]
    ]
    assert paginated == sorted(KEYS)


def test_start_after_and_a_bad_token(s3):
    listed = s3.list_objects_v2(Bucket="alice-list", StartAfter="photos/2025/owl.jpg")
    assert [o["Key"] for o in listed["Contents"]] == ["photos/index.html", "z/last"]
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket="alice-list", ContinuationToken="%%%not-ours")
    assert error.value.response["Error"]["Code"] == "InvalidArgument"


def test_v1_marker_and_next_marker(s3):
    first = s3.list_objects(Bucket="alice-list", MaxKeys=3)
    assert [o["Key"] for o in first["Contents"]] == sorted(KEYS)[:3] and first["IsTruncated"] is True
    rest = s3.list_objects(Bucket="alice-list", Marker=first["Contents"][-1]["Key"])
    assert [o["Key"] for o in rest["Contents"]] == sorted(KEYS)[3:]
    grouped = s3.list_objects(Bucket="alice-list", Delimiter="/", MaxKeys=3)
    assert grouped["NextMarker"] == "photos/"
    after = s3.list_objects(Bucket="alice-list", Delimiter="/", Marker=grouped["NextMarker"])
    assert [p["Prefix"] for p in after["CommonPrefixes"]] == ["z/"]
    assert s3.list_objects(Bucket="alice-list", MaxKeys=0).get("Contents") is None


def test_versions_are_kept_read_by_id_and_hidden_by_delete_markers(s3):
    s3.put_bucket_versioning(Bucket="alice-list", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="alice-list", Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="alice-list", Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket="alice-list", Key="doc")["Body"].read() == b"two"
    assert s3.get_object(Bucket="alice-list", Key="doc", VersionId=v1)["Body"].read() == b"one"
    deleted = s3.delete_object(Bucket="alice-list", Key="doc")
    assert deleted["DeleteMarker"] is True
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-list", Key="doc")
    assert error.value.response["Error"]["Code"] == "NoSuchKey"
    assert "doc" not in [o["Key"] for o in s3.list_objects_v2(Bucket="alice-list")["Contents"]]
    versions = s3.list_object_versions(Bucket="alice-list", Prefix="doc")
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [deleted["VersionId"]]
    assert versions["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket="alice-list", Key="doc", VersionId=deleted["VersionId"])  # undelete
    assert s3.get_object(Bucket="alice-list", Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket="alice-list", Key="doc", VersionId=v2)
    assert s3.get_object(Bucket="alice-list", Key="doc")["Body"].read() == b"one"
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="alice-list", Key="doc", VersionId="0" * 32)
    assert error.value.response["Error"]["Code"] == "NoSuchVersion"


def test_unversioned_objects_list_as_the_null_version(s3):
    versions = s3.list_object_versions(Bucket="alice-list", Prefix="a.txt")
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions["Versions"]] == [("a.txt", "null", True)]


def test_version_listing_pages(s3):
    s3.put_bucket_versioning(Bucket="alice-list", VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket="alice-list", Key="pages", Body=str(i).encode())["VersionId"] for i in range(3)]
    seen, kwargs = [], {}
    while True:
        page = s3.list_object_versions(Bucket="alice-list", Prefix="pages", MaxKeys=2, **kwargs)
        seen += [v["VersionId"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert seen == list(reversed(ids))
