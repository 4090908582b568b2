/**
 * The documented pattern cases (test/helpers/event-pattern-cases.ts) against the compiler
 * itself, one test each (test/events-patterns.test.ts runs them through the API).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, type Json } from '../src/events/pattern.js';
import { EC2_EVENT, METRICS_EVENT, PATTERN_CASES } from './helpers/event-pattern-cases.js';

const envelope = (e: object): Json =>
  ({
    version: '0',
    id: 'x',
    account: '000000000000',
    region: 'us-east-1',
    time: '2026-01-01T00:00:00Z',
    ...e,
  }) as Json;

describe('documented event pattern cases', () => {
  for (const c of PATTERN_CASES) {
    test(`${c.name}: ${c.matches ? 'matches' : 'does not match'}`, () => {
      const event = envelope(c.event === 'ec2' ? EC2_EVENT : METRICS_EVENT);
      assert.equal(compilePattern(JSON.stringify(c.pattern)).matches(event), c.matches);
    });
  }
});
