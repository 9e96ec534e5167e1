"""Blueprints of the Lambda console: small, correct handlers a student can read, in Python and Node.js.

Each blueprint is one source file. Python ones follow the AWS console's convention
(``lambda_function.py``, handler ``lambda_function.lambda_handler``); Node.js ones are ES modules
(``index.mjs``, handler ``index.handler``). The Node.js runtimes here carry no AWS SDK (see
docs/runtime.md), so the Node.js DynamoDB blueprint signs its requests itself.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

PYTHON_RUNTIME = "python3.12"
NODE_RUNTIME = "nodejs20.x"


@dataclass(frozen=True)
class Blueprint:
    key: str
    title: str
    summary: str
    language: str  # "python" or "javascript"
    runtime: str
    filename: str
    handler: str
    source: str
    test_event: str  # the key of the test event template that fits (test_events.TEMPLATES)

    def zip_bytes(self) -> bytes:
        return zip_single_file(self.filename, self.source)


def zip_single_file(filename: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(filename, source)
    return buffer.getvalue()


# --- Python -------------------------------------------------------------------------------------

PY_HELLO = '''import json


def lambda_handler(event, context):
    """Say hello: the smallest useful function. Everything printed lands in the logs."""
    print("Received event:", json.dumps(event))
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {"message": f"Hello, {name}!", "request_id": context.aws_request_id}
'''

PY_S3 = '''import urllib.parse

import boto3

# Created once per execution environment (at INIT), then reused by every warm invoke.
s3 = boto3.client("s3")


def lambda_handler(event, context):
    """Runs when S3 reports new objects: look each one up and report its type and size."""
    results = []
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        # Keys arrive URL-encoded in S3 events ("my+photo.jpg" is "my photo.jpg").
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError as error:
            print(f"Could not read s3://{bucket}/{key}: {error}. Does the object exist in this sandbox?")
            raise
        print(f"s3://{bucket}/{key}: {head['ContentType']}, {head['ContentLength']} bytes")
        results.append({"bucket": bucket, "key": key, "size": head["ContentLength"]})
    return {"objects": results}
'''

PY_DYNAMODB = '''import os

import boto3

# The table's name comes from the configuration (Environment variables: TABLE_NAME);
# its partition key is "id" (a string).
table = boto3.resource("dynamodb").Table(os.environ.get("TABLE_NAME", "items"))


def lambda_handler(event, context):
    """Create, read, update, delete or list items:
    {"operation": "create", "id": "1", "item": {"title": "Learn Lambda"}}"""
    operation = event.get("operation")
    if operation == "list":
        return table.scan(Limit=50)["Items"]
    if operation not in ("create", "read", "update", "delete"):
        raise ValueError(f"Unknown operation {operation!r}: use create, read, update, delete or list")
    key = {"id": event["id"]}
    if operation == "create":
        item = {**event.get("item", {}), **key}
        table.put_item(Item=item)
        return {"created": item}
    if operation == "read":
        return table.get_item(Key=key).get("Item")
    if operation == "update":
        fields = event["item"]
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        result = table.update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return result["Attributes"]
    table.delete_item(Key=key)
    return {"deleted": event["id"]}
'''

PY_SQS = '''import json


def lambda_handler(event, context):
    """Process a batch of SQS messages. A message that fails is reported back, so (with
    ReportBatchItemFailures on the event source mapping) only it returns to the queue."""
    failures = []
    for record in event["Records"]:
        try:
            process(record)
        except Exception as error:
            print(f"Message {record['messageId']} failed: {error}")
            failures.append({"itemIdentifier": record["messageId"]})
    print(f"Processed {len(event['Records']) - len(failures)} of {len(event['Records'])} messages")
    return {"batchItemFailures": failures}


def process(record):
    body = record["body"]
    try:
        body = json.loads(body)
    except ValueError:
        pass  # plain text is fine too
    print(f"Message {record['messageId']}: {body}")
'''

PY_API = '''import base64
import json


def lambda_handler(event, context):
    """Answer an API Gateway (REST, proxy integration) request with a JSON response."""
    method = event.get("httpMethod")
    query = event.get("queryStringParameters") or {}
    if method == "GET":
        return respond(200, {"message": f"Hello, {query.get('name', 'world')}!", "path": event.get("path")})
    if method == "POST":
        body = event.get("body") or "{}"
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        try:
            data = json.loads(body)
        except ValueError:
            return respond(400, {"error": "The body must be JSON."})
        return respond(201, {"received": data, "path": event.get("path")})
    return respond(405, {"error": f"Method {method} is not allowed."})


def respond(status, body):
    # API Gateway expects exactly this shape back from a proxy integration.
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
'''

# --- Node.js ------------------------------------------------------------------------------------

JS_HELLO = """// Say hello: the smallest useful function. Everything logged lands in the logs.
export const handler = async (event, context) => {
  console.log("Received event:", JSON.stringify(event));
  const name = event?.name ?? "world";
  return { message: `Hello, ${name}!`, request_id: context.awsRequestId };
};
"""

JS_S3 = """// Runs when S3 reports new objects: log each one's bucket, key and size.
// (This lab's Node.js runtime has no AWS SDK; to read the object, bundle the SDK in your zip or
// sign the request yourself as the DynamoDB blueprint does.)
export const handler = async (event) => {
  const objects = event.Records.map((record) => {
    const bucket = record.s3.bucket.name;
    // Keys arrive URL-encoded in S3 events ("my+photo.jpg" is "my photo.jpg").
    const key = decodeURIComponent(record.s3.object.key.replace(/\\+/g, " "));
    console.log(`s3://${bucket}/${key}: ${record.s3.object.size} bytes (${record.eventName})`);
    return { bucket, key, size: record.s3.object.size };
  });
  return { objects };
};
"""

JS_DYNAMODB = """// Create, read, update, delete or list items of a DynamoDB table whose partition key is "id":
// {"operation": "create", "id": "1", "item": {"title": "Learn Lambda"}}
// This lab's Node.js runtime has no AWS SDK, so this file signs its requests (AWS Signature V4).
import { createHash, createHmac } from "node:crypto";
import { request } from "node:http";

const TABLE = process.env.TABLE_NAME ?? "items";

export const handler = async (event) => {
  const key = { id: { S: String(event.id) } };
  switch (event.operation) {
    case "list":
      return (await dynamodb("Scan", { TableName: TABLE, Limit: 50 })).Items.map(unmarshal);
    case "create": {
      const item = { ...event.item, id: String(event.id) };
      await dynamodb("PutItem", { TableName: TABLE, Item: marshal(item) });
      return { created: item };
    }
    case "read": {
      const result = await dynamodb("GetItem", { TableName: TABLE, Key: key });
      return result.Item ? unmarshal(result.Item) : null;
    }
    case "update": {
      const fields = Object.entries(event.item);
      const result = await dynamodb("UpdateItem", {
        TableName: TABLE,
        Key: key,
        UpdateExpression: "SET " + fields.map((_, i) => `#f${i} = :v${i}`).join(", "),
        ExpressionAttributeNames: Object.fromEntries(fields.map(([name], i) => [`#f${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(fields.map(([, value], i) => [`:v${i}`, toAttr(value)])),
        ReturnValues: "ALL_NEW",
      });
      return unmarshal(result.Attributes);
    }
    case "delete":
      await dynamodb("DeleteItem", { TableName: TABLE, Key: key });
      return { deleted: event.id };
    default:
      throw new Error(`Unknown operation ${event.operation}: use create, read, update, delete or list`);
  }
};

// DynamoDB's typed values <-> plain JavaScript.
const toAttr = (v) =>
  v === null ? { NULL: true }
  : typeof v === "string" ? { S: v }
  : typeof v === "number" ? { N: String(v) }
  : typeof v === "boolean" ? { BOOL: v }
  : Array.isArray(v) ? { L: v.map(toAttr) }
  : { M: marshal(v) };
const marshal = (object) => Object.fromEntries(Object.entries(object).map(([k, v]) => [k, toAttr(v)]));
const fromAttr = (attr) => {
  const [type, v] = Object.entries(attr)[0];
  if (type === "N") return Number(v);
  if (type === "NULL") return null;
  if (type === "L") return v.map(fromAttr);
  return type === "M" ? unmarshal(v) : v;
};
const unmarshal = (item) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, fromAttr(v)]));

// One DynamoDB API call, signed with the function's credentials (Signature Version 4).
async function dynamodb(action, params) {
  const url = new URL(process.env.AWS_ENDPOINT_URL.replace(/\\/?$/, "/"));
  const region = process.env.AWS_REGION;
  const body = JSON.stringify(params);
  const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\\.\\d+/, "");
  const scope = `${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request`;
  const headers = {
    "content-type": "application/x-amz-json-1.0",
    host: url.host,
    "x-amz-date": amzDate,
    "x-amz-target": `DynamoDB_20120810.${action}`,
  };
  if (process.env.AWS_SESSION_TOKEN) headers["x-amz-security-token"] = process.env.AWS_SESSION_TOKEN;
  const names = Object.keys(headers).sort();
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const hmac = (secret, text) => createHmac("sha256", secret).update(text).digest();
  const canonical = ["POST", url.pathname, "", ...names.map((n) => `${n}:${headers[n]}`), "", names.join(";")];
  canonical.push(sha256(body));
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical.join("\\n"))].join("\\n");
  let signingKey = "AWS4" + process.env.AWS_SECRET_ACCESS_KEY;
  for (const part of scope.split("/")) signingKey = hmac(signingKey, part);
  const signature = createHmac("sha256", signingKey).update(toSign).digest("hex");
  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID}/${scope}, ` +
    `SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const [status, text] = await post(url, headers, body);
  const result = JSON.parse(text);
  if (status !== 200) throw new Error(`${action} failed: ${result.__type ?? status}: ${result.message ?? ""}`);
  return result;
}

function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve([res.statusCode, Buffer.concat(chunks).toString("utf8")]));
    });
    req.on("error", reject);
    req.end(body);
  });
}
"""

JS_SQS = """// Process a batch of SQS messages. A message that fails is reported back, so (with
// ReportBatchItemFailures on the event source mapping) only it returns to the queue.
export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      await processMessage(record);
    } catch (error) {
      console.error(`Message ${record.messageId} failed: ${error.message}`);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  console.log(`Processed ${event.Records.length - batchItemFailures.length} of ${event.Records.length} messages`);
  return { batchItemFailures };
};

async function processMessage(record) {
  let body = record.body;
  try {
    body = JSON.parse(body);
  } catch {
    // plain text is fine too
  }
  console.log(`Message ${record.messageId}:`, body);
}
"""

JS_API = """// Answer an API Gateway (REST, proxy integration) request with a JSON response.
export const handler = async (event) => {
  const query = event.queryStringParameters ?? {};
  if (event.httpMethod === "GET") {
    return respond(200, { message: `Hello, ${query.name ?? "world"}!`, path: event.path });
  }
  if (event.httpMethod === "POST") {
    let body = event.body ?? "{}";
    if (event.isBase64Encoded) body = Buffer.from(body, "base64").toString("utf8");
    try {
      return respond(201, { received: JSON.parse(body), path: event.path });
    } catch {
      return respond(400, { error: "The body must be JSON." });
    }
  }
  return respond(405, { error: `Method ${event.httpMethod} is not allowed.` });
};

// API Gateway expects exactly this shape back from a proxy integration.
const respond = (statusCode, body) => ({
  statusCode,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});
"""


def _python(key: str, title: str, summary: str, source: str, test_event: str) -> Blueprint:
    return Blueprint(
        key=f"{key}-python",
        title=title,
        summary=summary,
        language="python",
        runtime=PYTHON_RUNTIME,
        filename="lambda_function.py",
        handler="lambda_function.lambda_handler",
        source=source,
        test_event=test_event,
    )


def _node(key: str, title: str, summary: str, source: str, test_event: str) -> Blueprint:
    return Blueprint(
        key=f"{key}-nodejs",
        title=title,
        summary=summary,
        language="javascript",
        runtime=NODE_RUNTIME,
        filename="index.mjs",
        handler="index.handler",
        source=source,
        test_event=test_event,
    )


_KINDS = [
    ("hello-world", "Hello world", "Returns a greeting and logs the event.", PY_HELLO, JS_HELLO, "hello-world"),
    ("s3-object", "S3 object handler", "Reacts to S3 \u201cobject created\u201d events.", PY_S3, JS_S3, "s3-put"),
    (
        "dynamodb-crud",
        "DynamoDB CRUD",
        "Creates, reads, updates, deletes and lists items of a table (TABLE_NAME).",
        PY_DYNAMODB,
        JS_DYNAMODB,
        "dynamodb-crud",
    ),
    ("sqs-consumer", "SQS consumer", "Processes a batch of queue messages, reporting failures.", PY_SQS, JS_SQS, "sqs"),
    ("api-handler", "API handler", "Answers API Gateway proxy requests with JSON.", PY_API, JS_API, "apigateway-proxy"),
]

BLUEPRINTS: dict[str, Blueprint] = {
    blueprint.key: blueprint
    for key, title, summary, py, js, event in _KINDS
    for blueprint in (_python(key, title, summary, py, event), _node(key, title, summary, js, event))
}


def blueprint_choices() -> list[tuple[str, str]]:
    return [(b.key, f"{b.title} ({'Python' if b.language == 'python' else 'Node.js'})") for b in BLUEPRINTS.values()]
