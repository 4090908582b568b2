import { test } from 'node:test';
import assert from 'node:assert/strict';
import { services } from '../api/services.js';
import type { ServiceModel } from '../protocol/model.js';
import { NOT_IMPLEMENTED, type ServicePlugin } from '../services/plugin.js';
import { ServiceRegistry } from './services.js';

test('a failed model load is retried by the next request, not cached', async () => {
  const info = services.find((s) => s.name === 'sts');
  assert.ok(info);
  const real = (await import('../api/sts/model.js')).model;
  let calls = 0;
  const plugin = {
    name: 'sts',
    model: async (): Promise<ServiceModel> => {
      calls++;
      if (calls === 1) throw new Error('EIO: read failed');
      return real;
    },
  } as ServicePlugin;
  const registry = new ServiceRegistry();
  registry.register(plugin, { dispatch: () => NOT_IMPLEMENTED });

  // Two requests racing the first load share it, and both see its failure.
  const [a, b] = [registry.get(info), registry.get(info)];
  await assert.rejects(Promise.resolve(a), /EIO/);
  await assert.rejects(Promise.resolve(b), /EIO/);
  assert.equal(calls, 1);

  const loaded = await registry.get(info);
  assert.equal(loaded.model, real);
  assert.equal(calls, 2);
  // Loaded once: later requests get it synchronously.
  assert.equal(registry.get(info), loaded);
});
