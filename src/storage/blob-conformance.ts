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
      'list yields every stored blob with its size',
      withStore(async (store) => {
        const a = await store.put(Buffer.from('first'));
        const b = await store.put(randomBytes(5000));
        const seen = new Map<string, number>();
        for await (const blob of store.list()) {
          seen.set(blob.digest, blob.size);
          assert.ok(blob.modifiedAt > 0);
        }
        assert.deepEqual(
          seen,
          new Map([
            [a.digest, a.size],
            [b.digest, b.size],
          ]),
        );
        await store.delete(a.digest);
        const after: string[] = [];
        for await (const blob of store.list()) after.push(blob.digest);
        assert.deepEqual(after, [b.digest]);
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

    describe('uploads', () => {
      test(
        'create, append in pieces (buffers, streams, strings), size, list, commit',
        withStore(async (store) => {
          const { uploads } = store;
          const id = await uploads.create();
          assert.match(id, UUID);
          assert.equal(await uploads.size(id), 0);
          const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
          const whole = Buffer.concat([parts[0], parts[1], parts[2], Buffer.from('abcd')]);

          assert.equal(await uploads.append(id, parts[0], 0), 1000);
          assert.equal(await uploads.size(id), 1000);
          assert.equal(await uploads.append(id, Readable.from([parts[1], parts[2]]), 1000), 71_003);
          assert.equal(await uploads.append(id, Readable.from(['ab', 'cd']), 71_003), 71_007);
          assert.equal(await uploads.append(id, Buffer.alloc(0), 71_007), 71_007);
          assert.equal(await uploads.size(id), whole.length);
          const listed = (await uploads.list()).find((u) => u.id === id);
          assert.equal(listed?.size, whole.length);
          assert.ok(Math.abs((listed?.modifiedAt ?? 0) - Date.now()) < 60_000, 'modifiedAt in ms');

          const digest = sha256(whole);
          assert.deepEqual(await uploads.commit(id, digest), { digest, size: whole.length });
          assert.deepEqual(await store.read(digest), whole);
          // Committed: the id is unknown now.
          assert.equal(await uploads.size(id), undefined);
          assert.equal(
            (await uploads.list()).find((u) => u.id === id),
            undefined,
          );
          await assert.rejects(uploads.append(id, Buffer.from('x'), whole.length), isNotFound);
          await assert.rejects(uploads.commit(id), isNotFound);
          assert.equal(await uploads.abort(id), false);

          // Ids are not reused, and an upload of content already stored commits to it.
          const again = await uploads.create();
          assert.notEqual(again, id);
          await uploads.append(again, Readable.from([whole.subarray(0, 5), whole.subarray(5)]), 0);
          assert.deepEqual(await uploads.commit(again), { digest, size: whole.length });
          assert.deepEqual(await store.read(digest), whole);
          assert.equal(await uploads.size(again), undefined);
        }),
      );

      test(
        'an empty upload commits to the empty digest',
        withStore(async (store) => {
          const id = await store.uploads.create();
          const info = await store.uploads.commit(id, EMPTY_DIGEST);
          assert.deepEqual(info, { digest: EMPTY_DIGEST, size: 0 });
          assert.deepEqual(await store.read(EMPTY_DIGEST), Buffer.alloc(0));
        }),
      );

      test(
        'a digest mismatch keeps the upload, which can go on, be committed or be aborted',
        withStore(async (store) => {
          const { uploads } = store;
          const first = randomBytes(100_000);
          const wrong = sha256(Buffer.from('something else'));
          const id = await uploads.create();
          await uploads.append(id, first, 0);
          await assert.rejects(uploads.commit(id, wrong), (err) => {
            const e = err as { code?: unknown; expected?: unknown; actual?: unknown };
            return (
              e.code === 'DIGEST_MISMATCH' && e.expected === wrong && e.actual === sha256(first)
            );
          });
          await assert.rejects(uploads.commit(id, 'sha256:nope'), isInvalidDigest);
          assert.equal(await uploads.size(id), first.length);
          assert.equal(await store.stat(sha256(first)), undefined);
          assert.equal(await store.stat(wrong), undefined);

          const rest = randomBytes(10);
          await uploads.append(id, rest, first.length);
          const whole = Buffer.concat([first, rest]);
          assert.deepEqual(await uploads.commit(id, sha256(whole)), {
            digest: sha256(whole),
            size: whole.length,
          });
          assert.deepEqual(await store.read(sha256(whole)), whole);

          const other = await uploads.create();
          await uploads.append(other, first, 0);
          await assert.rejects(uploads.commit(other, wrong), { code: 'DIGEST_MISMATCH' });
          assert.equal(await uploads.abort(other), true);
          assert.equal(await uploads.size(other), undefined);
          assert.equal(await uploads.abort(other), false);
          await assert.rejects(uploads.append(other, first, first.length), isNotFound);
          assert.equal(await store.stat(sha256(first)), undefined);
        }),
      );

      test(
        'an append at the wrong offset writes nothing and says where the upload ends',
        withStore(async (store) => {
          const { uploads } = store;
          const id = await uploads.create();
          const isOffset = (expected: number, actual: number) => (err: unknown) => {
            const e = err as { code?: unknown; expected?: unknown; actual?: unknown };
            return e.code === 'UPLOAD_OFFSET' && e.expected === expected && e.actual === actual;
          };
          await assert.rejects(uploads.append(id, Buffer.from('abc'), 5), isOffset(0, 5));
          assert.equal(await uploads.size(id), 0);
          await uploads.append(id, Buffer.from('0123456789'), 0);
          await assert.rejects(uploads.append(id, Buffer.from('abc'), 0), isOffset(10, 0));
          await assert.rejects(uploads.append(id, Readable.from(['abc']), 11), isOffset(10, 11));
          await assert.rejects(uploads.append(id, Buffer.from('abc'), 9), isOffset(10, 9));
          assert.equal(await uploads.size(id), 10);
          assert.deepEqual(await uploads.commit(id), {
            digest: sha256(Buffer.from('0123456789')),
            size: 10,
          });
        }),
      );

      test(
        'unknown and malformed ids are unknown uploads and never reach the storage',
        withStore(async (store) => {
          const { uploads } = store;
          const real = await uploads.create();
          const ids = [
            '00000000-0000-4000-8000-000000000000',
            '../x',
            '../tmp',
            '../sha256',
            '.',
            '',
            real.toUpperCase(),
            `${real}/`,
            `${real}/../${real}`,
            ` ${real}`,
            `${real}\n`,
            `../uploads/${real}`,
          ];
          for (const id of ids) {
            assert.equal(await uploads.size(id), undefined, id);
            await assert.rejects(uploads.append(id, Buffer.from('x'), 0), isNotFound, id);
            await assert.rejects(uploads.commit(id), isNotFound, id);
            assert.equal(await uploads.abort(id), false, id);
          }
          // The real upload was not touched through any of them.
          assert.equal(await uploads.size(real), 0);
          assert.deepEqual(
            (await uploads.list()).map((u) => u.id),
            [real],
          );
        }),
      );

      test(
        'appends, commit and abort of one upload are serialised',
        withStore(async (store) => {
          const { uploads } = store;
          const a = Array.from({ length: 8 }, () => randomBytes(16 * 1024));
          const b = randomBytes(5000);
          const whole = Buffer.concat([...a, b]);
          const aLength = whole.length - b.length;
          const id = await uploads.create();
          // Started together: the second waits for the slow first one, then fits at its end;
          // the commit waits for both.
          const results = await Promise.all([
            uploads.append(id, Readable.from(slowly(a)), 0),
            uploads.append(id, b, aLength),
            uploads.commit(id, sha256(whole)),
          ]);
          assert.deepEqual(results, [
            aLength,
            whole.length,
            { digest: sha256(whole), size: whole.length },
          ]);
          assert.deepEqual(await store.read(sha256(whole)), whole);

          // Two appends at the same offset: exactly one lands.
          const race = await uploads.create();
          const outcomes = await Promise.allSettled([
            uploads.append(race, Readable.from(slowly(a)), 0),
            uploads.append(race, b, 0),
          ]);
          assert.equal(outcomes[0].status, 'fulfilled');
          assert.equal(outcomes[1].status, 'rejected');
          assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, 'UPLOAD_OFFSET');
          assert.equal(await uploads.size(race), aLength);

          // An abort queued behind an append waits for it, then removes the upload.
          const aborted = await uploads.create();
          const [appended, wasThere] = await Promise.all([
            uploads.append(aborted, Readable.from(slowly(a)), 0),
            uploads.abort(aborted),
          ]);
          assert.equal(appended, aLength);
          assert.equal(wasThere, true);
          assert.equal(await uploads.size(aborted), undefined);

          // Different uploads do not wait for each other, and do not mix.
          const [x, y] = [await uploads.create(), await uploads.create()];
          await Promise.all([
            uploads.append(x, Readable.from(slowly(a)), 0),
            uploads.append(y, Readable.from(slowly([b, b])), 0),
          ]);
          assert.equal((await uploads.commit(x)).digest, sha256(Buffer.concat(a)));
          assert.equal((await uploads.commit(y)).digest, sha256(Buffer.concat([b, b])));
        }),
      );

      test(
        'a source stream that fails midway leaves the bytes written, and the upload resumes',
        withStore(async (store) => {
          const { uploads } = store;
          const failure = new Error('client went away');
          const parts = [randomBytes(30_000), randomBytes(40_000)];
          async function* broken() {
            yield parts[0];
            yield parts[1];
            throw failure;
          }
          const id = await uploads.create();
          await assert.rejects(
            uploads.append(id, Readable.from(broken()), 0),
            (e) => e === failure,
          );
          assert.equal(await uploads.size(id), 70_000);
          const rest = randomBytes(12_345);
          assert.equal(await uploads.append(id, Readable.from([rest]), 70_000), 82_345);
          const whole = Buffer.concat([...parts, rest]);
          assert.deepEqual(await uploads.commit(id, sha256(whole)), {
            digest: sha256(whole),
            size: whole.length,
          });
          assert.deepEqual(await store.read(sha256(whole)), whole);
        }),
      );

      test(
        'reset removes uploads too',
        withStore(async (store) => {
          const id = await store.uploads.create();
          await store.uploads.append(id, Buffer.from('partial'), 0);
          await store.reset();
          assert.equal(await store.uploads.size(id), undefined);
          assert.deepEqual(await store.uploads.list(), []);
          await assert.rejects(store.uploads.commit(id), isNotFound);
          const fresh = await store.uploads.create();
          await store.uploads.append(fresh, Buffer.from('after'), 0);
          assert.equal((await store.uploads.commit(fresh)).digest, sha256(Buffer.from('after')));
        }),
      );
    });
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EMPTY_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const isNotFound = (err: unknown) => (err as { code?: unknown }).code === 'UPLOAD_NOT_FOUND';
const isInvalidDigest = (err: unknown) => (err as { code?: unknown }).code === 'INVALID_DIGEST';

/** Yields the chunks with a macrotask between them, so that concurrent calls interleave. */
async function* slowly(chunks: Buffer[]): AsyncGenerator<Buffer> {
  for (const chunk of chunks) {
    await new Promise((resolve) => setTimeout(resolve, 2));
    yield chunk;
  }
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
