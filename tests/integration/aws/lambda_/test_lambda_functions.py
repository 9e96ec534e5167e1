"""Lambda's control plane through boto3 over real HTTP: functions, versions, aliases, concurrency, policy."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from botocore.exceptions import ClientError

from serverless_lab.sandboxes.services import sandbox_create

from .conftest import ROLE, make_zip

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOURCE = "def handler(event, context):\n    return {'ok': True}\n"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_create_get_list_update_delete(lambda_client, create_python, cast):
    created = create_python(
        "hello", SOURCE, MemorySize=256, Timeout=5, Environment={"Variables": {"GREETING": "hi"}}, Description="first"
    )
    arn = f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:hello"
    assert created["FunctionArn"] == arn
    assert created["Version"] == "$LATEST" and created["State"] == "Active"
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(make_zip({"app.py": SOURCE})).digest()).decode()
    assert created["Environment"] == {"Variables": {"GREETING": "hi"}}

    got = lambda_client.get_function(FunctionName="hello")
    assert got["Configuration"]["MemorySize"] == 256 and got["Configuration"]["Description"] == "first"
    assert lambda_client.get_function_configuration(FunctionName=arn)["Timeout"] == 5

    create_python("another", SOURCE)
    names = [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]]
    assert names == ["another", "hello"]
    first = lambda_client.list_functions(MaxItems=1)
    assert len(first["Functions"]) == 1 and first["NextMarker"]
    assert lambda_client.list_functions(Marker=first["NextMarker"])["Functions"][0]["FunctionName"] == "hello"

    updated = lambda_client.update_function_configuration(
        FunctionName="hello", MemorySize=512, Environment={"Variables": {}}
    )
    assert updated["MemorySize"] == 512 and "Environment" not in updated
    assert updated["RevisionId"] != created["RevisionId"]
    new_code = lambda_client.update_function_code(FunctionName="hello", ZipFile=make_zip({"app.py": SOURCE + "# v2\n"}))
    assert new_code["CodeSha256"] != created["CodeSha256"]

    lambda_client.delete_function(FunctionName="hello")
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_function(FunctionName="hello")
    assert error_of(excinfo) == ("ResourceNotFoundException", 404, f"Function not found: {arn}")


def test_create_errors_speak_lambda(lambda_client, create_python):
    create_python("dup", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        create_python("dup", SOURCE)
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="bad-zip",
            Runtime="python3.11",
            Handler="app.handler",
            Role=ROLE,
            Code={"ZipFile": b"not a zip"},
        )
    assert error_of(excinfo)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as excinfo:
        create_python("reserved", SOURCE, Environment={"Variables": {"AWS_REGION": "mars-1"}})
    assert "Reserved keys used in this request: AWS_REGION" in error_of(excinfo)[2]
    with pytest.raises(ClientError) as excinfo:
        create_python("bad-key", SOURCE, Environment={"Variables": {"1-BAD": "x"}})
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(ClientError) as excinfo:
        create_python("cobol", SOURCE, Runtime="cobol85")
    assert error_of(excinfo)[0] == "InvalidParameterValueException"
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_function(
            FunctionName="from-s3",
            Runtime="python3.11",
            Handler="app.handler",
            Role=ROLE,
            Code={"S3Bucket": "missing-bucket", "S3Key": "code.zip"},
        )
    assert error_of(excinfo)[0] == "InvalidParameterValueException" and "NoSuchBucket" in error_of(excinfo)[2]


def test_code_from_an_s3_object(live_lab, lambda_client, cast):
    s3 = live_lab.client("s3", cast.sandbox)
    s3.create_bucket(Bucket=f"code-{cast.sandbox.account_id}")
    s3.put_object(Bucket=f"code-{cast.sandbox.account_id}", Key="app.zip", Body=make_zip({"app.py": SOURCE}))
    created = lambda_client.create_function(
        FunctionName="from-s3",
        Runtime="python3.11",
        Handler="app.handler",
        Role=ROLE,
        Code={"S3Bucket": f"code-{cast.sandbox.account_id}", "S3Key": "app.zip"},
    )
    assert created["CodeSize"] == len(make_zip({"app.py": SOURCE}))


def test_function_quota(lambda_client, create_python, cast):
    cast.sandbox.max_functions = 1
    cast.sandbox.save()
    create_python("one", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        create_python("two", SOURCE)
    assert error_of(excinfo)[0] == "CodeStorageExceededException"


def test_versions_and_aliases(lambda_client, create_python):
    create_python("versioned", SOURCE)
    v1 = lambda_client.publish_version(FunctionName="versioned", Description="v1")
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(":versioned:1")
    assert lambda_client.publish_version(FunctionName="versioned")["Version"] == "1"  # nothing changed
    lambda_client.update_function_configuration(FunctionName="versioned", Timeout=9)
    assert lambda_client.publish_version(FunctionName="versioned")["Version"] == "2"
    listed = lambda_client.list_functions(FunctionVersion="ALL")["Functions"]
    assert [(f["FunctionName"], f["Version"]) for f in listed] == [
        ("versioned", "$LATEST"),
        ("versioned", "1"),
        ("versioned", "2"),
    ]
    versions = lambda_client.list_versions_by_function(FunctionName="versioned")["Versions"]
    assert [(v["Version"], v["Timeout"]) for v in versions] == [("$LATEST", 9), ("1", 3), ("2", 9)]
    assert lambda_client.get_function_configuration(FunctionName="versioned", Qualifier="1")["Timeout"] == 3

    alias = lambda_client.create_alias(FunctionName="versioned", Name="live", FunctionVersion="1", Description="prod")
    assert alias["AliasArn"].endswith(":versioned:live")
    assert lambda_client.get_alias(FunctionName="versioned", Name="live")["FunctionVersion"] == "1"
    assert lambda_client.get_function_configuration(FunctionName="versioned:live")["Version"] == "1"
    lambda_client.update_alias(FunctionName="versioned", Name="live", FunctionVersion="2")
    assert [a["FunctionVersion"] for a in lambda_client.list_aliases(FunctionName="versioned")["Aliases"]] == ["2"]
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_alias(FunctionName="versioned", Name="live", FunctionVersion="1")
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.create_alias(FunctionName="versioned", Name="nope", FunctionVersion="7")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    lambda_client.delete_alias(FunctionName="versioned", Name="live")
    assert lambda_client.list_aliases(FunctionName="versioned")["Aliases"] == []
    lambda_client.delete_function(FunctionName="versioned", Qualifier="1")
    assert [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName="versioned")["Versions"]] == [
        "$LATEST",
        "2",
    ]


def test_reserved_concurrency(lambda_client, create_python):
    create_python("limited", SOURCE)
    assert "ReservedConcurrentExecutions" not in lambda_client.get_function_concurrency(FunctionName="limited")
    assert (
        lambda_client.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=1)[
            "ReservedConcurrentExecutions"
        ]
        == 1
    )
    assert lambda_client.get_function(FunctionName="limited")["Concurrency"] == {"ReservedConcurrentExecutions": 1}
    with pytest.raises(ClientError) as excinfo:
        lambda_client.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=100000)
    assert error_of(excinfo)[0] == "InvalidParameterValueException"
    lambda_client.delete_function_concurrency(FunctionName="limited")
    assert "Concurrency" not in lambda_client.get_function(FunctionName="limited")


def test_resource_policy(lambda_client, create_python, cast):
    create_python("guarded", SOURCE)
    with pytest.raises(ClientError) as excinfo:
        lambda_client.get_policy(FunctionName="guarded")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"
    added = lambda_client.add_permission(
        FunctionName="guarded",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount=cast.sandbox.account_id,
    )
    statement = json.loads(added["Statement"])
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"] == {"AWS:SourceArn": "arn:aws:s3:::my-bucket"}
    with pytest.raises(ClientError) as excinfo:
        lambda_client.add_permission(
            FunctionName="guarded",
            StatementId="s3-invoke",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
        )
    assert error_of(excinfo)[:2] == ("ResourceConflictException", 409)
    policy = json.loads(lambda_client.get_policy(FunctionName="guarded")["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s3-invoke"]
    lambda_client.remove_permission(FunctionName="guarded", StatementId="s3-invoke")
    with pytest.raises(ClientError) as excinfo:
        lambda_client.remove_permission(FunctionName="guarded", StatementId="s3-invoke")
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_another_sandbox_cannot_see_the_function(live_lab, lambda_client, create_python, cast):
    create_python("private", SOURCE)
    other = live_lab.client("lambda", sandbox_create(owner=cast.charlie, name="charlie-box"))
    assert other.list_functions()["Functions"] == []
    arn = f"arn:aws:lambda:{cast.sandbox.region}:{cast.sandbox.account_id}:function:private"
    for name in ("private", arn):
        with pytest.raises(ClientError) as excinfo:
            other.get_function(FunctionName=name)
        assert error_of(excinfo)[0] == "ResourceNotFoundException"
