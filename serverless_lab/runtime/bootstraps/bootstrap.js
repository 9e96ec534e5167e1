// Node.js runtime of an execution environment: a Lambda Runtime API client.
//
// Loads the handler named by _HANDLER (CommonJS, or ESM from .mjs / "type": "module"), then loops
// GET /invocation/next -> handler -> POST /response or /error.  Handlers may be async (the promise
// settles the invocation) or callback-style (callback(err, result); with
// context.callbackWaitsForEmptyEventLoop, the default, the result is sent once the event loop is
// empty, as on AWS).  A non-async handler that never calls back returns null when the loop drains.
// Log lines and error documents follow the AWS Node.js runtime.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API = '/2018-06-01/runtime';
const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let currentRequestId;

function request(method, urlPath, body, errorType) {
  const data = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const headers = { 'Content-Length': data.length };
  if (errorType) headers['Lambda-Runtime-Function-Error-Type'] = errorType;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: apiHost, port: apiPort, method, path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
    };
  }
}

class RuntimeError extends Error {
  constructor(errorType, message) {
    super(message);
    this.name = errorType;
  }
}

function errorDocument(err) {
  if (err instanceof Error) {
    return { errorType: err.name, errorMessage: err.message, trace: err.stack ? err.stack.split('\n') : [] };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

function logError(label, doc) {
  const { errorType, errorMessage, trace } = doc;
  console.error(`${label} \t${JSON.stringify({ errorType, errorMessage, stack: trace })}`);
}

async function loadHandler(name) {
  const root = process.env.LAMBDA_TASK_ROOT;
  const slash = name.lastIndexOf('/') + 1;
  const match = name.slice(slash).match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const moduleName = name.slice(0, slash) + match[1];
  const file = ['.js', '.mjs', '.cjs'].map((ext) => path.join(root, moduleName + ext)).find((f) => fs.existsSync(f));
  if (!file) throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  let mod;
  try {
    if (file.endsWith('.mjs')) {
      mod = await import(pathToFileURL(file).href);
    } else {
      try {
        mod = require(file);
      } catch (err) {
        if (err.code !== 'ERR_REQUIRE_ESM') throw err;
        mod = await import(pathToFileURL(file).href);
      }
    }
  } catch (err) {
    if (err instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `SyntaxError: ${err.message}`);
    if (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${err.message}`);
    }
    throw err;
  }
  let handler = match[2].split('.').reduce((obj, key) => (obj == null ? undefined : obj[key]), mod);
  if (handler === undefined && mod && mod.default) {
    handler = match[2].split('.').reduce((obj, key) => (obj == null ? undefined : obj[key]), mod.default);
  }
  if (typeof handler !== 'function') {
    throw new RuntimeError('Runtime.HandlerNotFound', `${moduleName}.${match[2]} is undefined or not exported`);
  }
  return handler;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: headers['lambda-runtime-client-context'] ? JSON.parse(headers['lambda-runtime-client-context']) : undefined,
    identity: headers['lambda-runtime-cognito-identity'] ? JSON.parse(headers['lambda-runtime-cognito-identity']) : undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// Resolves with {value} or {error} once the invocation is settled the way AWS settles it.
function invoke(handler, event, context) {
  return new Promise((resolve) => {
    let settled = false;
    let pending = { value: null };
    const onEmptyLoop = () => settle(pending);
    const settle = (outcome) => {
      if (settled) return;
      settled = true;
      process.removeListener('beforeExit', onEmptyLoop);
      resolve(outcome);
    };
    const callback = (err, value) => {
      if (err !== undefined && err !== null) settle({ error: err });
      else if (!context.callbackWaitsForEmptyEventLoop) settle({ value });
      else pending = { value };
    };
    context.done = callback;
    context.succeed = (value) => callback(null, value);
    context.fail = (err) => callback(err || new Error('handled'));
    process.on('beforeExit', onEmptyLoop);
    try {
      const result = handler(event, context, callback);
      if (result && typeof result.then === 'function') {
        result.then((value) => settle({ value }), (error) => settle({ error: error === undefined ? new Error('undefined') : error }));
      }
    } catch (error) {
      settle({ error });
    }
  });
}

async function postError(requestId, err) {
  const doc = errorDocument(err);
  logError('Invoke Error', doc);
  await request('POST', `${API}/invocation/${requestId}/error`, JSON.stringify(doc), doc.errorType);
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER);
  } catch (err) {
    const doc = errorDocument(err);
    logError('Uncaught Exception', doc);
    await request('POST', `${API}/init/error`, JSON.stringify(doc), doc.errorType);
    process.exit(129);
  }
  for (;;) {
    const next = await request('GET', `${API}/invocation/next`);
    const headers = next.headers;
    const requestId = (currentRequestId = headers['lambda-runtime-aws-request-id']);
    if (headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
    } catch (err) {
      await postError(requestId, new RuntimeError('Runtime.UnmarshalError', `Unable to unmarshal input: ${err.message}`));
      continue;
    }
    const outcome = await invoke(handler, event, makeContext(headers));
    if ('error' in outcome) {
      await postError(requestId, outcome.error);
      continue;
    }
    let payload;
    try {
      payload = JSON.stringify(outcome.value === undefined ? null : outcome.value);
    } catch (err) {
      await postError(requestId, new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${err.message}`));
      continue;
    }
    await request('POST', `${API}/invocation/${requestId}/response`, payload);
  }
}

// An exception escaping the handler's own promise chain ends the environment, as on AWS.
for (const event of ['uncaughtException', 'unhandledRejection']) {
  process.on(event, (err) => {
    const doc = errorDocument(err);
    if (event === 'unhandledRejection') doc.errorType = 'Runtime.UnhandledPromiseRejection';
    logError(event === 'unhandledRejection' ? 'Unhandled Promise Rejection' : 'Uncaught Exception', doc);
    const done = () => process.exit(128);
    if (currentRequestId === undefined) return done();
    request('POST', `${API}/invocation/${currentRequestId}/error`, JSON.stringify(doc), doc.errorType).then(done, done);
  });
}

main();
