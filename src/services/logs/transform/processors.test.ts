import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Processor } from '../../../api/logs/types.js';
import { compileTransformer } from './processors.js';

const origin = { account: '000000000000', region: 'us-east-1', group: '/app', stream: 's1' };
const run = (processors: Processor[], message: string) =>
  compileTransformer(processors)(message, origin);

describe('transformer processors', () => {
  test('grok captures typed fields and fails on a line it cannot match', () => {
    const p: Processor[] = [
      { grok: { match: '%{IPV4:client} %{WORD:method} %{URIPATH:path} %{NUMBER:ms:float}' } },
    ];
    assert.deepEqual(run(p, '10.0.0.1 GET /a/b 12.5'), {
      client: '10.0.0.1',
      method: 'GET',
      path: '/a/b',
      ms: 12.5,
    });
    assert.equal(run(p, 'nothing here'), undefined);
    assert.throws(() => compileTransformer([{ grok: { match: '%{NOPE:x}' } }]), /NOPE/);
  });

  test('csv, parseKeyValue and parseVPC', () => {
    assert.deepEqual(run([{ csv: { columns: ['a', 'b'] } }], 'x,"y,z",w'), {
      a: 'x',
      b: 'y,z',
      column_3: 'w',
    });
    assert.deepEqual(run([{ parseKeyValue: { destination: 'kv' } }], 'a=1&b=2&c'), {
      kv: { a: '1', b: '2' },
    });
    assert.deepEqual(
      run(
        [{ parseKeyValue: { fieldDelimiter: ' ', keyValueDelimiter: ':', keyPrefix: 'p_' } }],
        'a:1 b:2',
      ),
      { p_a: '1', p_b: '2' },
    );
    const vpc = run(
      [{ parseVPC: {} }],
      '2 123456789010 eni-1235b8ca 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
    );
    assert.equal(vpc?.dstport, '22');
    assert.equal(vpc?.log_status, 'OK');
  });

  test('string, type and date processors after a parser', () => {
    const doc = run(
      [
        { parseJSON: {} },
        { splitString: { entries: [{ source: 'tags', delimiter: ',' }] } },
        { substituteString: { entries: [{ source: 'path', from: '\\d+', to: 'N' }] } },
        {
          typeConverter: {
            entries: [
              { key: 'n', type: 'integer' },
              { key: 'ok', type: 'boolean' },
            ],
          },
        },
        {
          dateTimeConverter: {
            source: 'when',
            target: 'iso',
            matchPatterns: ['dd/MM/yyyy HH:mm:ss'],
            sourceTimezone: 'Europe/Berlin',
          },
        },
        { copyValue: { entries: [{ source: '@logGroupName', target: 'group' }] } },
      ],
      '{"tags":"a,b","path":"/u/12/x/3","n":"42","ok":"TRUE","when":"04/12/2026 10:00:00"}',
    );
    assert.deepEqual(doc, {
      tags: ['a', 'b'],
      path: '/u/N/x/N',
      n: 42,
      ok: true,
      when: '04/12/2026 10:00:00',
      iso: '2026-12-04T09:00:00.000Z',
      group: '/app',
    });
  });

  test('listToMap builds a map keyed by a field of each element', () => {
    const doc = run(
      [
        { parseJSON: {} },
        { listToMap: { source: 'l', key: 'k', valueKey: 'v', flatten: true, target: 'm' } },
      ],
      '{"l":[{"k":"a","v":1},{"k":"b","v":2},{"k":"a","v":3}]}',
    );
    assert.deepEqual(doc?.m, { a: 1, b: 2 });
  });

  test('configurations AWS refuses', () => {
    assert.throws(() => compileTransformer([]), /between 1 and 20/);
    assert.throws(
      () => compileTransformer([{ addKeys: { entries: [{ key: 'a', value: 'b' }] } }]),
      /first processor must be a parser/,
    );
    assert.throws(
      () => compileTransformer([{ parseJSON: {} }, { parseVPC: {} }]),
      /parseVPC processor must be the first/,
    );
    assert.throws(
      () =>
        compileTransformer([
          { parseJSON: {} },
          {
            dateTimeConverter: {
              source: 'a',
              target: 'b',
              matchPatterns: ['yyyy'],
              sourceTimezone: 'Mars/Base',
            },
          },
        ]),
      /dateTimeConverter/,
    );
  });
});
