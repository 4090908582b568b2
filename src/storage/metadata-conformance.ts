import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Item, ListOptions, MetadataStore } from './types.js';

/**
 * The behaviour every MetadataStore backend must share (SQLite today, PostgreSQL later).
 * Call it from a backend's test file; `open` must return a fresh, empty store each time.
 */
export function runMetadataConformance(name: string, open: () => Promise<MetadataStore>): void {
  const withStore = (fn: (store: MetadataStore) => Promise<void>) => async () => {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  describe(`MetadataStore conformance: ${name}`, () => {
    test(
      'get / put / insert / delete',
      withStore(async (store) => {
        assert.equal(await store.get('t', 'missing'), undefined);
        await store.put('t', 'a', {
          n: 1,
          s: 'x',
          list: [1, 'two', null, true],
          nested: { ok: true },
        });
        assert.deepEqual(await store.get('t', 'a'), {
          n: 1,
          s: 'x',
          list: [1, 'two', null, true],
          nested: { ok: true },
        });
        await store.put('t', 'a', 'replaced');
        assert.equal(await store.get('t', 'a'), 'replaced');
        for (const scalar of [0, -1.5, '', 'text', true, false, null]) {
          await store.put('t', 'scalar', scalar);
          assert.equal(await store.get('t', 'scalar'), scalar);
        }

        assert.equal(await store.insert('t', 'b', { v: 1 }), true);
        assert.equal(await store.insert('t', 'b', { v: 2 }), false);
        assert.deepEqual(await store.get('t', 'b'), { v: 1 });

        // Tables are separate namespaces.
        assert.equal(await store.get('other', 'a'), undefined);
        await store.put('other', 'a', 'other-a');
        assert.equal(await store.get('t', 'a'), 'replaced');

        assert.equal(await store.delete('t', 'a'), true);
        assert.equal(await store.delete('t', 'a'), false);
        assert.equal(await store.get('t', 'a'), undefined);
        assert.equal(await store.get('other', 'a'), 'other-a');
      }),
    );

    test(
      'Dates and Buffers round-trip, also nested and through list',
      withStore(async (store) => {
        const when = new Date('2024-02-29T12:34:56.789Z');
        const doc = {
          created: when,
          history: [{ at: new Date(0) }, { at: new Date(when.getTime() + 1) }],
          bytes: Buffer.from([0, 1, 2, 255]),
          plain: 'x',
        };
        await store.put('dates', 'k', doc);
        const back = await store.get<typeof doc>('dates', 'k');
        assert.ok(back !== undefined);
        assert.ok(back.created instanceof Date);
        assert.equal(back.created.getTime(), when.getTime());
        assert.ok(back.history[0]?.at instanceof Date);
        assert.equal(back.history[1]?.at.getTime(), when.getTime() + 1);
        assert.ok(Buffer.isBuffer(back.bytes));
        assert.deepEqual([...back.bytes], [0, 1, 2, 255]);
        assert.equal(back.plain, 'x');

        await store.put('dates', 'top', when);
        const top = await store.get<Date>('dates', 'top');
        assert.ok(top instanceof Date && top.getTime() === when.getTime());

        const [item] = await store.list<typeof doc>('dates', { limit: 1 });
        assert.equal(item?.key, 'k');
        assert.ok(item.value.created instanceof Date);

        // Strings that look like the encoding stay strings.
        await store.put('dates', 's', { text: '{"$date":1}', $other: 1 });
        assert.deepEqual(await store.get('dates', 's'), { text: '{"$date":1}', $other: 1 });
      }),
    );

    test(
      'deletePrefix and count',
      withStore(async (store) => {
        for (const key of ['a/1', 'a/2', 'a/3', 'ab', 'b/1']) await store.put('t', key, key);
        await store.put('u', 'a/1', 'u');
        assert.equal(await store.count('t'), 5);
        assert.equal(await store.count('t', 'a/'), 3);
        assert.equal(await store.count('t', 'a'), 4);
        assert.equal(await store.count('t', 'zz'), 0);
        assert.equal(await store.count('empty'), 0);

        assert.equal(await store.deletePrefix('t', 'a/'), 3);
        assert.equal(await store.deletePrefix('t', 'a/'), 0);
        assert.deepEqual(
          (await store.list('t')).map((i) => i.key),
          ['ab', 'b/1'],
        );
        assert.equal(await store.get('u', 'a/1'), 'u');
        // The empty prefix covers the whole table, and only that table.
        assert.equal(await store.deletePrefix('t', ''), 2);
        assert.equal(await store.count('t'), 0);
        assert.equal(await store.count('u'), 1);
      }),
    );

    test(
      'list: keys in UTF-8 byte order with prefix / after / before / reverse / limit',
      withStore(async (store) => {
        for (const key of KEYS) await store.put('l', key, { k: key });
        await store.put('l-other', 'a', 'noise');
        await store.put('k', 'a', 'noise');

        const all = await store.list<{ k: string }>('l');
        assert.deepEqual(
          all.map((i) => i.key),
          sortedKeys(KEYS),
        );
        for (const item of all) assert.deepEqual(item.value, { k: item.key });

        // Exhaustive-ish comparison against a reference model.
        const bounds = ['', 'a', 'a/', 'a/b', 'a/b/2', 'b', 'é', '\uffff', '\u{1f600}', 'zz'];
        let checked = 0;
        const random = lcg(42);
        for (let i = 0; i < 400; i++) {
          const options: ListOptions = {};
          const pick = () => bounds[Math.floor(random() * bounds.length)] as string;
          if (random() < 0.6) options.prefix = pick();
          if (random() < 0.4) options.after = pick();
          if (random() < 0.4) options.before = pick();
          if (random() < 0.5) options.reverse = true;
          if (random() < 0.5) options.limit = Math.floor(random() * 5);
          const got = (await store.list('l', options)).map((item) => item.key);
          assert.deepEqual(got, expectedKeys(KEYS, options), JSON.stringify(options));
          checked++;
        }
        assert.equal(checked, 400);
      }),
    );

    test(
      'list: paging forward with after and backward with before',
      withStore(async (store) => {
        for (const key of KEYS) await store.put('p', key, key);
        await store.put('p', 'zz-outside', 1);
        const prefixed = sortedKeys(KEYS.filter((k) => k.startsWith('a/')));
        assert.ok(prefixed.length > 5);

        const forward: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page: Item[] = await store.list('p', { prefix: 'a/', after, limit: 2 });
          forward.push(...page.map((i) => i.key));
          if (page.length < 2) break;
          after = page[page.length - 1]?.key;
        }
        assert.deepEqual(forward, prefixed);

        const backward: string[] = [];
        let before: string | undefined;
        for (;;) {
          const page: Item[] = await store.list('p', {
            prefix: 'a/',
            before,
            limit: 3,
            reverse: true,
          });
          backward.push(...page.map((i) => i.key));
          if (page.length < 3) break;
          before = page[page.length - 1]?.key;
        }
        assert.deepEqual(backward, [...prefixed].reverse());
      }),
    );

    test(
      'transaction: commits all writes and returns the body result',
      withStore(async (store) => {
        await store.put('tx', 'gone', 1);
        const result = await store.transaction(async (tx) => {
          await tx.put('tx', 'a', 1);
          assert.equal(await tx.insert('tx', 'b', 2), true);
          assert.equal(await tx.delete('tx', 'gone'), true);
          // A transaction reads its own writes.
          assert.equal(await tx.get('tx', 'a'), 1);
          assert.equal(await tx.count('tx'), 2);
          assert.deepEqual(
            (await tx.list('tx')).map((i) => i.key),
            ['a', 'b'],
          );
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal(await store.get('tx', 'a'), 1);
        assert.equal(await store.get('tx', 'b'), 2);
        assert.equal(await store.get('tx', 'gone'), undefined);
      }),
    );

    test(
      'transaction: a throw inside writes nothing and rethrows',
      withStore(async (store) => {
        await store.put('atom', 'keep', 'before');
        await store.put('atom', 'p/1', 1);
        const boom = new Error('boom');
        await assert.rejects(
          store.transaction(async (tx) => {
            await tx.put('atom', 'new', 1);
            await tx.put('atom', 'keep', 'after');
            await tx.insert('atom', 'inserted', 1);
            await tx.deletePrefix('atom', 'p/');
            assert.equal(await tx.get('atom', 'keep'), 'after');
            throw boom;
          }),
          (err) => err === boom,
        );
        assert.equal(await store.get('atom', 'new'), undefined);
        assert.equal(await store.get('atom', 'inserted'), undefined);
        assert.equal(await store.get('atom', 'keep'), 'before');
        assert.equal(await store.get('atom', 'p/1'), 1);
        // The store is usable afterwards.
        await store.transaction((tx) => tx.put('atom', 'later', 1));
        assert.equal(await store.get('atom', 'later'), 1);
      }),
    );

    test(
      'transaction: concurrent readers never see uncommitted or rolled-back writes',
      withStore(async (store) => {
        for (const outcome of ['commit', 'rollback'] as const) {
          const table = `iso-${outcome}`;
          let openGate!: () => void;
          const gate = new Promise<void>((resolve) => (openGate = resolve));
          let markWritten!: () => void;
          const written = new Promise<void>((resolve) => (markWritten = resolve));
          const done = store.transaction(async (tx) => {
            await tx.put(table, 'k', 'uncommitted');
            markWritten();
            await gate;
            if (outcome === 'rollback') throw new Error('rollback');
          });
          await written;

          let gateOpened = false;
          const reads = [
            store.get(table, 'k').then((v) => ({ v, late: gateOpened })),
            store.list(table).then((items) => ({ v: items[0]?.value, late: gateOpened })),
            store
              .count(table)
              .then((n) => ({ v: n === 0 ? undefined : 'counted', late: gateOpened })),
          ];
          for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
          gateOpened = true;
          openGate();
          await done.catch(() => undefined);
          for (const { v, late } of await Promise.all(reads)) {
            if (outcome === 'rollback' || !late) assert.equal(v, undefined);
          }
          const after = await store.get(table, 'k');
          assert.equal(after, outcome === 'commit' ? 'uncommitted' : undefined);
        }
      }),
    );

    test(
      'transaction: 50 concurrent read-modify-write transactions do not lose updates',
      withStore(async (store) => {
        await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.transaction(async (tx) => {
              const n = (await tx.get<number>('ctr', 'n')) ?? 0;
              await tx.get('ctr', 'unrelated');
              await tx.put('ctr', `by-${i}`, n);
              await tx.put('ctr', 'n', n + 1);
            }),
          ),
        );
        assert.equal(await store.get('ctr', 'n'), 50);
        // Each saw a distinct previous value: they ran one after another.
        const seen = (await store.list<number>('ctr', { prefix: 'by-' })).map((i) => i.value);
        assert.deepEqual(
          seen.sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i),
        );
      }),
    );

    test(
      'transaction: plain writes issued meanwhile are not lost; tx is unusable after the end',
      withStore(async (store) => {
        let leaked: { put(t: string, k: string, v: unknown): Promise<void> } | undefined;
        let plain: Promise<void> | undefined;
        await store.transaction(async (tx) => {
          leaked = tx;
          await tx.put('mix', 'tx', 1);
          plain = store.put('mix', 'plain', 2);
          await tx.put('mix', 'tx2', 3);
        });
        await plain;
        assert.deepEqual(
          (await store.list('mix')).map((i) => [i.key, i.value]),
          [
            ['plain', 2],
            ['tx', 1],
            ['tx2', 3],
          ],
        );
        await assert.rejects(leaked!.put('mix', 'late', 1));
        assert.equal(await store.get('mix', 'late'), undefined);
      }),
    );

    test(
      'reset wipes every table',
      withStore(async (store) => {
        await store.put('a', '1', 1);
        await store.put('b', '2', 2);
        await store.reset();
        assert.equal(await store.count('a'), 0);
        assert.equal(await store.get('b', '2'), undefined);
        await store.put('a', '1', 'again');
        assert.equal(await store.get('a', '1'), 'again');
      }),
    );
  });
}

/** Keys chosen to expose UTF-16 vs UTF-8 ordering differences and prefix edge cases. */
const KEYS = [
  'a',
  'a/',
  'a/a',
  'a/b',
  'a/b/1',
  'a/b/2',
  'a/c',
  'a0',
  'ab',
  'b',
  'B',
  'z',
  'é',
  'é/1',
  '\ue000',
  '\uffff',
  '\uffff\u{10000}',
  '\u{1f600}',
  '\u{1f600}/x',
  '\u{10ffff}',
  '~',
  ' space',
];

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortedKeys(keys: string[]): string[] {
  return [...keys].sort(utf8Compare);
}

function expectedKeys(keys: string[], o: ListOptions): string[] {
  let out = sortedKeys(keys).filter(
    (k) =>
      (o.prefix === undefined || k.startsWith(o.prefix)) &&
      (o.after === undefined || utf8Compare(k, o.after) > 0) &&
      (o.before === undefined || utf8Compare(k, o.before) < 0),
  );
  if (o.reverse) out = out.reverse();
  return o.limit === undefined ? out : out.slice(0, o.limit);
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
