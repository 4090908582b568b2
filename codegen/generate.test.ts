import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { modelsDir, staleFiles } from './generate.js';

test('the committed src/api matches what the AWS models generate', () => {
  assert.ok(existsSync(modelsDir), `AWS models not found at ${modelsDir}`);
  assert.deepEqual(staleFiles(), [], 'run `npm run codegen` and commit the result');
});
