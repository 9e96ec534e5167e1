"""S3 buckets through boto3 over real HTTP: create/list/head/delete, location, versioning, tagging,
CORS, policy and notification configuration."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def code_of(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def status_of(error: pytest.ExceptionInfo[ClientError]) -> int:
    return error.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_it_creates_lists_heads_and_deletes_a_bucket(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-photos")
    listed = s3.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == ["alice-photos"]
    assert listed["Owner"]["ID"] == cast.sandbox.account_id
    assert s3.head_bucket(Bucket="alice-photos")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="alice-photos")["LocationConstraint"] is None
    s3.delete_bucket(Bucket="alice-photos")
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket="alice-photos")
    assert status_of(error) == 404


def test_a_location_constraint_is_reported_back(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket="alice-eu")["LocationConstraint"] == "eu-west-1"


@pytest.mark.parametrize(
    "name", ["ab", "Upper-Case", "under_score", "192.168.1.1", "a..b", "-start", "x" * 64, "xn--bucket"]
)
def test_it_enforces_bucket_naming_rules(live_lab, cast, name):
    s3 = live_lab.client("s3", cast.sandbox)
    with pytest.raises(ClientError) as error:
        s3.create_bucket(Bucket=name)
    assert code_of(error) == "InvalidBucketName"
    assert status_of(error) == 400


def test_creating_a_bucket_twice_says_you_already_own_it(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-twice")
    with pytest.raises(ClientError) as error:
        s3.create_bucket(Bucket="alice-twice")
    assert code_of(error) == "BucketAlreadyOwnedByYou"
    assert status_of(error) == 409


def test_a_missing_bucket_is_no_such_bucket(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket="nobody-has-this")
    assert code_of(error) == "NoSuchBucket"
    assert status_of(error) == 404
    assert error.value.response["Error"]["BucketName"] == "nobody-has-this"


def test_a_bucket_with_objects_is_not_deleted(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-full")
    s3.put_object(Bucket="alice-full", Key="a.txt", Body=b"a")
    with pytest.raises(ClientError) as error:
        s3.delete_bucket(Bucket="alice-full")
    assert code_of(error) == "BucketNotEmpty"
    assert status_of(error) == 409


def test_versioning_turns_on_and_is_suspended(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-versions")
    assert "Status" not in s3.get_bucket_versioning(Bucket="alice-versions")
    s3.put_bucket_versioning(Bucket="alice-versions", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="alice-versions")["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket="alice-versions", VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket="alice-versions")["Status"] == "Suspended"


def test_bucket_tags_are_stored_and_removed(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-tags")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_tagging(Bucket="alice-tags")
    assert code_of(error) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket="alice-tags", Tagging={"TagSet": [{"Key": "course", "Value": "serverless"}]})
    assert s3.get_bucket_tagging(Bucket="alice-tags")["TagSet"] == [{"Key": "course", "Value": "serverless"}]
    s3.delete_bucket_tagging(Bucket="alice-tags")
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket="alice-tags")


def test_a_bucket_policy_is_stored_and_shown(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-policy")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::alice-policy/*"}
        ],
    }
    s3.put_bucket_policy(Bucket="alice-policy", Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket="alice-policy")["Policy"]) == policy
    s3.delete_bucket_policy(Bucket="alice-policy")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_policy(Bucket="alice-policy")
    assert code_of(error) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as error:
        s3.put_bucket_policy(Bucket="alice-policy", Policy="not json")
    assert code_of(error) == "MalformedPolicy"


def test_notification_targets_are_stored(live_lab, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-events")
    # AWS checks that the destinations exist.
    live_lab.client("sqs", cast.sandbox).create_queue(QueueName="q")
    arn = live_lab.client("lambda", cast.sandbox).create_function(
        FunctionName="thumbnail", Runtime="python3.11", Handler="app.handler",
        Role="arn:aws:iam::123456789012:role/lambda-role", Code={"ZipFile": _zip("def handler(e, c): pass")},
    )["FunctionArn"]
    configuration = {
        "LambdaFunctionConfigurations": [
            {
                "Id": "thumbs",
                "LambdaFunctionArn": arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {
                    "Key": {
                        "FilterRules": [{"Name": "prefix", "Value": "uploads/"}, {"Name": "suffix", "Value": ".jpg"}]
                    }
                },
            }
        ],
        "QueueConfigurations": [
            {"QueueArn": f"arn:aws:sqs:us-east-1:{cast.sandbox.account_id}:q", "Events": ["s3:ObjectRemoved:*"]}
        ],
    }
    s3.put_bucket_notification_configuration(Bucket="alice-events", NotificationConfiguration=configuration)
    stored = s3.get_bucket_notification_configuration(Bucket="alice-events")
    assert stored["LambdaFunctionConfigurations"][0]["LambdaFunctionArn"] == arn
    assert (
        stored["LambdaFunctionConfigurations"][0]["Filter"]["Key"]["FilterRules"][1]
        == {"Name": "Suffix", "Value": ".jpg"}
        or stored["LambdaFunctionConfigurations"][0]["Filter"]["Key"]["FilterRules"][1]["Value"] == ".jpg"
    )
    assert stored["QueueConfigurations"][0]["Events"] == ["s3:ObjectRemoved:*"]
    assert stored["QueueConfigurations"][0]["Id"]
    s3.put_object(Bucket="alice-events", Key="uploads/cat.jpg", Body=b"jpg")  # matches: logged, not delivered yet


def test_cors_configuration_is_stored_and_applied_to_browser_requests(live_lab, cast, s3v4):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket="alice-web")
    with pytest.raises(ClientError) as error:
        s3.get_bucket_cors(Bucket="alice-web")
    assert code_of(error) == "NoSuchCORSConfiguration"
    rules = [
        {
            "AllowedOrigins": ["https://app.example"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 300,
        }
    ]
    s3.put_bucket_cors(Bucket="alice-web", CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket="alice-web")["CORSRules"] == rules
    s3.put_object(Bucket="alice-web", Key="index.html", Body=b"<h1>hi</h1>", ContentType="text/html")

    url = f"{live_lab.url}/aws/alice-web/index.html"
    preflight = requests.options(
        url,
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Max-Age"] == "300"
    refused = requests.options(
        url, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}, timeout=10
    )
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers

    s3 = s3v4(cast.sandbox)
    presigned = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "alice-web", "Key": "index.html"}, ExpiresIn=60
    )
    response = requests.get(presigned, headers={"Origin": "https://app.example"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Expose-Headers"] == "ETag"

    s3.delete_bucket_cors(Bucket="alice-web")
    assert (
        requests.options(
            url, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}, timeout=10
        ).status_code
        == 403
    )


def _zip(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()
