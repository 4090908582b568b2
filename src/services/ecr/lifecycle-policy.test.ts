import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidParameterException } from '../../api/ecr/errors.js';
import {
  evaluateLifecyclePolicy,
  parseLifecyclePolicy,
  type LifecycleImage,
} from './lifecycle-policy.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2025, 0, 31, 12);
const PREFIX =
  "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: " +
  "'Lifecycle policy validation failure: ";

/** A rule around `selection`, which may be invalid on purpose (it is JSON text for the parser). */
function rule(rulePriority: number, selection: Record<string, unknown>) {
  return { rulePriority, selection, action: { type: 'expire' } };
}

const keepNewest = (n: number) => ({ countType: 'imageCountMoreThan', countNumber: n }) as const;
const olderThanDays = (n: number) =>
  ({ countType: 'sinceImagePushed', countUnit: 'days', countNumber: n }) as const;

/** Parses the JSON text of `rules` (so the parser is part of every evaluation test). */
function policyOf(...rules: unknown[]) {
  return parseLifecyclePolicy(JSON.stringify({ rules }));
}

function image(digest: string, tags: string[], daysAgo: number): LifecycleImage {
  return { digest, tags, pushedAt: NOW - daysAgo * DAY };
}

/** Digests the policy expires, in the order returned. */
function expiredDigests(rules: unknown[], images: LifecycleImage[], now = NOW): string[] {
  return evaluateLifecyclePolicy(policyOf(...rules), images, now).map((e) => e.digest);
}

test('parses a valid policy into typed rules, keeping only what was given', () => {
  const policy = parseLifecyclePolicy(
    JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'Expire images older than 14 days',
          selection: { tagStatus: 'tagged', tagPatternList: ['prod*'], ...olderThanDays(14) },
          action: { type: 'expire' },
        },
        rule(2, { tagStatus: 'untagged', ...keepNewest(1) }),
        rule(10, { tagStatus: 'any', ...keepNewest(100) }),
      ],
    }),
  );
  assert.deepEqual(policy, {
    rules: [
      {
        rulePriority: 1,
        description: 'Expire images older than 14 days',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['prod*'],
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 14,
        },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 10,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 100 },
        action: { type: 'expire' },
      },
    ],
  });
});

test('imageCountMoreThan keeps the newest N tagged images with the prefix, expires the rest oldest first', () => {
  const images = [
    image('sha256:p1', ['prod-1'], 10),
    image('sha256:p3', ['prod-3'], 6),
    image('sha256:p2', ['prod-2'], 8),
    image('sha256:p4', ['prod-4', 'latest'], 1),
    image('sha256:dev', ['dev-1'], 30),
    image('sha256:none', [], 40),
  ];
  const expired = evaluateLifecyclePolicy(
    policyOf(rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(2) })),
    images,
    NOW,
  );
  assert.deepEqual(expired, [
    { digest: 'sha256:p1', tags: ['prod-1'], pushedAt: NOW - 10 * DAY, rulePriority: 1 },
    { digest: 'sha256:p2', tags: ['prod-2'], pushedAt: NOW - 8 * DAY, rulePriority: 1 },
  ]);
});

test('imageCountMoreThan expires nothing while the selection is within the count', () => {
  const images = [image('a', ['prod-1'], 3), image('b', ['prod-2'], 2)];
  assert.deepEqual(
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(2) })],
      images,
    ),
    [],
  );
});

test('sinceImagePushed expires untagged images older than N days (exactly N days is kept)', () => {
  const images = [
    image('old', [], 20),
    image('just-over', [], 14.001),
    image('exactly', [], 14),
    image('young', [], 1),
    image('tagged-old', ['v1'], 100),
  ];
  assert.deepEqual(
    expiredDigests([rule(1, { tagStatus: 'untagged', ...olderThanDays(14) })], images),
    ['old', 'just-over'],
  );
});

test('untagged means no tags at all; tagged never selects untagged images', () => {
  const images = [image('untagged', [], 50), image('tagged', ['x'], 50)];
  assert.deepEqual(
    expiredDigests([rule(1, { tagStatus: 'untagged', ...olderThanDays(1) })], images),
    ['untagged'],
  );
  assert.deepEqual(
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPatternList: ['*'], ...olderThanDays(1) })],
      images,
    ),
    ['tagged'],
  );
});

test('an any rule selects tagged and untagged images alike', () => {
  const images = [
    image('a', ['v1'], 5),
    image('b', [], 4),
    image('c', ['v2'], 3),
    image('d', [], 2),
  ];
  assert.deepEqual(expiredDigests([rule(1, { tagStatus: 'any', ...keepNewest(1) })], images), [
    'a',
    'b',
    'c',
  ]);
  assert.deepEqual(expiredDigests([rule(1, { tagStatus: 'any', ...olderThanDays(3) })], images), [
    'a',
    'b',
  ]);
});

test('an image matched by a higher-priority rule is never expired by a later any rule, even when kept', () => {
  const images = [
    image('prod-old', ['prod-1'], 30),
    image('prod-new', ['prod-2'], 20),
    image('dev-old', ['dev-1'], 25),
    image('untagged-old', [], 40),
    image('untagged-new', [], 0.5),
  ];
  const expired = evaluateLifecyclePolicy(
    policyOf(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(1) }),
      rule(2, { tagStatus: 'any', ...olderThanDays(7) }),
    ),
    images,
    NOW,
  );
  // prod-new is older than 7 days but rule 1 matched (and kept) it.
  assert.deepEqual(
    expired.map((e) => [e.digest, e.rulePriority]),
    [
      ['prod-old', 1],
      ['untagged-old', 2],
      ['dev-old', 2],
    ],
  );
});

test('rules are applied by rulePriority, not by their order in the text', () => {
  const images = [
    image('a', ['beta-1', 'prod-1'], 10),
    image('b', ['beta-2', 'prod-2'], 9),
    image('c', ['beta-3'], 8),
  ];
  const expired = evaluateLifecyclePolicy(
    policyOf(
      rule(20, { tagStatus: 'tagged', tagPrefixList: ['beta'], ...keepNewest(1) }),
      rule(7, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(1) }),
    ),
    images,
    NOW,
  );
  assert.deepEqual(
    expired.map((e) => [e.digest, e.rulePriority]),
    [['a', 7]],
  );
});

// lifecycle_policy_examples.html, "Filtering on multiple rules".
const multipleRulesRepo = [
  image('A', ['beta-1', 'prod-1'], 10),
  image('B', ['beta-2', 'prod-2'], 9),
  image('C', ['beta-3'], 8),
];

test('docs example A: rule 2 marks A and B but both were seen by rule 1, only A goes', () => {
  assert.deepEqual(
    expiredDigests(
      [
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(1) }),
        rule(2, { tagStatus: 'tagged', tagPrefixList: ['beta'], ...keepNewest(1) }),
      ],
      multipleRulesRepo,
    ),
    ['A'],
  );
});

test('docs example B: with the priorities swapped, A and B are expired by rule 1', () => {
  const expired = evaluateLifecyclePolicy(
    policyOf(
      rule(1, { tagStatus: 'tagged', tagPrefixList: ['beta'], ...keepNewest(1) }),
      rule(2, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(1) }),
    ),
    multipleRulesRepo,
    NOW,
  );
  assert.deepEqual(
    expired.map((e) => [e.digest, e.rulePriority]),
    [
      ['A', 1],
      ['B', 1],
    ],
  );
});

test('a later rule still counts the images earlier rules matched when it keeps its newest N', () => {
  // "Rules can never mark images that are marked by higher priority rules, but can still
  // identify them as if they haven't been expired": the any rule keeps prod-new (the newest
  // image overall), so the old untagged image is beyond its count of 1.
  const images = [
    image('untagged', [], 30),
    image('prod-old', ['prod-1'], 20),
    image('prod-new', ['prod-2'], 10),
  ];
  assert.deepEqual(
    expiredDigests(
      [
        rule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'], ...keepNewest(1) }),
        rule(2, { tagStatus: 'any', ...keepNewest(1) }),
      ],
      images,
    ),
    ['prod-old', 'untagged'],
  );
});

// lifecycle_policy_examples.html, "Filtering on multiple tags in a single rule".
test('docs: several prefixes select only images having all of them (example A)', () => {
  const images = [
    image('A', ['alpha-1'], 12),
    image('B', ['beta-1'], 11),
    image('C', ['alpha-2', 'beta-2'], 10),
    image('D', ['alpha-3'], 4),
    image('E', ['beta-3'], 3),
    image('F', ['alpha-4', 'beta-4'], 2),
  ];
  assert.deepEqual(
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...olderThanDays(5) })],
      images,
    ),
    ['C'],
  );
});

test('docs: tags are not exclusive, extra tags do not prevent a match (example B)', () => {
  const images = [
    image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10),
    image('B', ['alpha-2', 'beta-2'], 9),
    image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8),
  ];
  assert.deepEqual(
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'], ...keepNewest(1) })],
      images,
    ),
    ['A', 'B'],
  );
});

test('tagPatternList: * matches any run of characters, including none, and patterns are anchored', () => {
  const tags = [
    'prod',
    'prod1',
    'preprod',
    'v1.2.3',
    'v1.2',
    'release-rc1',
    'latest',
    'latest-2',
    'a.b',
    'axb',
  ];
  const images = tags.map((tag, i) => image(tag, [tag], 100 - i));
  const matched = (pattern: string) =>
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPatternList: [pattern], ...olderThanDays(1) })],
      images,
    ).sort();
  assert.deepEqual(matched('prod*'), ['prod', 'prod1']);
  assert.deepEqual(matched('*prod'), ['preprod', 'prod']);
  assert.deepEqual(matched('*prod*'), ['preprod', 'prod', 'prod1']);
  assert.deepEqual(matched('v*.*.*'), ['v1.2.3']);
  assert.deepEqual(matched('*-rc*'), ['release-rc1']);
  assert.deepEqual(matched('latest'), ['latest']);
  // Regular-expression characters in a pattern are literal.
  assert.deepEqual(matched('a.b'), ['a.b']);
  assert.deepEqual(matched('*'), [...tags].sort());
});

test('tagPatternList with several patterns selects only images matching every one (AND)', () => {
  // The re:Post case: ["latest", "main"] in one rule selects only images tagged with both.
  const images = [
    image('both', ['latest', 'main'], 30),
    image('latest-only', ['latest'], 30),
    image('main-only', ['main', 'main-2'], 30),
  ];
  assert.deepEqual(
    expiredDigests(
      [rule(1, { tagStatus: 'tagged', tagPatternList: ['latest', 'main*'], ...olderThanDays(7) })],
      images,
    ),
    ['both'],
  );
});

test('an untagged rule and an any rule together', () => {
  const images = [
    image('u1', [], 9),
    image('u2', [], 8),
    image('u3', [], 7),
    image('t1', ['v1'], 6),
    image('t2', ['v2'], 5),
    image('t3', ['v3'], 4),
  ];
  // Rule 1 keeps 2 untagged (expires u1). Rule 2 counts all six, keeps t3 and t2, and may
  // expire only t1: the untagged ones were rule 1's.
  assert.deepEqual(
    expiredDigests(
      [
        rule(1, { tagStatus: 'untagged', ...keepNewest(2) }),
        rule(2, { tagStatus: 'any', ...keepNewest(2) }),
      ],
      images,
    ),
    ['u1', 't1'],
  );
});

test('no images, no expiries; the input is not modified', () => {
  const images = [image('b', ['v2'], 1), image('a', ['v1'], 2)];
  const before = structuredClone(images);
  assert.deepEqual(expiredDigests([rule(1, { tagStatus: 'any', ...keepNewest(1) })], []), []);
  const expired = evaluateLifecyclePolicy(
    policyOf(rule(1, { tagStatus: 'any', ...keepNewest(1) })),
    images,
    NOW,
  );
  expired[0]?.tags.push('changed');
  assert.deepEqual(images, before);
});

test('equal push times: the tie is broken by digest so results are stable', () => {
  const images = [image('sha256:b', ['x'], 1), image('sha256:a', ['x'], 1)];
  assert.deepEqual(expiredDigests([rule(1, { tagStatus: 'any', ...keepNewest(1) })], images), [
    'sha256:a',
  ]);
});

/** Asserts that `text` is refused with InvalidParameterException and `PREFIX + detail`. */
function assertInvalid(text: string, detail: string) {
  assert.throws(
    () => parseLifecyclePolicy(text),
    (err: unknown) => {
      assert.ok(
        err instanceof InvalidParameterException,
        `not InvalidParameterException: ${String(err)}`,
      );
      assert.equal(err.code, 'InvalidParameterException');
      assert.equal(err.status, 400);
      assert.equal(err.message, PREFIX + detail, text);
      return true;
    },
  );
}

const untagged = { tagStatus: 'untagged', ...keepNewest(1) };
const json = (value: unknown) => JSON.stringify(value);
const withRule = (r: unknown) => json({ rules: [r] });
const withSelection = (selection: unknown) =>
  withRule({ rulePriority: 1, selection, action: { type: 'expire' } });

test('invalid: text that is not a JSON object', () => {
  for (const text of ['', 'not json', '{"rules": [', '[]', '"rules"', 'null', '42']) {
    assertInvalid(text, "Could not map policyString into LifecyclePolicy.'");
  }
});

test('invalid: the rules list', () => {
  assertInvalid('{}', `object has missing required properties (["rules"])'`);
  assertInvalid(
    json({ rules: [], extra: 1 }),
    `object instance has properties which are not allowed by the schema: (["extra"])'`,
  );
  assertInvalid(
    json({ rules: { rulePriority: 1 } }),
    `instance type (object) does not match any allowed primitive type (allowed: ["array"])'`,
  );
  assertInvalid(
    json({ rules: [] }),
    `array is too short: must have at least 1 elements but instance has 0 elements'`,
  );
  assertInvalid(
    json({ rules: ['rule'] }),
    `instance type (string) does not match any allowed primitive type (allowed: ["object"])'`,
  );
});

test('invalid: rule properties', () => {
  const selection = untagged;
  const action = { type: 'expire' };
  assertInvalid(
    withRule({ selection, action }),
    `object has missing required properties (["rulePriority"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: 1, action }),
    `object has missing required properties (["selection"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: 1, selection }),
    `object has missing required properties (["action"])'`,
  );
  assertInvalid(
    withRule({ description: 'x' }),
    `object has missing required properties (["action", "rulePriority", "selection"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: 1, selection, action, unknown: 123 }),
    `object instance has properties which are not allowed by the schema: (["unknown"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: '1', selection, action }),
    `instance type (string) does not match any allowed primitive type (allowed: ["integer"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: 1.5, selection, action }),
    `instance type (number) does not match any allowed primitive type (allowed: ["integer"])'`,
  );
  assertInvalid(
    withRule({ rulePriority: 0, selection, action }),
    'numeric instance is lower than the required minimum (minimum: 1, found: 0)',
  );
  assertInvalid(
    withRule({ rulePriority: 1, description: 7, selection, action }),
    `instance type (integer) does not match any allowed primitive type (allowed: ["string"])'`,
  );
});

test('invalid: the action', () => {
  const base = { rulePriority: 1, selection: untagged };
  assertInvalid(
    withRule({ ...base, action: {} }),
    `object has missing required properties (["type"])'`,
  );
  assertInvalid(
    withRule({ ...base, action: { type: 'expire', unknown: 1 } }),
    `object instance has properties which are not allowed by the schema: (["unknown"])'`,
  );
  assertInvalid(
    withRule({ ...base, action: { type: 'keep' } }),
    `instance value (keep) not found in enum :(possible values: ["expire", "transition"])'`,
  );
  assertInvalid(
    withRule({ ...base, action: 'expire' }),
    `instance type (string) does not match any allowed primitive type (allowed: ["object"])'`,
  );
});

test('invalid: selection properties and values', () => {
  const oneOf = 'instance failed to match exactly one schema (matched 0 out of 2)';
  const cases: [unknown, string][] = [
    [[], `instance type (array) does not match any allowed primitive type (allowed: ["object"])'`],
    [keepNewest(1), `object has missing required properties (["tagStatus"])'`],
    [
      { tagStatus: 'untagged', countNumber: 1 },
      `object has missing required properties (["countType"])'`,
    ],
    [
      { tagStatus: 'untagged', countType: 'imageCountMoreThan' },
      `object has missing required properties (["countNumber"])'`,
    ],
    [
      { ...untagged, unknown: 123 },
      `object instance has properties which are not allowed by the schema: (["unknown"])'`,
    ],
    [
      { ...keepNewest(1), tagStatus: 'TAGGED' },
      `instance value (TAGGED) not found in enum :(possible values: ["any", "tagged", "untagged"])'`,
    ],
    [{ tagStatus: 'untagged', countType: 'unknown', countNumber: 1 }, oneOf],
    [{ tagStatus: 'untagged', countType: 'sinceImagePulled', countNumber: 1 }, oneOf],
    // countUnit is required with sinceImagePushed and forbidden with imageCountMoreThan.
    [{ tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1 }, oneOf],
    [{ ...untagged, countUnit: 'days' }, oneOf],
    [{ ...untagged, countUnit: null }, oneOf],
    [{ tagStatus: 'untagged', ...olderThanDays(1), countUnit: null }, oneOf],
    [
      { tagStatus: 'untagged', ...olderThanDays(1), countUnit: 'hours' },
      `instance value (hours) not found in enum :(possible values: ["days"])'`,
    ],
    [
      { tagStatus: 'untagged', ...keepNewest(0) },
      'numeric instance is lower than the required minimum (minimum: 1, found: 0)',
    ],
    [
      { tagStatus: 'untagged', ...keepNewest(-1) },
      'numeric instance is lower than the required minimum (minimum: 1, found: -1)',
    ],
    [
      { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: '5' },
      `instance type (string) does not match any allowed primitive type (allowed: ["integer"])'`,
    ],
    [
      { tagStatus: 'tagged', tagPrefixList: 'prod', ...keepNewest(1) },
      `instance type (string) does not match any allowed primitive type (allowed: ["array"])'`,
    ],
    [
      { tagStatus: 'tagged', tagPatternList: ['prod*', 3], ...keepNewest(1) },
      `instance type (integer) does not match any allowed primitive type (allowed: ["string"])'`,
    ],
  ];
  for (const [selection, detail] of cases) assertInvalid(withSelection(selection), detail);
});

test('invalid: tag lists and tag status', () => {
  const tagsRequired = "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'";
  const onlyWhenTagged =
    "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED.'";
  const cases: [unknown, string][] = [
    [{ tagStatus: 'tagged', ...keepNewest(1) }, tagsRequired],
    [{ tagStatus: 'tagged', tagPrefixList: [], ...keepNewest(1) }, tagsRequired],
    [{ tagStatus: 'untagged', tagPrefixList: ['prod'], ...keepNewest(1) }, onlyWhenTagged],
    [{ tagStatus: 'untagged', tagPatternList: [], ...keepNewest(1) }, onlyWhenTagged],
    [{ tagStatus: 'any', tagPatternList: ['prod*'], ...keepNewest(1) }, onlyWhenTagged],
    [
      { tagStatus: 'tagged', tagPrefixList: ['prod'], tagPatternList: ['prod*'], ...keepNewest(1) },
      "Cannot specify both tagPrefixList and tagPatternList in the same rule.'",
    ],
    // The docs' own example: ["test*1*2*3*4*5*6"] is invalid.
    [
      { tagStatus: 'tagged', tagPatternList: ['test*1*2*3*4*5*6'], ...keepNewest(1) },
      "Tag pattern test*1*2*3*4*5*6 has more than 4 wildcards (*).'",
    ],
    [
      { tagStatus: 'tagged', tagPatternList: ['ok', '*a*b*c*d*'], ...keepNewest(1) },
      "Tag pattern *a*b*c*d* has more than 4 wildcards (*).'",
    ],
  ];
  for (const [selection, detail] of cases) assertInvalid(withSelection(selection), detail);
  // ... and ["*test*1*2*3", "test*1*2*3*"] (four each) is valid.
  assert.doesNotThrow(() =>
    parseLifecyclePolicy(
      withSelection({
        tagStatus: 'tagged',
        tagPatternList: ['*test*1*2*3', 'test*1*2*3*'],
        ...keepNewest(1),
      }),
    ),
  );
});

test('invalid: rules that conflict with each other', () => {
  const tagged = (prefix: string) => ({
    tagStatus: 'tagged',
    tagPrefixList: [prefix],
    ...keepNewest(1),
  });
  assertInvalid(
    json({ rules: [rule(1, tagged('a')), rule(1, tagged('b'))] }),
    "Rule priority 1 is used by more than one rule. Rule priorities must be unique.'",
  );
  assertInvalid(
    json({ rules: [rule(1, untagged), rule(2, { tagStatus: 'untagged', ...olderThanDays(3) })] }),
    "Only one rule can select Untagged images per storage class.'",
  );
  assertInvalid(
    json({ rules: [rule(1, { tagStatus: 'any', ...keepNewest(5) }), rule(2, tagged('a'))] }),
    "Rule for tagStatus=ANY must have the lowest priority per storage class.'",
  );
  assertInvalid(
    json({
      rules: [
        rule(3, { tagStatus: 'any', ...keepNewest(5) }),
        rule(9, { tagStatus: 'any', ...olderThanDays(9) }),
      ],
    }),
    "Rule for tagStatus=ANY must have the lowest priority per storage class.'",
  );
  // The any rule may come first in the text as long as its priority is the highest.
  assert.doesNotThrow(() =>
    parseLifecyclePolicy(
      json({
        rules: [
          rule(99, { tagStatus: 'any', ...keepNewest(5) }),
          rule(3, tagged('a')),
          rule(4, untagged),
        ],
      }),
    ),
  );
});

test('archive: transition rules move standard images; archive rules expire after 90 days', () => {
  const transition = (priority: number, selection: Record<string, unknown>) => ({
    rulePriority: priority,
    selection,
    action: { type: 'transition', targetStorageClass: 'archive' },
  });
  const pulled = (n: number) =>
    ({ countType: 'sinceImagePulled', countUnit: 'days', countNumber: n }) as const;
  const inArchive = (n: number) =>
    ({ countType: 'sinceImageTransitioned', countUnit: 'days', countNumber: n }) as const;
  const policy = policyOf(
    transition(1, { tagStatus: 'any', ...pulled(30) }),
    rule(2, { tagStatus: 'any', storageClass: 'archive', ...inArchive(90) }),
  );
  const images: LifecycleImage[] = [
    // Pushed long ago, pulled yesterday: stays.
    { ...image('a', ['a'], 100), lastPulledAt: NOW - DAY },
    // Never pulled since its push 40 days ago: archived.
    image('b', ['b'], 40),
    // Archived 100 days ago: expired; archived 10 days ago: kept (90-day minimum).
    { ...image('c', ['c'], 300), storageClass: 'archive', archivedAt: NOW - 100 * DAY },
    { ...image('d', ['d'], 300), storageClass: 'archive', archivedAt: NOW - 10 * DAY },
  ];
  assert.deepEqual(
    evaluateLifecyclePolicy(policy, images, NOW).map((e) => [
      e.digest,
      e.transition ?? 'expire',
      e.storageClass ?? 'standard',
    ]),
    [
      ['b', 'archive', 'standard'],
      ['c', 'expire', 'archive'],
    ],
  );

  assertInvalid(
    json({ rules: [transition(1, { tagStatus: 'any', storageClass: 'archive', ...pulled(3) })] }),
    "Action type transition can only be used when storageClass=STANDARD.'",
  );
  assertInvalid(
    json({ rules: [rule(1, { tagStatus: 'any', ...inArchive(100) })] }),
    "countType sinceImageTransitioned can only be used when storageClass=ARCHIVE.'",
  );
  assertInvalid(
    json({ rules: [rule(1, { tagStatus: 'any', storageClass: 'archive', ...inArchive(30) })] }),
    "Images in the ARCHIVE storage class cannot be expired before 90 days in archive (sinceImageTransitioned countNumber must be at least 90).'",
  );
  // One `any` rule per storage class.
  assert.doesNotThrow(() =>
    parseLifecyclePolicy(
      json({
        rules: [
          transition(1, { tagStatus: 'any', ...pulled(30) }),
          rule(2, { tagStatus: 'any', storageClass: 'archive', ...inArchive(90) }),
        ],
      }),
    ),
  );
});
