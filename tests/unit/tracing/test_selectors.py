from __future__ import annotations

import pytest

from serverless_lab.cloud.s3.models import Bucket
from serverless_lab.tracing import selectors
from serverless_lab.tracing.services import hop_record

pytestmark = pytest.mark.django_db


def test_the_graph_has_the_client_the_resources_and_their_notifications(cast):
    sandbox = cast.sandbox
    fn = f"arn:aws:lambda:{sandbox.region}:{sandbox.account_id}:function:resize"
    Bucket.objects.create(
        sandbox=sandbox,
        name="photos",
        region=sandbox.region,
        notification={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": f"{fn}:live", "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    graph = selectors.sandbox_graph(sandbox=sandbox)
    by_id = {node["id"]: node for node in graph["nodes"]}
    assert by_id["client"]["service"] == "client"
    assert by_id["arn:aws:s3:::photos"] == {"id": "arn:aws:s3:::photos", "label": "photos", "service": "s3"}
    assert by_id[fn]["service"] == "lambda"  # the notification's target, even before it is listed
    assert graph["edges"] == [{"from_node": "arn:aws:s3:::photos", "to_node": fn, "label": "s3:ObjectCreated:*"}]


def test_a_broken_source_does_not_take_the_graph_down(cast, monkeypatch):
    def broken(sandbox):
        raise RuntimeError("half-migrated app")

    monkeypatch.setattr(selectors, "SOURCES", (broken, *selectors.SOURCES))
    assert [node["id"] for node in selectors.sandbox_graph(sandbox=cast.sandbox)["nodes"]] == ["client"]


def test_a_missing_app_contributes_nothing(cast, monkeypatch):
    monkeypatch.setattr(selectors, "_model", lambda label, name: None)
    assert selectors.sandbox_graph(sandbox=cast.sandbox)["edges"] == []


def test_catch_up_returns_the_hops_after_a_seq_in_order(cast, broadcasts):
    for number in range(5):
        hop_record(
            sandbox_id=cast.sandbox.pk, trace=None, from_node="client", to_node="service:sts", action=f"sts:Op{number}"
        )
    everything = selectors.hops_after(sandbox=cast.sandbox, after=0)
    assert [hop["action"] for hop in everything] == [f"sts:Op{n}" for n in range(5)]
    later = selectors.hops_after(sandbox=cast.sandbox, after=everything[1]["seq"])
    assert [hop["action"] for hop in later] == ["sts:Op2", "sts:Op3", "sts:Op4"]
    assert [hop["action"] for hop in selectors.hops_after(sandbox=cast.sandbox, after=0, limit=2)] == [
        "sts:Op3",
        "sts:Op4",
    ]


def test_the_trace_list_counts_hops_and_problems(cast, broadcasts):
    passed = hop_record(
        sandbox_id=cast.sandbox.pk, trace=None, from_node="client", to_node="arn:aws:s3:::b", action="s3:PutObject"
    )
    hop_record(
        sandbox_id=cast.sandbox.pk,
        trace=passed,
        from_node="arn:aws:s3:::b",
        to_node="x",
        action="s3→lambda",
        status="error",
    )
    [row] = selectors.traces_of(sandbox=cast.sandbox)
    assert (row["trace_id"], row["first_action"], row["hop_count"], row["problem_count"]) == (
        passed.root,
        "s3:PutObject",
        2,
        1,
    )


def test_only_watchers_read_the_feeds(cast, client, broadcasts):
    hop_record(
        sandbox_id=cast.sandbox.pk,
        trace=None,
        from_node="client",
        to_node="service:sts",
        action="sts:GetCallerIdentity",
    )
    base = f"/sandboxes/{cast.sandbox.pk}"
    client.force_login(cast.charlie)
    for path in ("/diagram/graph.json", "/diagram/hops.json", "/traces/"):
        assert client.get(base + path).status_code == 404
    client.force_login(cast.bob)
    assert client.get(base + "/diagram/hops.json?after=nonsense").json()["hops"][0]["action"] == "sts:GetCallerIdentity"
    client.force_login(cast.alice)
    trace_id = client.get(base + "/diagram/hops.json").json()["hops"][0]["trace_id"]
    page = client.get(f"{base}/traces/{trace_id}/")
    assert page.status_code == 200 and b"trace-hops" in page.content
    assert client.get(f"{base}/traces/not-a-trace/").status_code == 404


def test_queues_topics_subscriptions_and_dead_letter_queues_are_drawn(cast):
    import json

    from serverless_lab.cloud.sns.models import Subscription, Topic
    from serverless_lab.cloud.sqs.models import Queue

    sandbox = cast.sandbox
    queue_arn = f"arn:aws:sqs:{sandbox.region}:{sandbox.account_id}"
    topic_arn = f"arn:aws:sns:{sandbox.region}:{sandbox.account_id}:alerts"
    redrive = json.dumps({"deadLetterTargetArn": f"{queue_arn}:jobs-dlq", "maxReceiveCount": "3"})
    for name, attributes in (("jobs", {"RedrivePolicy": redrive}), ("jobs-dlq", {})):
        Queue.objects.create(sandbox=sandbox, name=name, attributes=attributes, created_ms=0, modified_ms=0)
    topic = Topic.objects.create(sandbox=sandbox, name="alerts")
    Subscription.objects.create(sandbox=sandbox, topic=topic, protocol="sqs", endpoint=f"{queue_arn}:jobs")
    graph = selectors.sandbox_graph(sandbox=sandbox)
    assert {node["id"]: node["service"] for node in graph["nodes"]} == {
        "client": "client",
        f"{queue_arn}:jobs": "sqs",
        f"{queue_arn}:jobs-dlq": "sqs",
        topic_arn: "sns",
    }
    assert sorted((e["from_node"], e["to_node"], e["label"]) for e in graph["edges"]) == [
        (topic_arn, f"{queue_arn}:jobs", "sqs"),
        (f"{queue_arn}:jobs", f"{queue_arn}:jobs-dlq", "dead-letter queue"),
    ]


def _function(sandbox, name: str):
    from django.utils import timezone

    from serverless_lab.cloud.lambda_.models import Function

    return Function.objects.create(
        sandbox=sandbox, name=name, runtime="python3.12", role="arn:aws:iam::1:role/r", code_sha256="x",
        code_size=0, code_name="code.zip", revision_id="1", last_modified=timezone.now(),
    )


def _mapping(sandbox, function, source: str, **fields):
    from django.utils import timezone

    from serverless_lab.cloud.esm.models import EventSourceMapping

    return EventSourceMapping.objects.create(
        sandbox=sandbox, function=function, kind=fields.pop("kind", "sqs"), event_source_arn=source,
        source_id=1, batch_size=fields.pop("batch_size", 10), last_modified=timezone.now(), **fields,
    )


def test_event_source_mappings_are_edges_from_the_queue_or_the_streams_table_to_the_function(cast):
    from serverless_lab.cloud.sqs.models import Queue

    sandbox = cast.sandbox
    arn = f"{sandbox.region}:{sandbox.account_id}"
    Queue.objects.create(sandbox=sandbox, name="jobs", attributes={}, created_ms=0, modified_ms=0)
    worker = _function(sandbox, "worker")
    _mapping(sandbox, worker, f"arn:aws:sqs:{arn}:jobs", batch_size=5)
    _mapping(sandbox, worker, f"arn:aws:dynamodb:{arn}:table/orders/stream/2026-11-27T00:00:00.000", kind="dynamodb", enabled=False)
    graph = selectors.sandbox_graph(sandbox=sandbox)
    assert sorted((e["from_node"], e["to_node"], e["label"]) for e in graph["edges"]) == [
        (f"arn:aws:dynamodb:{arn}:table/orders", f"arn:aws:lambda:{arn}:function:worker", "event source mapping, batch 10 (disabled)"),
        (f"arn:aws:sqs:{arn}:jobs", f"arn:aws:lambda:{arn}:function:worker", "event source mapping, batch 5"),
    ]
    assert {node["id"]: node["service"] for node in graph["nodes"]}[f"arn:aws:dynamodb:{arn}:table/orders"] == "dynamodb"


def test_a_focused_graph_keeps_that_service_what_it_connects_to_and_the_client(cast):
    from serverless_lab.cloud.sqs.models import Queue

    sandbox = cast.sandbox
    arn = f"{sandbox.region}:{sandbox.account_id}"
    Bucket.objects.create(
        sandbox=sandbox, name="photos", region=sandbox.region,
        notification={"QueueConfigurations": [{"QueueArn": f"arn:aws:sqs:{arn}:uploads", "Events": ["s3:ObjectCreated:*"]}]},
    )
    for name in ("uploads", "unrelated"):
        Queue.objects.create(sandbox=sandbox, name=name, attributes={}, created_ms=0, modified_ms=0)
    _function(sandbox, "other")
    graph = selectors.sandbox_graph(sandbox=sandbox, focus=selectors.focus_of("S3, nonsense"))
    assert sorted(node["id"] for node in graph["nodes"]) == ["arn:aws:s3:::photos", f"arn:aws:sqs:{arn}:uploads", "client"]
    assert [(e["from_node"], e["to_node"]) for e in graph["edges"]] == [("arn:aws:s3:::photos", f"arn:aws:sqs:{arn}:uploads")]
    assert selectors.focus_of("") == frozenset()
