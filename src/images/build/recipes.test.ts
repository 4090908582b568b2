import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { SUPPORTED_RUNTIMES } from '../../services/lambda/validation.js';
import { findRecipe, listRecipes, RecipeError } from './recipes.js';
import { interpreterNotice, RUNTIME_IMAGES } from './runtime-images.js';

test('names resolve to recipes: image names, stratus/ names and Lambda runtime names', () => {
  assert.equal(findRecipe('nodejs20.x').name, 'lambda-nodejs:20');
  assert.equal(findRecipe('stratus/lambda-nodejs:22').name, 'lambda-nodejs:22');
  assert.equal(findRecipe('python3.13').name, 'lambda-python:3.13');
  assert.equal(findRecipe('provided.al2023').repository, 'stratus/lambda-provided');
  const debian = findRecipe('debian:bookworm');
  assert.equal(debian.kind === 'debian' && debian.suite, 'bookworm');
});

test('a Python minor no Debian suite ships fails with a message naming what exists', () => {
  for (const name of ['python3.9', 'python3.10', 'python3.12', 'lambda-python:3.12']) {
    assert.throws(
      () => findRecipe(name),
      (err: unknown) =>
        err instanceof RecipeError &&
        /cannot be built offline/.test(err.message) &&
        /trixie 3\.13/.test(err.message),
    );
  }
  assert.throws(() => findRecipe('ubuntu:noble'), RecipeError);
  assert.throws(() => findRecipe('nodejs16.x'), RecipeError);
});

test('every runtime Lambda accepts has an image, and every inexact one says why', () => {
  for (const runtime of SUPPORTED_RUNTIMES) {
    const entry = RUNTIME_IMAGES[runtime];
    assert.ok(entry, `no image for ${runtime}`);
    if (!entry.exact) assert.ok(entry.note, `${runtime} is inexact without a note`);
    // The image it names is one `stratus image build` can make.
    const recipe = findRecipe(entry.image);
    assert.equal(`${recipe.repository}:${recipe.tag}`, entry.image);
  }
  assert.deepEqual(
    { ...RUNTIME_IMAGES['python3.12'] },
    {
      image: 'stratus/lambda-python:3.13',
      interpreterVersion: 'python 3.13',
      exact: false,
      note: 'no Debian suite ships Python 3.12',
    },
  );
  assert.equal(RUNTIME_IMAGES['nodejs24.x'].exact, true);
  assert.equal(RUNTIME_IMAGES['python3.11'].exact, true);
});

test('recipes have unique names and references', () => {
  const names = listRecipes().map((r) => `${r.repository}:${r.tag}`);
  assert.equal(new Set(names).size, names.length);
});

test("the README's runtime table says what RUNTIME_IMAGES says", async () => {
  // dist/src/images/build/ → the repository root
  const readme = await readFile(new URL('../../../../README.md', import.meta.url), 'utf8');
  for (const [runtime, entry] of Object.entries(RUNTIME_IMAGES)) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${runtime}\` `));
    assert.ok(row, `README has no row for ${runtime}`);
    const cells = row.split('|').map((c) => c.trim());
    assert.equal(cells[2], `\`${entry.image}\``, runtime);
    assert.equal(cells[4].startsWith('yes'), entry.exact, runtime);
  }
});

test('the log notice names the interpreter a substituted runtime gets, and only then', () => {
  assert.equal(
    interpreterNotice('python3.12'),
    'Stratus: python3.12 runs on python 3.13 (stratus/lambda-python:3.13): ' +
      'no Debian suite ships Python 3.12',
  );
  assert.match(interpreterNotice('provided.al2023') ?? '', /Debian 12 \(bookworm\) userland/);
  assert.equal(interpreterNotice('python3.13'), undefined);
  assert.equal(interpreterNotice('nodejs22.x'), undefined);
});
