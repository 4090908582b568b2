import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPatch } from './patch.js';

test('patch operations set typed fields, map entries and list items', () => {
  const target: Record<string, unknown> = { name: 'a', binaryMediaTypes: ['image/png'] };
  applyPatch(
    target,
    [
      { op: 'replace', path: '/name', value: 'b' },
      { op: 'replace', path: '/minimumCompressionSize', value: '1024' },
      { op: 'replace', path: '/disableExecuteApiEndpoint', value: 'true' },
      { op: 'add', path: '/binaryMediaTypes/application~1pdf' },
      { op: 'remove', path: '/binaryMediaTypes/image~1png' },
      { op: 'add', path: '/requestTemplates/application~1json', value: '{}' },
    ],
    {
      name: 'string',
      minimumCompressionSize: 'number',
      disableExecuteApiEndpoint: 'boolean',
      binaryMediaTypes: 'list',
      requestTemplates: 'map',
    },
  );
  assert.deepEqual(target, {
    name: 'b',
    minimumCompressionSize: 1024,
    disableExecuteApiEndpoint: true,
    binaryMediaTypes: ['application/pdf'],
    requestTemplates: { 'application/json': '{}' },
  });
  assert.throws(
    () => applyPatch(target, [{ op: 'replace', path: '/id', value: 'x' }], { name: 'string' }),
    {
      name: 'BadRequestException',
      message: "Invalid patch path '/id' specified for op 'replace'. Must be one of: []",
    },
  );
  assert.throws(
    () => applyPatch(target, [{ op: 'replace', path: '/n', value: 'x' }], { n: 'number' }),
    {
      name: 'BadRequestException',
    },
  );
});
