import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli } from './cli.js';

test('defaults: loopback, 4566, permissive, persistent', () => {
  const c = parseCli([], {});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4566);
  assert.equal(c.auth, 'permissive');
  assert.equal(c.ephemeral, false);
  assert.equal(c.defaultAccount, '000000000000');
  assert.match(c.stateDir, /stratus$/);
});

test('flags override the environment', () => {
  const c = parseCli(
    [
      '--port',
      '5000',
      '--host',
      '0.0.0.0',
      '--auth',
      'strict',
      '--ephemeral',
      '--account',
      '123456789012',
    ],
    { STRATUS_PORT: '4000', STRATUS_STATE_DIR: '/tmp/s' },
  );
  assert.equal(c.port, 5000);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.auth, 'strict');
  assert.equal(c.ephemeral, true);
  assert.equal(c.defaultAccount, '123456789012');
  assert.equal(c.stateDir, '/tmp/s');
});

test('bad flags are refused', () => {
  assert.throws(() => parseCli(['--auth', 'sloppy'], {}), /permissive or strict/);
  assert.throws(() => parseCli(['--port', 'x'], {}), /invalid --port/);
  assert.throws(() => parseCli(['--account', '12'], {}), /12 digits/);
  assert.throws(() => parseCli(['--nope'], {}));
});

test('--log-format and STRATUS_LOG_FORMAT choose pretty or JSON lines', () => {
  assert.equal(parseCli([], {}).logFormat, 'auto');
  assert.equal(parseCli([], { STRATUS_LOG_FORMAT: 'json' }).logFormat, 'json');
  assert.equal(
    parseCli(['--log-format', 'pretty'], { STRATUS_LOG_FORMAT: 'json' }).logFormat,
    'pretty',
  );
  assert.throws(() => parseCli(['--log-format', 'xml'], {}), /invalid --log-format/);
});
