import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { BlobStore } from './types.js';

/**
 * The behaviour every BlobStore backend must share (local files today, an object store
 * later). `open` returns a fresh, empty store; `dispose` (optional) releases it.
 */
export function runBlobConformance(
  name: string,
  open: () => Promise<BlobStore>,
  dispose?: (store: BlobStore) => Promise<void>,
): void {
  const withStore = (fn: (store: BlobStore) => Promise<void>) => async () => {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await dispose?.(store);
    }
  };

  describe(`BlobStore conformance: ${name}`, () => {
    test(
      'put a buffer, then stat / read / get / delete',
      withStore(async (store) => {
        const data = Buffer.from('hello, blob');
        const info = await store.put(data);
        assert.deepEqual(info, { digest: sha256(data), size: data.length });
        assert.deepEqual(await store.stat(info.digest), info);
        assert.deepEqual(await store.read(info.digest), data);
        assert.deepEqual(await collect(await store.get(info.digest)), data);
        // Same content again: same address, nothing changes.
        assert.deepEqual(await store.put(Buffer.from('hello, blob'), info.digest), info);

        assert.equal(await store.delete(info.digest), true);
        assert.equal(await store.delete(info.digest), false);
        assert.equal(await store.stat(info.digest), undefined);
        assert.equal(await store.read(info.digest), undefined);
        assert.equal(await store.get(info.digest), undefined);
      }),
    );

    test(
      'put a stream (buffers or strings) with and without the expected digest',
      withStore(async (store) => {
        const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
        const whole = Buffer.concat(parts);
        const digest = sha256(whole);
        assert.deepEqual(await store.put(Readable.from(parts)), { digest, size: whole.length });
        assert.deepEqual(await store.put(Readable.from(parts), digest), {
          digest,
          size: whole.length,
        });
        assert.deepEqual(await store.read(digest), whole);

        const text = await store.put(Readable.from(['ab', 'cd']));
        assert.equal(text.digest, sha256(Buffer.from('abcd')));

        const empty = await store.put(Buffer.alloc(0));
        assert.deepEqual(empty, {
          digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          size: 0,
        });
        assert.deepEqual(await store.read(empty.digest), Buffer.alloc(0));
        assert.deepEqual(await store.put(Readable.from([])), empty);
      }),
    );

    test(
      'get with a byte range (inclusive end, as HTTP Range)',
      withStore(async (store) => {
        const data = randomBytes(200_000);
        const { digest } = await store.put(data);
        const range = async (start: number, end?: number) =>
          collect(await store.get(digest, { start, end }));
        assert.deepEqual(await range(0), data);
        assert.deepEqual(await range(10), data.subarray(10));
        assert.deepEqual(await range(10, 19), data.subarray(10, 20));
        assert.deepEqual(await range(5, 5), data.subarray(5, 6));
        assert.deepEqual(await range(199_990, 500_000), data.subarray(199_990));
        assert.deepEqual(await range(100_000, 199_999), data.subarray(100_000));
        assert.equal((await range(200_000)).length, 0);
        await assert.rejects(range(10, 9), RangeError);
        await assert.rejects(range(-1), RangeError);
        await assert.rejects(range(0.5), RangeError);
      }),
    );

    test(
      'digests are validated strictly (no path traversal, one canonical form)',
      withStore(async (store) => {
        const hex = 'a'.repeat(64);
        const bad = [
          '',
          hex,
          `sha256:${'A'.repeat(64)}`,
          `sha256:${hex}0`,
          `sha256:${hex.slice(1)}`,
          `sha512:${hex}`,
          `sha256:../../../../etc/passwd`,
          `sha256:${'a'.repeat(62)}/x`,
          `sha256:${hex}\n`,
          ` sha256:${hex}`,
        ];
        const isInvalid = (err: unknown) => (err as { code?: unknown }).code === 'INVALID_DIGEST';
        for (const digest of bad) {
          await assert.rejects(store.stat(digest), isInvalid, digest);
          await assert.rejects(store.read(digest), isInvalid, digest);
          await assert.rejects(store.get(digest), isInvalid, digest);
          await assert.rejects(store.delete(digest), isInvalid, digest);
          await assert.rejects(store.put(Buffer.from('x'), digest), isInvalid, digest);
        }
        assert.equal(await store.stat(`sha256:${hex}`), undefined);
      }),
    );

    test(
      'a wrong expected digest stores nothing',
      withStore(async (store) => {
        const data = randomBytes(100_000);
        const actual = sha256(data);
        const wrong = sha256(Buffer.from('something else'));
        const isMismatch = (err: unknown) => {
          const e = err as { code?: unknown; expected?: unknown; actual?: unknown };
          return e.code === 'DIGEST_MISMATCH' && e.expected === wrong && e.actual === actual;
        };
        await assert.rejects(store.put(data, wrong), isMismatch);
        await assert.rejects(
          store.put(Readable.from([data.subarray(0, 10), data.subarray(10)]), wrong),
          isMismatch,
        );
        assert.equal(await store.stat(actual), undefined);
        assert.equal(await store.stat(wrong), undefined);
      }),
    );

    test(
      'a failing source stream stores nothing and rejects with its error',
      withStore(async (store) => {
        const failure = new Error('client went away');
        const data = randomBytes(1000);
        async function* broken() {
          yield data;
          throw failure;
        }
        await assert.rejects(store.put(Readable.from(broken())), (err) => err === failure);
        assert.equal(await store.stat(sha256(data)), undefined);
      }),
    );

    test(
      'concurrent puts of the same content all succeed with the same blob',
      withStore(async (store) => {
        const chunks = Array.from({ length: 16 }, () => randomBytes(64 * 1024));
        const whole = Buffer.concat(chunks);
        const digest = sha256(whole);
        const results = await Promise.all([
          ...Array.from({ length: 8 }, () => store.put(Readable.from(chunks))),
          ...Array.from({ length: 4 }, () => store.put(whole, digest)),
        ]);
        for (const info of results) assert.deepEqual(info, { digest, size: whole.length });
        assert.deepEqual(await store.read(digest), whole);
      }),
    );

    test(
      'a 50 MB streamed put does not buffer the stream in memory',
      withStore(async (store) => {
        const chunkSize = 64 * 1024;
        const total = 50 * 1024 * 1024;
        // Chunks are views of one 1 MiB buffer, so producing them allocates no memory:
        // any growth of arrayBuffers is the store's own buffering.
        const pattern = randomBytes(1024 * 1024);
        const chunkAt = (offset: number) =>
          pattern.subarray(offset % pattern.length, (offset % pattern.length) + chunkSize);
        const expected = createHash('sha256');
        for (let off = 0; off < total; off += chunkSize) expected.update(chunkAt(off));
        const digest = `sha256:${expected.digest('hex')}`;

        const baseline = process.memoryUsage().arrayBuffers;
        let peak = baseline;
        async function* source() {
          for (let off = 0; off < total; off += chunkSize) {
            peak = Math.max(peak, process.memoryUsage().arrayBuffers);
            yield chunkAt(off);
          }
        }
        const sampler = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        }, 2);
        let info;
        try {
          info = await store.put(Readable.from(source()), digest);
        } finally {
          clearInterval(sampler);
        }
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
        assert.deepEqual(info, { digest, size: total });
        const growth = peak - baseline;
        assert.ok(growth < 16 * 1024 * 1024, `arrayBuffers grew by ${growth} bytes`);

        // Reading it back streams too, and yields the same bytes.
        const readBack = createHash('sha256');
        let size = 0;
        for await (const chunk of (await store.get(digest)) as Readable) {
          readBack.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        assert.equal(size, total);
        assert.equal(`sha256:${readBack.digest('hex')}`, digest);
        assert.deepEqual(await store.stat(digest), { digest, size: total });
      }),
    );

    test(
      'reset removes every blob',
      withStore(async (store) => {
        const a = await store.put(Buffer.from('a'));
        const b = await store.put(Buffer.from('b'));
        await store.reset();
        assert.equal(await store.stat(a.digest), undefined);
        assert.equal(await store.stat(b.digest), undefined);
        assert.deepEqual(await store.put(Buffer.from('a')), a);
        assert.deepEqual(await store.read(a.digest), Buffer.from('a'));
      }),
    );
  });
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function collect(stream: Readable | undefined): Promise<Buffer> {
  assert.ok(stream !== undefined, 'blob should exist');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
