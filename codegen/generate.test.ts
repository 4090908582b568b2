import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { listServices, modelsDir, staleFiles } from './generate.js';

test('the committed src/api matches what the AWS models generate', () => {
  // The models are in the repository (codegen/models): a clone needs nothing beside it.
  assert.ok(existsSync(modelsDir), `AWS models not found at ${modelsDir}`);
  assert.ok(listServices().length > 0, `no *.json.br models in ${modelsDir}`);
  assert.deepEqual(staleFiles(), [], 'run `npm run codegen` and commit the result');
});
