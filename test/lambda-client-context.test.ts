/**
 * Invoke's client context (X-Amz-Client-Context, base64 JSON) reaches the handler intact:
 * pretty-printed JSON, characters above U+00FF and control characters once ended the whole
 * server on a cold invoke (the decoded text went into a Runtime API header as it was).
 * Through the AWS CLI v2 and SDK v3, on cold and warm Node and Python functions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { createZip } from './helpers/zip-writer.js';
import { AWS_CLI, awsCli } from './helpers/clients.js';
import { json, openInvokeFixture, type InvokeFixture } from './helpers/lambda.js';

/** Returns what the Python runtime made of the client context. */
const PYTHON_CONTEXT = `
def handler(event, context):
    cc = context.client_context
    if cc is None:
        return {"clientContext": None}
    return {"clientContext": {"custom": cc.custom, "env": cc.env}}
`;

/** Objects that broke the Runtime API header, each as a client would send it. */
const CONTEXTS: { name: string; value: Record<string, unknown>; text: string }[] = [
  {
    name: 'pretty-printed, Latin-1',
    value: { custom: { name: 'Zoë' } },
    text: '{\n  "custom": {"name": "Zoë"}\n}',
  },
  {
    name: 'above U+00FF (an emoji, CJK)',
    value: { custom: { mood: '🙂', city: '東京' }, env: { locale: 'ja_JP' } },
    text: JSON.stringify(
      { custom: { mood: '🙂', city: '東京' }, env: { locale: 'ja_JP' } },
      null,
      2,
    ),
  },
  {
    name: 'control characters (escaped and a raw DEL)',
    value: { custom: { bell: '\u0001\u0007', del: '\u007f', tab: 'a\tb' } },
    text: '{"custom":{"bell":"\\u0001\\u0007","del":"\u007f","tab":"a\\tb"}}',
  },
];

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('Lambda invoke: the client context reaches the handler intact', () => {
  let fx: InvokeFixture;

  before(async () => {
    fx = await openInvokeFixture();
    await fx.create('cc-py', {
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Code: { ZipFile: createZip([{ name: 'app.py', data: PYTHON_CONTEXT }]) },
    });
  });
  after(() => fx.close());

  /** The AWS CLI v2's invoke; returns the function's answer. */
  async function cliInvoke(name: string, clientContext: string): Promise<unknown> {
    const out = join(fx.dir, `${name}-${Math.random()}.json`);
    const r = await awsCli(fx.server.endpoint, [
      'lambda',
      'invoke',
      '--function-name',
      name,
      '--client-context',
      clientContext,
      out,
    ]);
    assert.equal(r.code, 0, `${AWS_CLI}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { FunctionError?: string }).FunctionError, undefined);
    return JSON.parse(await readFile(out, 'utf8'));
  }

  async function sdkInvoke(name: string, clientContext: string): Promise<unknown> {
    const r = await fx.c.lambda.send(
      new InvokeCommand({ FunctionName: name, ClientContext: clientContext }),
    );
    assert.equal(r.FunctionError, undefined, String(json(r.Payload)));
    return json(r.Payload);
  }

  for (const [i, cc] of CONTEXTS.entries()) {
    test(`${cc.name}: Node, cold then warm, the CLI and the SDK`, async () => {
      // A fresh function per case: its first invoke is a cold one.
      await fx.create(`cc-node-${i}`);
      const cold = (await cliInvoke(`cc-node-${i}`, b64(cc.text))) as Record<string, unknown>;
      assert.deepEqual(cold.clientContext, cc.value);
      const warm = (await sdkInvoke(`cc-node-${i}`, b64(cc.text))) as Record<string, unknown>;
      assert.deepEqual(warm.clientContext, cc.value);
      assert.equal(warm.initId, cold.initId, 'the second invoke ran in the warm environment');

      await fx.create(`cc-node-sdk-${i}`);
      const sdkCold = (await sdkInvoke(`cc-node-sdk-${i}`, b64(cc.text))) as Record<
        string,
        unknown
      >;
      assert.deepEqual(sdkCold.clientContext, cc.value);
      const cliWarm = (await cliInvoke(`cc-node-sdk-${i}`, b64(cc.text))) as Record<
        string,
        unknown
      >;
      assert.deepEqual(cliWarm.clientContext, cc.value);
    });
  }

  test('Python: context.client_context carries the same objects', async () => {
    for (const cc of CONTEXTS) {
      const expected = { custom: cc.value.custom, env: cc.value.env ?? null };
      assert.deepEqual(await cliInvoke('cc-py', b64(cc.text)), { clientContext: expected });
      assert.deepEqual(await sdkInvoke('cc-py', b64(cc.text)), { clientContext: expected });
    }
  });

  test('a client context that is not base64 of a JSON object: InvalidRequestContentException', async () => {
    for (const bad of ['not base64!', b64('not json'), b64('[1,2]'), b64('"text"'), 'AAAA']) {
      const err = await sdkInvoke('echo', bad).then(
        () => assert.fail(`accepted ${bad}`),
        (e: unknown) =>
          e as { name: string; message: string; $metadata: { httpStatusCode: number } },
      );
      assert.equal(err.name, 'InvalidRequestContentException');
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.message, 'Client context must be a valid Base64-encoded JSON object.');
    }
    // The server is still there, and the function still runs.
    assert.deepEqual(
      ((await sdkInvoke('echo', b64('{"custom":{}}'))) as Record<string, unknown>).clientContext,
      { custom: {} },
    );
  });
});
