from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from serverless_lab.tracing import ids
from serverless_lab.tracing.models import Hop, Trace
from serverless_lab.tracing.services import hop_record, traces_prune

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
pytestmark = pytest.mark.django_db


def record(sandbox, trace=None, **kwargs):
    fields = {"from_node": "client", "to_node": "arn:aws:s3:::photos", "action": "s3:PutObject"} | kwargs
    return hop_record(sandbox_id=sandbox.pk, trace=trace, **fields)


def test_a_hop_joins_the_trace_it_arrived_with(cast, broadcasts):
    passed = record(
        cast.sandbox, f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1", duration_ms=3.25, payload_preview='{"Key":"a"}'
    )
    hop = Hop.objects.get()
    assert hop.trace.trace_id == ROOT and hop.trace.first_action == "s3:PutObject"
    assert hop.parent_hop_id == "53995c3f42cd8ad8"
    assert (hop.sandbox, hop.status, hop.duration_ms) == (cast.sandbox, "ok", 3.25)
    assert passed == ids.TraceHeader(root=ROOT, parent=hop.hop_id)


def test_without_a_header_a_hop_starts_a_new_trace_and_children_chain_to_it(cast, broadcasts):
    first = record(cast.sandbox)
    second = record(
        cast.sandbox,
        str(first),
        from_node="arn:aws:s3:::photos",
        to_node="arn:aws:lambda:us-east-1:1:function:f",
        action="s3→lambda notify",
    )
    assert ids.is_trace_id(first.root) and second.root == first.root
    hops = list(Hop.objects.all())
    assert Trace.objects.count() == 1
    assert hops[1].parent_hop_id == hops[0].hop_id


def test_a_hop_is_broadcast_only_after_commit(cast, broadcasts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            record(cast.sandbox, status="throttled", error_code="Throttling")
            assert broadcasts == []
    [(sandbox_id, message)] = broadcasts
    hop = Hop.objects.get()
    assert sandbox_id == cast.sandbox.pk
    assert message["type"] == "trace.hop" and message["v"] == 1
    assert message["seq"] == hop.pk and message["hop_id"] == hop.hop_id
    assert (message["status"], message["error_code"], message["action"]) == ("throttled", "Throttling", "s3:PutObject")
    assert message["started_at"].endswith("Z")


def test_a_rolled_back_hop_is_never_broadcast(cast, broadcasts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            record(cast.sandbox)
            raise RuntimeError
    assert broadcasts == [] and not Hop.objects.exists()


def test_the_same_trace_id_in_two_sandboxes_is_two_traces(cast, broadcasts):
    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.charlie, name="other")
    record(cast.sandbox, f"Root={ROOT}")
    record(other, f"Root={ROOT}")
    assert Trace.objects.filter(trace_id=ROOT).count() == 2


def make_traces(sandbox, ages_hours):
    now = datetime.now(UTC)
    for age in ages_hours:
        record(sandbox, started_at=now - timedelta(hours=age))


def test_pruning_keeps_the_newest_traces(cast, broadcasts):
    make_traces(cast.sandbox, [5, 4, 3, 2, 1])
    newest = list(Trace.objects.order_by("-started_at").values_list("pk", flat=True)[:2])
    assert traces_prune(sandbox_id=cast.sandbox.pk, keep=2, max_age_hours=100) == 3
    assert sorted(Trace.objects.values_list("pk", flat=True)) == sorted(newest)
    assert Hop.objects.count() == 2


def test_pruning_drops_traces_past_the_age_limit_and_leaves_other_sandboxes_alone(cast, broadcasts):
    from serverless_lab.sandboxes.services import sandbox_create

    other = sandbox_create(owner=cast.charlie, name="other")
    make_traces(cast.sandbox, [50, 30, 1])
    make_traces(other, [50])
    traces_prune(sandbox_id=cast.sandbox.pk, keep=100, max_age_hours=24)
    assert Trace.objects.filter(sandbox=cast.sandbox).count() == 1
    assert Trace.objects.filter(sandbox=other).count() == 1


def test_tracing_off_records_nothing_but_still_passes_a_header_on(cast, broadcasts, settings):
    settings.LAB_TRACING = "false"
    passed = record(cast.sandbox, f"Root={ROOT}")
    assert passed.root == ROOT and not Hop.objects.exists()
