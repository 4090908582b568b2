import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from './router.js';

const router = (...keys: string[]) => new Router(keys.map((routeKey) => ({ routeKey })));
const chosen = (r: Router<{ routeKey: string }>, method: string, path: string) =>
  r.match(method, path)?.routeKey;

test('a full match beats a greedy one, which beats $default', () => {
  const r = router(
    '$default',
    'ANY /{proxy+}',
    'GET /pets/{proxy+}',
    'GET /pets/dog/{id}',
    'GET /pets/dog/1',
  );
  assert.equal(chosen(r, 'GET', '/pets/dog/1'), 'GET /pets/dog/1');
  assert.equal(chosen(r, 'GET', '/pets/dog/2'), 'GET /pets/dog/{id}');
  assert.equal(chosen(r, 'GET', '/pets/cat/2'), 'GET /pets/{proxy+}');
  assert.equal(chosen(r, 'POST', '/pets/cat/2'), 'ANY /{proxy+}');
  assert.equal(chosen(r, 'GET', '/'), '$default');
});

test('a method beats ANY on the same path; no route and no $default is no match', () => {
  const r = router('ANY /items', 'POST /items', 'GET /items/{id}');
  assert.equal(chosen(r, 'POST', '/items'), 'POST /items');
  assert.equal(chosen(r, 'GET', '/items'), 'ANY /items');
  assert.equal(chosen(r, 'GET', '/items/'), undefined);
  assert.equal(chosen(r, 'DELETE', '/items/1'), undefined);
  assert.equal(chosen(r, 'GET', '/items/1/x'), undefined);
});

test('path parameters are decoded; the greedy one takes the rest of the path', () => {
  const r = router('GET /items/{id}', 'GET /files/{key+}');
  assert.deepEqual(r.match('GET', '/items/a%20b')?.pathParameters, { id: 'a b' });
  assert.deepEqual(r.match('GET', '/files/a/b/c.txt')?.pathParameters, { key: 'a/b/c.txt' });
  assert.equal(r.match('GET', '/files'), undefined);
  assert.equal(r.match('GET', '/files/'), undefined);
});

test('a greedy variable at the root takes any path', () => {
  const r = router('ANY /{proxy+}');
  assert.deepEqual(r.match('PATCH', '/x/y')?.pathParameters, { proxy: 'x/y' });
  assert.equal(r.match('GET', '/'), undefined);
});
