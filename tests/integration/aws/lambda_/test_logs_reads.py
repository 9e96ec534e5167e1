"""CloudWatch Logs reads over real HTTP, on events written the way Lambda invocations write them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from serverless_lab.cloud.logs.backend import put_log_lines
from serverless_lab.sandboxes.services import sandbox_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

GROUP = "/aws/lambda/reader"
STREAM_A = "2026/11/27/[$LATEST]" + "a" * 32
STREAM_B = "2026/11/27/[$LATEST]" + "b" * 32


@pytest.fixture
def logs(live_lab, cast):
    put_log_lines(
        sandbox=cast.sandbox,
        group_name=GROUP,
        stream_name=STREAM_A,
        events=[(1000 + i, f"line {i} {'ERROR' if i % 3 == 0 else 'INFO'}") for i in range(10)],
    )
    put_log_lines(sandbox=cast.sandbox, group_name=GROUP, stream_name=STREAM_B, events=[(5000, "late ERROR in b")])
    return live_lab.client("logs", cast.sandbox)


def test_groups_and_streams(logs):
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    streams = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [STREAM_B, STREAM_A]
    assert streams[1]["firstEventTimestamp"] == 1000 and streams[1]["lastEventTimestamp"] == 1009
    with pytest.raises(ClientError) as excinfo:
        logs.describe_log_streams(logGroupName="/aws/lambda/missing")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_get_log_events_pages_both_ways(logs):
    newest = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM_A, limit=4)
    assert [e["message"].split()[1] for e in newest["events"]] == ["6", "7", "8", "9"]
    older = logs.get_log_events(
        logGroupName=GROUP, logStreamName=STREAM_A, limit=4, nextToken=newest["nextBackwardToken"]
    )
    assert [e["message"].split()[1] for e in older["events"]] == ["2", "3", "4", "5"]
    head = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM_A, startFromHead=True, limit=3)
    assert [e["timestamp"] for e in head["events"]] == [1000, 1001, 1002]
    rest = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM_A, nextToken=head["nextForwardToken"])
    assert len(rest["events"]) == 7
    end = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM_A, nextToken=rest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]


def test_filter_log_events(logs):
    errors = logs.filter_log_events(logGroupName=GROUP, filterPattern="ERROR")
    assert [e["message"] for e in errors["events"]][-1] == "late ERROR in b"
    assert len(errors["events"]) == 5
    assert {s["logStreamName"] for s in errors["searchedLogStreams"]} == {STREAM_A, STREAM_B}
    page = logs.filter_log_events(logGroupName=GROUP, filterPattern="ERROR -late", limit=2)
    assert len(page["events"]) == 2 and page["nextToken"]
    assert (
        len(
            logs.filter_log_events(logGroupName=GROUP, filterPattern="ERROR -late", nextToken=page["nextToken"])[
                "events"
            ]
        )
        == 2
    )
    assert len(logs.filter_log_events(logGroupName=GROUP, filterPattern='"line 1" ?INFO ?ERROR')["events"]) == 1
    assert len(logs.filter_log_events(logGroupName=GROUP, startTime=1005, endTime=1007)["events"]) == 3
    assert len(logs.filter_log_events(logGroupName=GROUP, logStreamNames=[STREAM_B])["events"]) == 1


def test_another_sandbox_sees_no_logs(logs, live_lab, cast):
    other = live_lab.client("logs", sandbox_create(owner=cast.charlie, name="charlie-box"))
    assert other.describe_log_groups()["logGroups"] == []
    with pytest.raises(ClientError) as excinfo:
        other.get_log_events(logGroupName=GROUP, logStreamName=STREAM_A)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
