/**
 * Live Tail sessions over a real (ephemeral) store with the session limit shortened: the
 * stream ends with SessionTimeoutException, a session the client leaves stops listening,
 * and more than 500 events in a second are sampled down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../../storage/index.js';
import type { MetadataStore } from '../../storage/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { StartLiveTailResponseStream } from '../../api/logs/types.js';
import { LiveTailHub, liveTailOperations } from './live-tail.js';
import { logsOperations } from './provider.js';

const ctx: RequestContext = {
  requestId: 'req',
  account: '111111111111',
  region: 'us-east-1',
  accessKeyId: 'test',
  principal: { arn: 'arn:aws:iam::111111111111:root', userId: '111111111111' },
};
const scope = { account: ctx.account, region: ctx.region };

function events(stream: StartLiveTailResponseStream | undefined) {
  return stream as unknown as AsyncGenerator<StartLiveTailResponseStream>;
}

describe('Live Tail sessions', () => {
  let dir: string;
  let store: MetadataStore;
  let close: () => Promise<void>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stratus-tail-'));
    const storage = await openStorage({ stateDir: dir, ephemeral: true });
    store = storage.store;
    close = storage.close;
    await logsOperations({ store, now: Date.now }).CreateLogGroup({ logGroupName: '/t' }, ctx);
  });
  after(async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a session ends with SessionTimeoutException at its limit', async () => {
    const hub = new LiveTailHub();
    const ops = liveTailOperations(
      { store, now: Date.now, liveTail: hub },
      { sessionLimitMs: 50, updateIntervalMs: 10 },
    );
    const out = await ops.StartLiveTail({ logGroupIdentifiers: ['/t'] }, ctx);
    const kinds: string[] = [];
    for await (const e of events(out.responseStream)) kinds.push(Object.keys(e)[0]);
    assert.equal(kinds[0], 'sessionStart');
    assert.equal(kinds[kinds.length - 1], 'SessionTimeoutException');
    assert.ok(kinds.slice(1, -1).every((k) => k === 'sessionUpdate'));
    assert.equal(hub.sessions(scope), 0);
  });

  test('a session the client leaves stops listening; bursts are sampled to 500', async () => {
    const hub = new LiveTailHub();
    const ops = liveTailOperations(
      { store, now: Date.now, liveTail: hub },
      { sessionLimitMs: 3_600_000, updateIntervalMs: 10 },
    );
    const out = await ops.StartLiveTail({ logGroupIdentifiers: ['/t'] }, ctx);
    const it = events(out.responseStream);
    assert.ok((await it.next()).value?.sessionStart);
    assert.equal(hub.sessions(scope), 1);
    const burst = Array.from({ length: 1200 }, (_, i) => ({ timestamp: i, message: `m${i}` }));
    hub.appended(scope, '/t', 's', burst);
    hub.appended(scope, '/other', 's', burst);
    const update = (await it.next()).value?.sessionUpdate;
    assert.equal(update?.sessionMetadata?.sampled, true);
    assert.equal(update?.sessionResults?.length, 500);
    assert.equal(update?.sessionResults?.[0]?.message, 'm0');
    await it.return(undefined);
    assert.equal(hub.sessions(scope), 0);
  });

  test('a session whose stream is never read stops listening after five minutes', async () => {
    let now = 1_000_000;
    const hub = new LiveTailHub(() => now);
    const ops = liveTailOperations(
      { store, now: Date.now, liveTail: hub },
      { sessionLimitMs: 3_600_000, updateIntervalMs: 10 },
    );
    // The answer is never consumed (a HEAD request, a client gone before the answer).
    await ops.StartLiveTail({ logGroupIdentifiers: ['/t'] }, ctx);
    assert.equal(hub.sessions(scope), 1);
    now += 4 * 60_000;
    assert.equal(hub.sessions(scope), 1, 'still within its time');
    now += 2 * 60_000;
    hub.appended(scope, '/t', 's', [{ timestamp: 1, message: 'm' }]);
    assert.equal(hub.sessions(scope), 0, 'dropped: it no longer holds a session of the quota');
  });
});
