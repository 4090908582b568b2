/**
 * Lambda Extensions API and Telemetry API through SDK v3: a Node extension in a layer
 * registers for INVOKE and SHUTDOWN, subscribes to the Telemetry API and writes what it
 * gets to its output, which Lambda puts in the function's log; the test reads it there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PublishLayerVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { createZip } from './helpers/zip-writer.js';
import {
  eventually,
  json,
  logMessages,
  openInvokeFixture,
  type InvokeFixture,
} from './helpers/lambda.js';

/**
 * The extension: registers, subscribes an HTTP listener on the sandbox to platform and
 * function telemetry, and logs each event and telemetry item it receives (as `EXT …`).
 */
const RECORDER = `#!${process.execPath}
const http = require('node:http');
const api = process.env.AWS_LAMBDA_RUNTIME_API;
function call(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: api.split(':')[0], port: api.split(':')[1], method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const listener = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    for (const e of JSON.parse(Buffer.concat(chunks).toString())) {
      console.log('EXT telemetry ' + e.type + ' ' + (typeof e.record === 'string' ? e.record : JSON.stringify(e.record)));
    }
    res.end('ok');
  });
});
listener.listen(0, '127.0.0.1', async () => {
  const reg = await call('POST', '/2020-01-01/extension/register',
    { 'Lambda-Extension-Name': 'recorder', 'Lambda-Extension-Accept-Feature': 'accountId' },
    JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }));
  const id = reg.headers['lambda-extension-identifier'];
  console.log('EXT registered ' + reg.status + ' ' + reg.body);
  const sub = await call('PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id },
    JSON.stringify({
      schemaVersion: '2022-12-13',
      destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:' + listener.address().port },
      types: ['platform', 'function'],
      buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 },
    }));
  console.log('EXT subscribed ' + sub.status + ' ' + sub.body);
  for (;;) {
    const next = await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });
    const event = JSON.parse(next.body);
    if (event.eventType === 'SHUTDOWN') {
      console.log('EXT event SHUTDOWN ' + event.shutdownReason + ' ' + (event.deadlineMs - Date.now() > 0));
      process.exit(0);
    }
    console.log('EXT event INVOKE ' + event.requestId + ' ' + event.invokedFunctionArn + ' ' + event.tracing.type);
    // Post-invoke work: counts in the invocation's Duration.
    await new Promise((r) => setTimeout(r, 300));
  }
});
`;

/** Calls the APIs wrongly, logs each answer's status and errorType, then behaves. */
const PROBER = `#!${process.execPath}
const http = require('node:http');
const api = process.env.AWS_LAMBDA_RUNTIME_API;
function call(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: api.split(':')[0], port: api.split(':')[1], method, path, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let type = '';
        try { type = JSON.parse(text).errorType || ''; } catch {}
        resolve({ status: res.statusCode, headers: res.headers, type });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
const REG = '/2020-01-01/extension/register';
(async () => {
  const log = (what, r) => console.log('PROBE ' + what + ' ' + r.status + ' ' + r.type);
  log('no-name', await call('POST', REG, {}, '{"events":["INVOKE"]}'));
  log('bad-event', await call('POST', REG, { 'Lambda-Extension-Name': 'prober' }, '{"events":["NOPE"]}'));
  const ok = await call('POST', REG, { 'Lambda-Extension-Name': 'prober' }, '{"events":["INVOKE"]}');
  const id = ok.headers['lambda-extension-identifier'];
  log('twice', await call('POST', REG, { 'Lambda-Extension-Name': 'prober' }, '{"events":["INVOKE"]}'));
  log('no-id', await call('GET', '/2020-01-01/extension/event/next', {}));
  log('unknown-id', await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': 'nope' }));
  log('bad-telemetry', await call('PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id },
    JSON.stringify({ schemaVersion: '2022-12-13', destination: { protocol: 'HTTP', URI: 'http://example.com:1' }, types: ['platform'] })));
  log('bad-buffering', await call('PUT', '/2022-07-01/telemetry', { 'Lambda-Extension-Identifier': id },
    JSON.stringify({ schemaVersion: '2022-12-13', destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:1' }, types: ['platform'], buffering: { timeoutMs: 1 } })));
  console.log('PROBE done');
  for (;;) await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id });
})();
`;

const HANDLER = `
exports.handler = async (event, context) => {
  console.log('hello from handler ' + context.awsRequestId);
  return { requestId: context.awsRequestId };
};
`;

describe('Lambda extensions and telemetry', () => {
  let fx: InvokeFixture;
  let layerArn: string;

  before(async () => {
    fx = await openInvokeFixture();
    const layer = await fx.c.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'recorder-ext',
        Content: {
          ZipFile: createZip([
            { name: 'extensions/' },
            { name: 'extensions/recorder', data: RECORDER, mode: 0o755 },
          ]),
        },
      }),
    );
    layerArn = layer.LayerVersionArn as string;
  });
  after(() => fx.close());

  test('an extension in a layer gets INVOKE and SHUTDOWN, and telemetry carries the logs', async () => {
    await fx.create('with-ext', {
      Code: { ZipFile: createZip([{ name: 'index.js', data: HANDLER }]) },
      Layers: [layerArn],
    });
    const out = await fx.invoke('with-ext', {});
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    const { requestId } = json(out.Payload) as { requestId: string };

    const group = '/aws/lambda/with-ext';
    const has = (lines: string[], text: string) => lines.some((l) => l.includes(text));
    const lines = await eventually('the telemetry of the function log line', async () => {
      const got = await logMessages(fx.c.logs, group);
      return has(got, `EXT telemetry function`) &&
        has(got, `hello from handler ${requestId}`) &&
        has(got, 'EXT telemetry platform.report') &&
        has(got, `REPORT RequestId: ${requestId}`) &&
        has(got, `EXT event INVOKE ${requestId}`)
        ? got
        : undefined;
    });
    assert.ok(
      has(
        lines,
        'EXT registered 200 {"functionName":"with-ext","functionVersion":"$LATEST","handler":"index.handler","accountId":"000000000000"}',
      ),
    );
    assert.ok(has(lines, 'EXT subscribed 200 OK'));
    assert.ok(
      has(
        lines,
        `EXT event INVOKE ${requestId} arn:aws:lambda:us-east-1:000000000000:function:with-ext X-Amzn-Trace-Id`,
      ),
    );
    assert.ok(has(lines, 'EXT telemetry platform.initStart'));
    assert.ok(has(lines, `EXT telemetry platform.start {"requestId":"${requestId}"`));
    assert.ok(
      lines.some(
        (l) =>
          l.startsWith('EXT telemetry function ') && l.includes(`hello from handler ${requestId}`),
      ),
    );
    // The first invocation's INVOKE reached the extension: INIT waited for its registration.
    // Its 300 ms of post-invoke work are in the REPORT's Duration.
    const report = lines.find((l) => l.startsWith(`REPORT RequestId: ${requestId}`)) ?? '';
    const duration = Number(/\tDuration: ([\d.]+) ms/.exec(report)?.[1]);
    // (libuv timers may fire up to 1 ms early by performance.now(): a margin, not 300.)
    assert.ok(duration >= 290, `Duration ${duration} counts the extension's time: ${report}`);

    // A configuration change retires the environment: SHUTDOWN with reason spindown.
    await fx.c.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'with-ext', Description: 'changed' }),
    );
    await eventually('the SHUTDOWN event in the log', async () => {
      const got = await logMessages(fx.c.logs, group);
      return has(got, 'EXT event SHUTDOWN spindown true') ? got : undefined;
    });
  });

  test("bad Extensions and Telemetry API calls get AWS's error types", async () => {
    const layer = await fx.c.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'prober-ext',
        Content: {
          ZipFile: createZip([
            { name: 'extensions/' },
            { name: 'extensions/prober', data: PROBER, mode: 0o755 },
          ]),
        },
      }),
    );
    await fx.create('probed', {
      Code: { ZipFile: createZip([{ name: 'index.js', data: HANDLER }]) },
      Layers: [layer.LayerVersionArn as string],
    });
    const out = await fx.invoke('probed', {});
    assert.equal(out.FunctionError, undefined);
    const lines = await eventually('the probe results', async () => {
      const got = await logMessages(fx.c.logs, '/aws/lambda/probed');
      return got.some((l) => l.startsWith('PROBE done')) ? got : undefined;
    });
    const probe = (what: string) => lines.find((l) => l.startsWith(`PROBE ${what} `));
    assert.match(probe('no-name') ?? '', / 403 Extension\.InvalidExtensionName$/);
    assert.match(probe('bad-event') ?? '', / 403 Extension\.InvalidEventType$/);
    assert.match(probe('no-id') ?? '', / 403 Extension\.MissingHeader$/);
    assert.match(probe('unknown-id') ?? '', / 403 Extension\.UnknownExtensionIdentifier$/);
    assert.match(probe('twice') ?? '', / 403 Extension\.AlreadyRegistered$/);
    assert.match(probe('bad-telemetry') ?? '', / 400 ValidationError$/);
    assert.match(probe('bad-buffering') ?? '', / 400 ValidationError$/);
  });

  test('an extension that exits before registering fails INIT with Extension.Crash', async () => {
    const layer = await fx.c.lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'crashing-ext',
        Content: {
          ZipFile: createZip([
            { name: 'extensions/' },
            { name: 'extensions/crasher', data: '#!/bin/sh\necho crashing\nexit 3\n', mode: 0o755 },
          ]),
        },
      }),
    );
    await fx.create('crashing-ext', {
      Code: { ZipFile: createZip([{ name: 'index.js', data: HANDLER }]) },
      Layers: [layer.LayerVersionArn as string],
    });
    const out = await fx.invoke('crashing-ext', {});
    assert.equal(out.FunctionError, 'Unhandled');
    const body = json(out.Payload) as { errorType: string; errorMessage: string };
    assert.equal(body.errorType, 'Extension.Crash');
    assert.match(body.errorMessage, /extension crasher exited before registering: exit status 3/);
  });
});
