/**
 * Link wiring: providers before users, declared links only, and the start-up refusals
 * (missing, doubly provided, circular) with messages that name the plugins involved.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEventInput, LogSink } from '../events/logs.js';
import { plugins } from '../plugins.js';
import { bindProvider, definePlugin } from '../services/plugin.js';
import type { CredentialSource } from '../shared/context.js';
import { LinkError, linkOrder, wire, type LinkNode, type WireNode } from './wiring.js';
import { GATEWAY_LINKS } from './server.js';

const node = (name: string, needs: LinkNode['needs'], provides: LinkNode['provides']) => ({
  name,
  needs,
  provides,
});
const names = (nodes: readonly LinkNode[]) => nodes.map((n) => n.name);

describe('linkOrder', () => {
  test('puts every provider before its users and keeps the list order otherwise', () => {
    const order = linkOrder([
      node('lambda', ['logs', 'iam', 'sts'], []),
      node('ecr', [], []),
      node('sts', ['iam'], ['sts']),
      node('logs', [], ['logs']),
      node('iam', [], ['iam']),
    ]);
    assert.deepEqual(names(order), ['logs', 'iam', 'sts', 'lambda', 'ecr']);
  });

  test('the real plugin list and the gateway wire without complaint', () => {
    const order = names(
      linkOrder([
        ...plugins,
        node(GATEWAY_LINKS.name, GATEWAY_LINKS.needs, GATEWAY_LINKS.provides),
      ]),
    );
    const before = (a: string, b: string) =>
      assert.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b}`);
    before('iam', 'sts');
    before('iam', 'gateway');
    before('sts', 'gateway');
    before('gateway', 'lambda');
    before('logs', 'lambda');
  });

  test('refuses a need no plugin provides, naming the plugin and the link', () => {
    assert.throws(
      () => linkOrder([node('lambda', ['logs'], []), node('iam', [], ['iam'])]),
      (err: unknown) =>
        err instanceof LinkError &&
        err.message ===
          "Stratus cannot start: lambda needs the link 'logs', which no plugin in src/plugins.ts provides",
    );
  });

  test('refuses circular needs, naming every step of the cycle', () => {
    assert.throws(
      () =>
        linkOrder([
          node('ecr', [], []),
          node('sts', ['iam'], ['sts']),
          node('iam', ['logs'], ['iam']),
          node('logs', ['sts'], ['logs']),
        ]),
      (err: unknown) =>
        err instanceof LinkError &&
        err.message ===
          "Stratus cannot start: circular links: sts needs 'iam' from iam, iam needs 'logs' from logs, logs needs 'sts' from sts",
    );
    assert.throws(
      () => linkOrder([node('self', ['iam'], ['iam'])]),
      /circular links: self needs 'iam' from self/,
    );
  });

  test('refuses a single link provided twice; a many link takes any number', () => {
    assert.throws(
      () => linkOrder([node('a', [], ['logs']), node('b', [], ['logs'])]),
      /the link 'logs' is provided by both a and b/,
    );
    assert.deepEqual(
      names(
        linkOrder([
          node('gw', ['credentials'], []),
          node('a', [], ['credentials']),
          node('b', [], ['credentials']),
        ]),
      ),
      ['a', 'b', 'gw'],
    );
    // Nobody provides credentials: the user gets an empty list, not an error.
    assert.deepEqual(names(linkOrder([node('gw', ['credentials'], [])])), ['gw']);
  });
});

describe('wire', () => {
  test('hands each node exactly its declared links; a many link arrives as a list', async () => {
    const sink: LogSink = { append: async () => {} };
    const keys: CredentialSource = { findCredential: async () => undefined };
    const sessions: CredentialSource = { findCredential: async () => undefined };
    const seen: Record<string, unknown> = {};
    const nodes: WireNode[] = [
      {
        ...node('gateway', ['credentials', 'logs'], []),
        async create(links) {
          seen.gateway = links;
          return undefined;
        },
      },
      { ...node('iam', [], ['credentials']), create: async () => ({ credentials: keys }) },
      { ...node('logs', [], ['logs']), create: async () => ({ logs: sink }) },
      { ...node('sts', [], ['credentials']), create: async () => ({ credentials: sessions }) },
    ];
    await wire(nodes);
    assert.deepEqual(Object.keys(seen.gateway as object).sort(), ['credentials', 'logs']);
    const links = seen.gateway as { credentials: CredentialSource[]; logs: LogSink };
    assert.equal(links.logs, sink);
    assert.deepEqual(links.credentials, [keys, sessions]);
  });

  test('refuses an instance that lacks a link its plugin declared', async () => {
    await assert.rejects(
      wire([{ ...node('logs', [], ['logs']), create: async () => ({}) }]),
      /logs declares it provides 'logs' but its instance has none/,
    );
  });

  test('definePlugin types links by the registry and checks what an instance provides', async () => {
    const appended: LogEventInput[] = [];
    const provider = definePlugin({
      name: 'logs',
      model: () => Promise.reject(new Error('unused')),
      provides: ['logs'],
      create: () => ({
        dispatch: bindProvider({}),
        provides: { logs: { append: async (_s, _g, _t, events) => void appended.push(...events) } },
      }),
    });
    const user = definePlugin({
      name: 'user',
      model: () => Promise.reject(new Error('unused')),
      needs: ['logs'],
      create(deps) {
        const sink: LogSink = deps.links.logs;
        // @ts-expect-error: iam was not declared in needs
        void deps.links.iam;
        void sink.append({ account: '1', region: 'r' }, 'g', 's', [{ timestamp: 1, message: 'm' }]);
        return { dispatch: bindProvider({}) };
      },
    });
    assert.deepEqual(provider.provides, ['logs']);
    assert.deepEqual(user.needs, ['logs']);
    const base = {
      config: {} as never,
      store: {} as never,
      blobs: {} as never,
      blobNamespace: () => Promise.reject(new Error('unused')),
    };
    await wire(
      [provider, user].map((p): WireNode => ({
        name: p.name,
        needs: p.needs,
        provides: p.provides,
        create: async (links) => (await p.create({ ...base, links })).provides,
      })),
    );
    assert.deepEqual(appended, [{ timestamp: 1, message: 'm' }]);
  });
});
