from __future__ import annotations

import re

from serverless_lab.tracing import ids

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def test_a_new_trace_id_has_the_xray_shape_and_the_time_in_front():
    trace_id = ids.new_trace_id(now=0x5759E988)
    assert re.fullmatch(r"1-5759e988-[0-9a-f]{24}", trace_id)
    assert ids.new_trace_id() != ids.new_trace_id()


def test_a_header_gives_root_parent_and_sampling():
    header = ids.parse_header(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    assert header == ids.TraceHeader(root=ROOT, parent="53995c3f42cd8ad8", sampled=True)


def test_field_order_case_spaces_and_extra_fields_do_not_matter():
    header = ids.parse_header(
        f"Sampled=0; Lineage=a87bd80c:0 ;root={ROOT.upper().replace('1-', '1-')}; Parent=53995C3F42CD8AD8"
    )
    assert header is not None
    assert (header.root, header.parent, header.sampled) == (ROOT, "53995c3f42cd8ad8", False)


def test_a_missing_or_malformed_root_means_start_a_new_trace():
    for value in (
        None,
        "",
        "Parent=53995c3f42cd8ad8",
        "Root=1-xyz-123",
        "Root=2-5759e988-bd862e3fe1be46a994272793",
        "garbage",
    ):
        assert ids.parse_header(value) is None
        assert ids.is_trace_id(ids.continue_or_start(value).root)


def test_a_bad_parent_is_dropped_but_the_root_kept():
    header = ids.parse_header(f"Root={ROOT};Parent=nothex")
    assert header == ids.TraceHeader(root=ROOT, parent="")


def test_passing_on_keeps_the_root_and_makes_this_hop_the_parent():
    incoming = ids.continue_or_start(f"Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")
    passed = incoming.child("0123456789abcdef")
    assert str(passed) == f"Root={ROOT};Parent=0123456789abcdef;Sampled=1"
    assert ids.parse_header(str(passed)) == passed


def test_propagation_carriers_spell_it_like_aws():
    header = ids.TraceHeader(root=ROOT, parent="0123456789abcdef")
    assert ids.lambda_environment(header) == {"_X_AMZN_TRACE_ID": str(header)}
    assert ids.sqs_system_attributes(header) == {"AWSTraceHeader": {"DataType": "String", "StringValue": str(header)}}
