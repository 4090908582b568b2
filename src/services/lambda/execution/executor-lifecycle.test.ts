/**
 * The executor's environments over their lifetime: idle shutdown, retire(), revisions,
 * AWS_LAMBDA_EXEC_WRAPPER, reaping a crashed Stratus's runtimes, stop(), and pre-started
 * runtime processes that take the next cold start.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  ACCOUNT,
  REGION,
  isRunning,
  json,
  sleep,
  waitForPrestart,
  useExecutorHarness,
  request,
  spec,
} from '../../../../test/helpers/lambda-executor.js';

const harness = useExecutorHarness();
const { executor, logOf } = harness;

describe('environment lifecycle', () => {
  test('idle environments shut down after the keep-alive; their /tmp goes with them', async () => {
    const ex = executor({ idleTimeoutMs: 300 });
    const code = await harness.ws.dir('idle', {
      'index.js': `exports.handler = async () => require('os').tmpdir();`,
    });
    const fn = spec(code);
    const tmp = json(await ex.invoke(fn, request({}))) as string;
    assert.ok(existsSync(tmp));
    const deadline = Date.now() + 30_000;
    while (ex.environmentCount() > 0 && Date.now() < deadline) await sleep(50);
    assert.equal(ex.environmentCount(), 0);
    // The directory goes in the background once the environment is gone.
    const rmDeadline = Date.now() + 30_000;
    while (existsSync(tmp) && Date.now() < rmDeadline) await sleep(20);
    assert.equal(existsSync(tmp), false, 'private /tmp removed');
    assert.ok((await ex.invoke(fn, request({}))).initDurationMs !== undefined, 'cold again');
  });

  test('an environment past its maximum lifetime ends after its invocation, however busy', async () => {
    const ex = executor({ maxLifetimeMs: 1500 });
    const code = await harness.ws.dir('lifetime', {
      'index.js': `exports.handler = async () => process.pid;`,
    });
    const fn = spec(code);
    // Invoked back to back, never idle, until a third environment serves it: each ended
    // at its age after a run of invocations, and each new one was cold.
    const pids: number[] = [];
    let colds = 0;
    const deadline = Date.now() + 60_000;
    while (new Set(pids).size < 3 && Date.now() < deadline) {
      const outcome = await ex.invoke(fn, request({}));
      pids.push(json(outcome) as number);
      if (outcome.initDurationMs !== undefined) colds++;
    }
    const runs = pids.filter((pid, i) => i === 0 || pids[i - 1] !== pid);
    assert.equal(runs.length, 3, `environments in turn: ${runs.join(' ')}`);
    assert.equal(new Set(runs).size, 3, 'an ended environment came back');
    assert.equal(colds, 3);
    assert.ok(pids.length > 3, 'no environment served a second invocation');
    const gone = Date.now() + 30_000;
    while ((isRunning(runs[0]) || isRunning(runs[1])) && Date.now() < gone) await sleep(20);
    assert.equal(
      isRunning(runs[0]) || isRunning(runs[1]),
      false,
      'their runtime processes are gone',
    );
  });

  test('retire() shuts down every environment of a function', async () => {
    const ex = executor();
    const code = await harness.ws.dir('retire', {
      'index.js': `exports.handler = async () => process.pid;`,
    });
    const fn = spec(code, { functionName: 'to-retire' });
    const other = spec(code, { functionName: 'stays' });
    await Promise.all([
      ex.invoke(fn, request({})),
      ex.invoke(fn, request({})),
      ex.invoke(other, request({})),
    ]);
    assert.equal(ex.environmentCount(), 3);
    await ex.retire(ACCOUNT, REGION, 'to-retire');
    assert.equal((await ex.invoke(other, request({}))).initDurationMs, undefined);
    assert.ok((await ex.invoke(fn, request({}))).initDurationMs !== undefined);
  });

  test('a new revision never reuses an environment of the old one', async () => {
    const ex = executor();
    const v1 = await harness.ws.dir('rev-1', { 'index.js': `exports.handler = async () => 'v1';` });
    const v2 = await harness.ws.dir('rev-2', { 'index.js': `exports.handler = async () => 'v2';` });
    const fn1 = spec(v1, { functionName: 'revisions' });
    assert.equal(json(await ex.invoke(fn1, request({}))), 'v1');
    const fn2 = { ...fn1, codeDir: v2, revisionId: 'another' };
    assert.equal(json(await ex.invoke(fn2, request({}))), 'v2');
    assert.equal(json(await ex.invoke(fn1, request({}))), 'v1');
  });

  test('AWS_LAMBDA_EXEC_WRAPPER runs first, with the runtime command line', async () => {
    const ex = executor();
    const wrapperDir = await harness.ws.dir('wrapper', {
      'wrap.sh': '#!/bin/sh\nexport WRAPPED="yes: $(basename "$1")"\nexec "$@"\n',
    });
    const code = await harness.ws.dir('wrapped', {
      'index.js': `exports.handler = async () => process.env.WRAPPED;`,
    });
    const fn = spec(code, {
      environment: { AWS_LAMBDA_EXEC_WRAPPER: join(wrapperDir, 'wrap.sh') },
    });
    assert.equal(
      json(await ex.invoke(fn, request({}))),
      `yes: ${process.execPath.split('/').pop()}`,
    );
  });

  test('a new executor reaps the runtimes a crashed Stratus left behind', async () => {
    const root = join(harness.ws.root, 'orphans');
    const dir = join(root, 'deadbeefdeadbeef');
    await mkdir(join(dir, 'tmp'), { recursive: true });
    const orphan = spawn('sleep', ['60'], {
      env: { PATH: process.env.PATH, TMPDIR: join(dir, 'tmp') },
      detached: true,
      stdio: 'ignore',
    });
    orphan.unref();
    // An owner pid that is not running.
    let deadOwner = 4_000_000;
    while (isRunning(deadOwner)) deadOwner--;
    await writeFile(join(dir, 'owner'), `${deadOwner} ${orphan.pid}\n`);
    const exited = new Promise((r) => orphan.once('exit', r));
    executor({ tmpRoot: root });
    await exited;
    const deadline = Date.now() + 30_000;
    while (existsSync(dir) && Date.now() < deadline) await sleep(20);
    assert.equal(existsSync(dir), false);
  });

  test('stop() ends every runtime process and removes the environments', async () => {
    const ex = executor();
    const code = await harness.ws.dir('stop', {
      'index.js': `exports.handler = async () => process.pid;`,
    });
    const pid = json(await ex.invoke(spec(code), request({}))) as number;
    await ex.stop();
    assert.equal(ex.environmentCount(), 0);
    assert.throws(() => process.kill(pid, 0));
  });
});

describe('pre-started runtime processes', () => {
  test('a cold start takes a pre-started process that then serves its own function', async () => {
    const root = join(harness.ws.root, 'prestart-envs');
    const ex = executor({ prestart: { node: 1, python: 1 }, prestartNow: true, tmpRoot: root });
    const layer = await harness.ws.dir('prestart-layer', {
      'nodejs/node_modules/layer-mod/index.js': `module.exports = 'layer ok';`,
      'python/py_layer_mod.py': 'V = "py layer ok"\n',
    });
    const nodeCode = await harness.ws.dir('prestart-node', {
      'index.js': `exports.handler = async () => ({
        mod: require('layer-mod'), name: process.env.AWS_LAMBDA_FUNCTION_NAME,
        prestart: process.env.STRATUS_PRESTART ?? null, cwd: process.cwd(),
        tmp: require('os').tmpdir(), stream: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
        pid: process.pid,
      });`,
    });
    const pyCode = await harness.ws.dir('prestart-py', {
      'app.py': `import os, tempfile, py_layer_mod
def handler(e, c):
    return {"mod": py_layer_mod.V, "name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "prestart": os.environ.get("STRATUS_PRESTART"), "cwd": os.getcwd(), "pid": os.getpid()}
`,
    });
    const prestarted = await waitForPrestart(root, 2);
    const nodeFn = spec(nodeCode, { functionName: 'pre-node', layerDirs: [layer] });
    const o = await ex.invoke(nodeFn, request({}));
    assert.equal(o.kind, 'success', o.payload.toString());
    const r = json(o) as Record<string, string | number | null>;
    assert.ok(prestarted.has(r.pid as number), 'served by a process started before the call');
    assert.equal(r.mod, 'layer ok');
    assert.equal(r.name, 'pre-node');
    assert.equal(r.prestart, null);
    assert.equal(r.cwd, nodeCode);
    assert.ok(String(r.tmp).startsWith(root));
    assert.ok(o.initDurationMs !== undefined);
    const [log] = await logOf(ex, nodeFn.logGroupName);
    assert.equal(log.stream, r.stream);
    assert.match(log.lines.at(-1) ?? '', /\tInit Duration: /);

    const pyFn = spec(pyCode, {
      functionName: 'pre-py',
      runtime: 'python3.12',
      handler: 'app.handler',
      layerDirs: [layer],
    });
    const p = await ex.invoke(pyFn, request({}));
    assert.equal(p.kind, 'success', p.payload.toString());
    const pr = json(p) as Record<string, unknown>;
    assert.ok(prestarted.has(pr.pid as number), 'served by a process started before the call');
    assert.deepEqual(
      { ...pr, pid: undefined },
      { mod: 'py layer ok', name: 'pre-py', prestart: null, cwd: pyCode, pid: undefined },
    );
  });
});
