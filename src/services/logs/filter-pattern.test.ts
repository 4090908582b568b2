import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFilterPattern, FilterPatternError } from './filter-pattern.js';

/** The messages of `lines` the pattern selects. */
function select(pattern: string | undefined, lines: readonly string[]): string[] {
  const m = compileFilterPattern(pattern);
  return lines.filter((l) => m(l));
}

const LINES = [
  '[ERROR 400] BAD REQUEST',
  '[ERROR 401] UNAUTHORIZED REQUEST',
  '[WARN] disk almost full',
  'INFO all good',
  'error: lower case',
  'java.lang.NullPointerException at Foo.bar',
  'ERROR Exception thrown in worker',
];

describe('term patterns', () => {
  test('an empty or blank pattern matches every event', () => {
    assert.deepEqual(select(undefined, LINES), LINES);
    assert.deepEqual(select('', LINES), LINES);
    assert.deepEqual(select('   ', LINES), LINES);
  });

  test('a single term matches case-sensitively, also inside longer words', () => {
    assert.deepEqual(select('ERROR', LINES), [LINES[0], LINES[1], LINES[6]]);
    assert.deepEqual(select('error', LINES), [LINES[4]]);
    // "Warm Up Finished with 0 invoke errors" matches `error` on AWS too.
    assert.deepEqual(select('Exception', LINES), [LINES[5], LINES[6]]);
  });

  test('several terms must all appear, in any order', () => {
    assert.deepEqual(select('ERROR Exception', LINES), [LINES[6]]);
    assert.deepEqual(select('Exception ERROR', LINES), [LINES[6]]);
    assert.deepEqual(select('REQUEST 401', LINES), [LINES[1]]);
  });

  test('a quoted phrase matches exactly, spaces and punctuation included', () => {
    assert.deepEqual(select('"BAD REQUEST"', LINES), [LINES[0]]);
    assert.deepEqual(select('"[WARN]"', LINES), [LINES[2]]);
    assert.deepEqual(select('"REQUEST BAD"', LINES), []);
    assert.deepEqual(select('"say \\"hi\\""', ['they say "hi"', 'say hi']), ['they say "hi"']);
  });

  test('?terms match any of them', () => {
    assert.deepEqual(select('?WARN ?INFO', LINES), [LINES[2], LINES[3]]);
    assert.deepEqual(select('?"BAD REQUEST" ?full', LINES), [LINES[0], LINES[2]]);
  });

  test('-term excludes events that contain it', () => {
    assert.deepEqual(select('ERROR -401', LINES), [LINES[0], LINES[6]]);
    assert.deepEqual(select('-ERROR', LINES), [LINES[2], LINES[3], LINES[4], LINES[5]]);
    assert.deepEqual(select('ERROR -"BAD REQUEST" -Exception', LINES), [LINES[1]]);
  });

  test('unbalanced quotes and dangling operators are invalid', () => {
    for (const bad of ['"unterminated', 'ERROR "x', '?', 'a - b', 'foo"bar', '"a"b']) {
      assert.throws(() => compileFilterPattern(bad), FilterPatternError, bad);
    }
  });
});

describe('regular expression patterns', () => {
  test('%regex% matches anywhere in the message', () => {
    assert.deepEqual(select('%AUTHORIZED%', LINES), [LINES[1]]);
    assert.deepEqual(select('%[Ee]rror%', LINES), [LINES[4]]);
    assert.deepEqual(select('%^\\[ERROR 40[01]\\]%', LINES), [LINES[0], LINES[1]]);
  });

  test('parentheses are not supported and broken expressions are invalid', () => {
    for (const bad of ['%(a|b)%', '%[a-%', '%%']) {
      assert.throws(() => compileFilterPattern(bad), FilterPatternError, bad);
    }
  });
});

describe('JSON patterns', () => {
  const J = [
    JSON.stringify({ level: 'error', latency: 250, user: { id: 'u1', admin: true }, tags: ['a'] }),
    JSON.stringify({ level: 'info', latency: 50, user: { id: 'u2', admin: false } }),
    JSON.stringify({ level: 'error', latency: 99, user: null }),
    'not json at all { $.level = "error" }',
    '[{"level":"error"}]',
  ];

  test('string equality and inequality, with and without quotes', () => {
    assert.deepEqual(select('{ $.level = "error" }', J), [J[0], J[2]]);
    assert.deepEqual(select('{$.level=error}', J), [J[0], J[2]]);
    assert.deepEqual(select('{ $.level != "error" }', J), [J[1]]);
    assert.deepEqual(select('{ $.user.id = "u2" }', J), [J[1]]);
  });

  test('wildcards in string values', () => {
    assert.deepEqual(select('{ $.level = "err*" }', J), [J[0], J[2]]);
    assert.deepEqual(select('{ $.user.id = * }', J), [J[0], J[1]]);
  });

  test('numeric comparisons', () => {
    assert.deepEqual(select('{ $.latency > 100 }', J), [J[0]]);
    assert.deepEqual(select('{ $.latency <= 99 }', J), [J[1], J[2]]);
    assert.deepEqual(select('{ $.latency = 50 }', J), [J[1]]);
    assert.deepEqual(select('{ $.latency != 50 }', J), [J[0], J[2]]);
    // A number never equals a string.
    assert.deepEqual(select('{ $.level > 1 }', J), []);
  });

  test('&&, || and parentheses', () => {
    assert.deepEqual(select('{ $.level = "error" && $.latency > 100 }', J), [J[0]]);
    assert.deepEqual(select('{ $.latency < 60 || $.latency > 200 }', J), [J[0], J[1]]);
    assert.deepEqual(
      select('{ ($.level = "info" || $.latency > 200) && $.user.admin IS FALSE }', J),
      [J[1]],
    );
  });

  test('IS TRUE / FALSE / NULL, NOT EXISTS and array indexes', () => {
    assert.deepEqual(select('{ $.user.admin IS TRUE }', J), [J[0]]);
    assert.deepEqual(select('{ $.user IS NULL }', J), [J[2]]);
    assert.deepEqual(select('{ $.tags NOT EXISTS }', J), [J[1], J[2], J[4]]);
    assert.deepEqual(select('{ $.tags[0] = "a" }', J), [J[0]]);
    assert.deepEqual(select('{ $[0].level = "error" }', J), [J[4]]);
  });

  test('regular expressions inside JSON values', () => {
    assert.deepEqual(select('{ $.level = %^e.*r$% }', J), [J[0], J[2]]);
  });

  test('malformed JSON patterns are invalid', () => {
    for (const bad of [
      '{ $.level = "error" ',
      '{ level = "error" }',
      '{ $.level }',
      '{ $.level = }',
      '{ $.level > "error" }',
      '{ $.a = 1 && }',
      '{ ($.a = 1 }',
      '{ $.a IS MAYBE }',
    ]) {
      assert.throws(() => compileFilterPattern(bad), FilterPatternError, bad);
    }
  });
});

describe('space-delimited patterns', () => {
  const ACCESS = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /mydata.html HTTP/1.0" 404 310',
    '10.0.0.9 - alice [10/Oct/2000:13:50:35 -0700] "POST /login HTTP/1.1" 401 4096',
    'a line with far too many fields to be an access log entry at all',
  ];

  test('a field list matches lines with exactly that many fields', () => {
    const all = '[ip, id, user, timestamp, request, status_code, size]';
    assert.deepEqual(select(all, ACCESS), ACCESS.slice(0, 3));
  });

  test('conditions on fields, with globs and numbers', () => {
    const p = (cond: string) => `[ip, id, user, timestamp, request, ${cond}, size]`;
    assert.deepEqual(select(p('status_code = 4*'), ACCESS), [ACCESS[1], ACCESS[2]]);
    assert.deepEqual(select(p('status_code != 404'), ACCESS), [ACCESS[0], ACCESS[2]]);
    assert.deepEqual(
      select('[ip, id, user, timestamp, request = *.html*, status_code, size]', ACCESS),
      [ACCESS[1]],
    );
    assert.deepEqual(select('[ip, id, user, timestamp, request, status, size > 1000]', ACCESS), [
      ACCESS[0],
      ACCESS[2],
    ]);
    assert.deepEqual(
      select('[ip, id, user = frank || user = alice, ...]', ACCESS),
      ACCESS.slice(0, 3),
    );
  });

  test('an ellipsis stands for any number of fields', () => {
    assert.deepEqual(select('[..., status = 401, size]', ACCESS), [ACCESS[2]]);
    assert.deepEqual(select('[ip = 10.*, ...]', ACCESS), [ACCESS[2]]);
  });

  test('malformed delimited patterns are invalid', () => {
    for (const bad of ['[ip, user', '[]', '[ip, , user]', '[ip =]', '[..., a, ...]']) {
      assert.throws(() => compileFilterPattern(bad), FilterPatternError, bad);
    }
  });
});
