/**
 * The Logs Insights language: parsing (with the offsets of compile errors) and running
 * queries over records built from events as the scan builds them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryExecution } from './engine.js';
import { QuerySyntaxError } from './lexer.js';
import { parseQuery } from './parser.js';
import { recordOf } from './record.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const REPORT =
  'REPORT RequestId: 3f2b7a0e-1111-2222-3333-444455556666\tDuration: 12.34 ms\t' +
  'Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\tInit Duration: 100.5 ms\t';

function events(): { timestamp: number; message: string; stream: string }[] {
  const out = [];
  for (let i = 0; i < 20; i++) {
    out.push({
      timestamp: T0 + i * 25_000,
      stream: i % 2 ? 'a' : 'b',
      message:
        i % 3 === 0
          ? JSON.stringify({ level: 'ERROR', n: i, req: { ms: i * 2, tags: ['x', 'y'] } })
          : `user=u${i % 4} action=login took ${i}ms`,
    });
  }
  out.push({ timestamp: T0 + 1, stream: 'a', message: REPORT });
  return out;
}

/** Runs a query over the fixture events; rows as objects. */
function run(query: string, limit = 10_000): Record<string, string>[] {
  const exec = new QueryExecution(parseQuery(query), limit);
  events().forEach((e, i) =>
    exec.add(
      recordOf({
        account: '111111111111',
        group: '/app',
        stream: e.stream,
        timestamp: e.timestamp,
        ingestionTime: e.timestamp,
        message: e.message,
        ptr: `p${i}`,
      }),
    ),
  );
  return exec.finish().rows.map((r) => Object.fromEntries(r.map((f) => [f.field, f.value])));
}

function syntaxError(query: string): QuerySyntaxError {
  try {
    parseQuery(query);
  } catch (err) {
    if (err instanceof QuerySyntaxError) return err;
    throw err;
  }
  assert.fail(`no error for ${query}`);
}

describe('Logs Insights language', () => {
  test('stats count(*) by bin(1m) counts each minute of events', () => {
    const expected = new Map<string, number>();
    for (const e of events()) {
      const bin = new Date(Math.floor(e.timestamp / 60_000) * 60_000).toISOString();
      const key = bin.replace('T', ' ').replace('Z', '');
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const rows = run('stats count(*) by bin(1m)');
    assert.deepEqual(
      rows,
      [...expected].map(([bin, n]) => ({ 'bin(1m)': bin, 'count(*)': String(n) })),
    );
  });

  test('fields, filter on JSON paths, sort, limit and @ptr', () => {
    const rows = run(
      'fields @timestamp, n, req.ms as ms | filter level = "ERROR" and req.ms >= 12 | sort n desc | limit 2',
    );
    assert.deepEqual(
      rows.map((r) => [r.n, r.ms, r['@timestamp']]),
      [
        ['18', '36', '2024-05-01 12:07:30.000'],
        ['15', '30', '2024-05-01 12:06:15.000'],
      ],
    );
    assert.ok(rows.every((r) => r['@ptr'] !== undefined));
    assert.equal(run('filter req.tags.1 = "y" | stats count(*) as c')[0].c, '7');
  });

  test('parse (glob and regex), stats functions and sort of parsed numbers', () => {
    const rows = run(
      'parse @message "user=* action=* took *ms" as user, action, took ' +
        '| filter ispresent(user) | stats count(*) as c, sum(took) as s, min(took) as lo, max(took) as hi, ' +
        'pct(took, 50) as p50 by user | sort user asc',
    );
    assert.deepEqual(rows, [
      { user: 'u0', c: '3', s: '28', lo: '4', hi: '16', p50: '8' },
      { user: 'u1', c: '4', s: '36', lo: '1', hi: '17', p50: '5' },
      { user: 'u2', c: '3', s: '26', lo: '2', hi: '14', p50: '10' },
      { user: 'u3', c: '3', s: '37', lo: '7', hi: '19', p50: '11' },
    ]);
    const re = run(
      'parse @message /user=(?<u>\\w+)/ | filter u in ["u1", "u2"] and not u like "3" ' +
        '| stats count_distinct(u) as d, earliest(u) as first, latest(u) as last',
    );
    assert.deepEqual(re, [{ d: '2', first: 'u1', last: 'u1' }]);
  });

  test("Lambda's REPORT fields, arithmetic and stddev", () => {
    const rows = run(
      'filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as mb, avg(@duration) as d, ' +
        'sum(@initDuration) as init, max(@maxMemoryUsed) as used, count(@requestId) as n',
    );
    assert.deepEqual(rows, [{ mb: '128', d: '12.34', init: '100.5', used: '64000000', n: '1' }]);
    assert.equal(run('filter ispresent(n) | stats stddev(n) as sd')[0].sd, '6.48074069840786');
  });

  test('scalar functions, dedup and display', () => {
    const rows = run(
      'fields toupper(substr(@message, 0, 4)) as head, strlen(@message) as len, ' +
        'concat(tolower("A"), replace("x-y", "-", "+")) as c, abs(-2.5) as a, ceil(1.2) as up, ' +
        'floor(1.8) as down, trim("  t ") as t, coalesce(missing, "d") as co, ' +
        'isempty("") as e, toMillis(@timestamp) as ms, fromMillis(0) as epoch ' +
        '| dedup head | display head, c, a, up, down, t, co, e, epoch',
    );
    assert.equal(rows.length, 3);
    assert.deepEqual(
      rows.map((r) => r.head),
      ['USER', '{"LE', 'REPO'],
    );
    const { c, a, up, down, t, co, e, epoch } = rows[0];
    assert.deepEqual(
      { c, a, up, down, t, co, e, epoch },
      {
        c: 'ax+y',
        a: '2.5',
        up: '2',
        down: '1',
        t: 't',
        co: 'd',
        e: 'true',
        epoch: '1970-01-01 00:00:00.000',
      },
    );
    const dated = run('stats count(*) as n by datefloor(@timestamp, 5m) as t | sort t desc');
    assert.deepEqual(
      dated.map((r) => [r.t, r.n]),
      [
        ['2024-05-01 12:05:00.000', '8'],
        ['2024-05-01 12:00:00.000', '13'],
      ],
    );
  });

  test('regex filters with (?i), comparison and boolean logic', () => {
    assert.equal(run('filter @message like /(?i)LOGIN/ | stats count(*) as n')[0].n, '13');
    assert.equal(run('filter @message =~ /took 1\\d+ms/ | stats count(*) as n')[0].n, '7');
    assert.equal(
      run('filter (n > 5 and n < 15) or @logStream = "a" and n = 3 | stats count(*) as n')[0].n,
      '4',
    );
    assert.equal(run('filter n not in [0, 3] and ispresent(n) | stats count(*) as n')[0].n, '5');
    assert.equal(run('fields @message | limit 5', 3).length, 3);
    assert.deepEqual(
      run('filter ispresent(n) | stats count(*) by n % 2 as odd | sort count(*) desc | limit 1'),
      [{ odd: '0', 'count(*)': '4' }],
    );
  });

  test('a limit without sort keeps only the newest records while scanning', () => {
    const exec = new QueryExecution(parseQuery('fields @message | limit 3'), 10_000);
    for (let i = 0; i < 5000; i++) {
      // Streams are scanned one after the other: timestamps do not arrive in order.
      const t = T0 + ((i * 7919) % 5000);
      exec.add(
        recordOf({
          account: '1',
          group: '/g',
          stream: 's',
          timestamp: t,
          ingestionTime: t,
          message: String(t - T0),
          ptr: String(i),
        }),
      );
    }
    const rows = exec.finish().rows.map((r) => r.find((f) => f.field === '@message')?.value);
    assert.deepEqual(rows, ['4999', '4998', '4997']);
    assert.equal(exec.matched, 5000);
  });

  test('malformed queries point at the offending text', () => {
    const cases: [string, number, number, RegExp][] = [
      ['stats count(*) by', 17, 17, /end of query/],
      ['fields @message | bogus x', 18, 23, /unknown command 'bogus'/],
      ['filter x == 1', 10, 11, /unexpected '='/],
      ['limit 20000', 6, 11, /limit must be between 1 and 10000/],
      ['stats foo(x)', 6, 9, /unknown function 'foo'/],
      ['stats count(*) by sum(x)', 18, 24, /only allowed in stats/],
      ['fields strlen(a, b)', 7, 19, /strlen takes 1 argument/],
      ['filter (a = 1', 13, 13, /expected '\)'/],
      ['parse @message "a=* b=*" as a', 15, 29, /2 wildcards but 1 fields/],
      ['filter @message like /(unclosed/', 21, 32, /invalid regular expression/],
    ];
    for (const [query, start, end, message] of cases) {
      const err = syntaxError(query);
      assert.deepEqual([err.start, err.end], [start, end], query);
      assert.match(err.message, message, query);
    }
  });
});
