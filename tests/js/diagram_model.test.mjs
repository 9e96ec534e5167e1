// node --test tests/js: the diagram's pure model (no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyHop, catchUpQuery, createModel, edgeKey, labelOf, parsePositions, positionsKey, replaySchedule,
  serializePositions, serviceOf, waterfallFigure,
} from "../../static/js/diagram/model.js";

const BUCKET = "arn:aws:s3:::photos";
const FN = "arn:aws:lambda:us-east-1:123456789012:function:resize";

function hop(seq, fields = {}) {
  return {
    type: "trace.hop", v: 1, seq, trace_id: "1-5759e988-bd862e3fe1be46a994272793", hop_id: `h${seq}`,
    parent_hop_id: "", from_node: "client", to_node: BUCKET, action: "s3:PutObject", status: "ok",
    error_code: "", started_at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq * 10)).toISOString(),
    duration_ms: 2.5, preview: "", ...fields,
  };
}

test("services and labels come from ARNs", () => {
  assert.equal(serviceOf(BUCKET), "s3");
  assert.equal(serviceOf(FN), "lambda");
  assert.equal(serviceOf("service:sts"), "sts");
  assert.equal(serviceOf("client"), "client");
  assert.equal(labelOf(BUCKET), "photos");
  assert.equal(labelOf(FN), "resize");
  assert.equal(labelOf("arn:aws:dynamodb:us-east-1:1:table/orders"), "orders");
  assert.equal(labelOf("arn:aws:sqs:us-east-1:1:jobs"), "jobs");
  assert.equal(labelOf("service:sts"), "STS");
});

test("the graph's nodes and edges become the model", () => {
  const state = createModel({
    nodes: [{ id: "client", label: "You", service: "client" }, { id: BUCKET, label: "photos", service: "s3" }, { id: FN, label: "resize", service: "lambda" }],
    edges: [{ from_node: BUCKET, to_node: FN, label: "s3:ObjectCreated:*" }],
  });
  assert.equal(state.nodes.size, 3);
  assert.equal(state.edges.get(edgeKey(BUCKET, FN)).label, "s3:ObjectCreated:*");
});

test("a hop on a known edge animates without changing the layout", () => {
  const state = createModel({ nodes: [{ id: "client" }, { id: BUCKET }], edges: [{ from_node: "client", to_node: BUCKET }] });
  const effect = applyHop(state, hop(1));
  assert.deepEqual([effect.edge, effect.status, effect.topologyChanged], [edgeKey("client", BUCKET), "ok", false]);
  assert.equal(state.lastSeq, 1);
});

test("a hop to something new adds the node and the edge", () => {
  const state = createModel({ nodes: [{ id: "client" }] });
  const effect = applyHop(state, hop(1, { to_node: "service:sts", action: "sts:GetCallerIdentity" }));
  assert.equal(effect.topologyChanged, true);
  assert.equal(state.nodes.get("service:sts").service, "sts");
  assert.ok(state.edges.get(edgeKey("client", "service:sts")).observed);
});

test("duplicates and non-hops are ignored, and catch-up resumes after the newest seq", () => {
  const state = createModel();
  assert.ok(applyHop(state, hop(5)));
  assert.equal(applyHop(state, hop(5)), null);
  assert.equal(applyHop(state, { type: "hello", v: 1 }), null);
  assert.equal(applyHop(state, { ...hop(6), v: 2 }), null);
  assert.ok(applyHop(state, hop(3)));  // a late catch-up row still counts, in seq order
  assert.deepEqual(state.hops.map((h) => h.seq), [3, 5]);
  assert.equal(catchUpQuery(state), "after=5");
});

test("unknown statuses render as errors; the hop list is capped", () => {
  const state = createModel();
  assert.equal(applyHop(state, hop(1, { status: "weird" })).status, "error");
  for (let seq = 2; seq <= 20; seq += 1) applyHop(state, hop(seq), { maxHops: 10 });
  assert.equal(state.hops.length, 10);
  assert.equal(state.hops[0].seq, 11);
});

test("a replay keeps the order and scales gaps by speed within bounds", () => {
  const hops = [hop(1), hop(3, { started_at: "2026-01-01T00:00:01.000Z" }), hop(2, { started_at: "2026-01-01T00:00:00.500Z" })];
  hops[0].started_at = "2026-01-01T00:00:00.000Z";
  const normal = replaySchedule(hops, 1);
  assert.deepEqual(normal.map((s) => s.hop.seq), [1, 2, 3]);
  assert.deepEqual(normal.map((s) => s.at), [0, 500, 1000]);
  assert.deepEqual(replaySchedule(hops, 2).map((s) => s.at), [0, 250, 500]);
  const slowGap = replaySchedule([hops[0], { ...hops[2], started_at: "2026-01-01T01:00:00Z" }], 1);
  assert.equal(slowGap[1].at, 3000);
  const burst = replaySchedule([hops[0], { ...hops[0], seq: 9 }], 1);
  assert.equal(burst[1].at, 250);
});

test("the waterfall has a bar per hop at its offset, coloured by status", () => {
  const figure = waterfallFigure([
    hop(1, { started_at: "2026-01-01T00:00:00.000Z", duration_ms: 4 }),
    hop(2, { started_at: "2026-01-01T00:00:00.010Z", status: "throttled", duration_ms: 1 }),
  ]);
  const [bars] = figure.data;
  assert.deepEqual(bars.base, [0, 10]);
  assert.deepEqual(bars.x, [4, 1]);
  assert.equal(bars.marker.color[1], "#d97706");
  assert.match(bars.y[0], /^1\. s3:PutObject → photos$/);
});

test("a fresh graph keeps observed edges unless a resource they touch was deleted", async () => {
  const { mergeGraph, changesTopology } = await import("../../static/js/diagram/model.js");
  const state = createModel({ nodes: [{ id: "client" }, { id: BUCKET }], edges: [] });
  applyHop(state, hop(1));
  applyHop(state, hop(2, { to_node: "service:sts" }));
  const changed = mergeGraph(state, {
    nodes: [{ id: "client" }, { id: BUCKET }, { id: FN }],
    edges: [{ from_node: BUCKET, to_node: FN, label: "s3:ObjectCreated:*" }],
  });
  assert.equal(changed, true);
  assert.ok(state.edges.has(edgeKey("client", BUCKET)) && state.edges.has(edgeKey("client", "service:sts")));
  assert.equal(mergeGraph(state, { nodes: [{ id: "client" }, { id: FN }], edges: [] }), true);
  assert.equal(state.nodes.has(BUCKET), false);
  assert.equal(state.edges.has(edgeKey("client", BUCKET)), false);
  assert.ok(state.nodes.has("service:sts"));
  assert.equal(changesTopology("s3:CreateBucket"), true);
  assert.equal(changesTopology("s3:PutBucketNotificationConfiguration"), true);
  assert.equal(changesTopology("s3:PutObject"), false);
});

test("a focused diagram skips hops that touch none of its services but still catches up past them", () => {
  const state = createModel({ nodes: [{ id: "client", label: "Your code", service: "client" }], edges: [] }, { focus: ["s3"] });
  const table = "arn:aws:dynamodb:us-east-1:1:table/orders";
  assert.equal(applyHop(state, hop(1, { to_node: table, action: "dynamodb:PutItem" })), null);
  assert.equal(state.nodes.has(table), false);
  assert.equal(catchUpQuery(state), "after=1");
  const effect = applyHop(state, hop(2));
  assert.equal(effect.edge, edgeKey("client", BUCKET));
  assert.equal(applyHop(state, hop(3, { from_node: BUCKET, to_node: FN, action: "s3→lambda notify" })).edge, edgeKey(BUCKET, FN));
  assert.deepEqual(state.hops.map((h) => h.seq), [2, 3]);
});

test("dragged positions are stored per sandbox and focus, and junk reads as nothing saved", () => {
  assert.equal(positionsKey(7), "lab.diagram.positions.7.all");
  assert.equal(positionsKey(7, ["sqs", "sns"]), "lab.diagram.positions.7.sns,sqs");
  const positions = new Map([[BUCKET, { x: 10.4, y: -3.6 }], [FN, { x: 1, y: 2 }]]);
  const text = serializePositions(positions, [BUCKET, "arn:aws:s3:::gone"]);
  assert.deepEqual(JSON.parse(text), { [BUCKET]: [10, -4] });
  assert.deepEqual(parsePositions(text).get(BUCKET), { x: 10, y: -4 });
  for (const junk of [null, "", "{", "[1,2]", '"x"', '{"a": [1]}', '{"a": ["1", 2]}', '{"a": [1, null]}']) {
    assert.equal(parsePositions(junk).size, 0, String(junk));
  }
});
