import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, PatternError } from './pattern.js';

describe('event patterns', () => {
  test('patterns AWS refuses are refused', () => {
    for (const bad of [
      'not json',
      '[]',
      '{"source": "aws.ec2"}',
      '{"source": []}',
      '{"source": [{"prefix": "a", "suffix": "b"}]}',
      '{"source": [{"nope": "a"}]}',
      '{"a": [{"numeric": [">"]}]}',
      '{"a": [{"numeric": ["<", 5, ">", 1]}]}',
      '{"a": [{"numeric": [">", "5"]}]}',
      '{"a": [{"exists": "yes"}]}',
      '{"a": [{"cidr": "10.0.0.0/33"}]}',
      '{"a": [{"cidr": "nope"}]}',
      '{"a": [{"wildcard": "a**b"}]}',
      '{"a": [{"anything-but": {"numeric": [">", 1]}}]}',
      '{"$or": [{"a": ["x"]}]}',
      '{"a": [[1]]}',
    ]) {
      assert.throws(() => compilePattern(bad), PatternError, bad);
    }
  });

  test('the required sources are exposed for indexing', () => {
    assert.deepEqual(compilePattern('{"source": ["a", "b"]}').sources, ['a', 'b']);
    assert.equal(compilePattern('{"source": [{"prefix": "a"}]}').sources, undefined);
    assert.equal(compilePattern('{"detail": {"x": [1]}}').sources, undefined);
  });

  test('escaped stars in wildcards are literal', () => {
    const p = compilePattern('{"a": [{"wildcard": "x\\\\*y"}]}');
    assert.equal(p.matches({ a: 'x*y' }), true);
    assert.equal(p.matches({ a: 'xzy' }), false);
  });
});
