import { test } from 'node:test';
import assert from 'node:assert/strict';
import { model as iam } from '../api/iam/model.js';
import { model as logs } from '../api/logs/model.js';
import { model as ec2 } from '../api/ec2/model.js';
import { model as lambda } from '../api/lambda/model.js';
import { compileJavaPattern } from './java-regex.js';
import type { ServiceModel } from './model.js';
import { validate, validationError } from './validate.js';

test('required members: Value null … Member must not be null, lowerCamel paths', () => {
  const v = validate({}, 'CreateRoleRequest', iam);
  assert.deepEqual(v, [
    "Value null at 'roleName' failed to satisfy constraint: Member must not be null",
    "Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
  ]);
  const err = validationError(v, iam);
  assert.equal(err.code, 'ValidationError');
  assert.equal(err.status, 400);
  assert.equal(err.senderFault, true);
  assert.equal(err.message, `2 validation errors detected: ${v.join('; ')}`);
  assert.equal(validationError(v.slice(0, 1), lambda).code, 'ValidationException');
  assert.match(
    validationError(v.slice(0, 1), lambda).message,
    /^1 validation error detected: Value null/,
  );
});

test('length, range, enum and pattern constraints in AWS wording', () => {
  assert.deepEqual(
    validate(
      { RoleName: 'x'.repeat(65), MaxSessionDuration: 100, AssumeRolePolicyDocument: '{}' },
      'CreateRoleRequest',
      iam,
    ),
    [
      `Value '${'x'.repeat(65)}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64`,
      "Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
    ],
  );
  assert.deepEqual(
    validate(
      { FunctionName: 'f', Runtime: 'cobol', Role: 'arn:aws:iam::000000000000:role/r' },
      'CreateFunctionRequest',
      lambda,
    ).filter((m) => m.includes('runtime')).length,
    1,
  );
  const [enumMsg] = validate(
    { FunctionName: 'f', InvocationType: 'Sometimes' },
    'InvocationRequest',
    lambda,
  );
  assert.equal(
    enumMsg,
    "Value 'Sometimes' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
  );
  assert.deepEqual(
    validate({ logGroupName: 'g', logStreamName: 's:s' }, 'CreateLogStreamRequest', logs),
    [
      "Value 's:s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*",
    ],
  );
});

test('nested lists use the 1-based `.member.` path; scalar lists report on the list', () => {
  const v = validate(
    {
      RoleName: 'r',
      AssumeRolePolicyDocument: '{}',
      Tags: [{ Key: 'ok', Value: 'v' }, { Key: 'bad#' }],
    },
    'CreateRoleRequest',
    iam,
  );
  assert.deepEqual(v, [
    "Value 'bad#' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
    "Value null at 'tags.2.member.value' failed to satisfy constraint: Member must not be null",
  ]);
  const scalars = validate(
    { FunctionName: 'f', Architectures: ['arm64', 'sparc'] },
    'UpdateFunctionCodeRequest',
    lambda,
  );
  assert.deepEqual(scalars, [
    "Value '[arm64, sparc]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1",
    "Value '[arm64, sparc]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
  ]);
});

test('sensitive values are not echoed', () => {
  const model: ServiceModel = {
    metadata: { apiVersion: '1', endpointPrefix: 't', protocol: 'json', serviceId: 'T' },
    operations: {},
    shapes: {
      In: { type: 'structure', members: { Password: { shape: 'Secret' } } },
      Secret: { type: 'string', min: 6, sensitive: true },
    },
  };
  assert.deepEqual(validate({ Password: 'abc' }, 'In', model), [
    "Value at 'password' failed to satisfy constraint: Member must have length greater than or equal to 6",
  ]);
});

test('EC2 reports MissingParameter with the wire name', () => {
  const v = validate({}, 'TerminateInstancesRequest', ec2);
  assert.deepEqual(v, ['The request must contain the parameter InstanceId']);
  const err = validationError(v, ec2);
  assert.equal(err.code, 'MissingParameter');
  assert.equal(err.message, 'The request must contain the parameter InstanceId');
});

test('valid input and shapes without constraints produce no violations', () => {
  assert.deepEqual(
    validate(
      { RoleName: 'app', AssumeRolePolicyDocument: '{"Version":"2012-10-17"}' },
      'CreateRoleRequest',
      iam,
    ),
    [],
  );
  assert.deepEqual(validate({}, 'ListRolesRequest', iam), []);
});

test('Java patterns translate to JS (u flag) and unknown constructs are skipped, not fatal', () => {
  const cases: [string, string, boolean][] = [
    ['[\\w+=,.@-]+', 'a.b@c', true],
    ['[\\w+=,.@-]+', 'a b', false],
    ['[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+', '{"ü": 1}\n', true],
    ['[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+', 'Ā', false],
    ['[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF]*', 'emoji 😀', true],
    ['[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*', 'ümlaut key', true],
    ['^(?! )[\\p{L}\\p{N}\\p{Z}-_]*(?<! )$', 'a-b_c', true],
    ['^(?! )[\\p{L}\\p{N}\\p{Z}-_]*(?<! )$', 'trailing ', false],
    ['[A-Za-z0-9\\_\\-]+', 'a_b-c', true],
    ['\\p{Alpha}\\p{Digit}++', 'a12', true],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['arn:aws:[a-z]+', 'xarn:aws:iam', false],
  ];
  for (const [pattern, value, ok] of cases) {
    const re = compileJavaPattern(pattern);
    assert.ok(re, pattern);
    assert.equal(re.test(value), ok, `${pattern} ~ ${value}`);
  }
  assert.equal(compileJavaPattern('[a-z&&[^b]]'), null);
  assert.equal(compileJavaPattern('(unclosed'), null);
  assert.equal(compileJavaPattern('[a-z&&[^b]]'), null); // cached result
});

test('every pattern in the generated models compiles', async () => {
  const { readdirSync, existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const apiDir = fileURLToPath(new URL('../api/', import.meta.url));
  let total = 0;
  for (const svc of readdirSync(apiDir)) {
    if (!existsSync(`${apiDir}${svc}/model.js`) && !existsSync(`${apiDir}${svc}/model.ts`))
      continue;
    const { model } = (await import(`../api/${svc}/model.js`)) as { model: ServiceModel };
    for (const s of Object.values(model.shapes)) {
      if (!s.pattern) continue;
      total++;
      assert.ok(compileJavaPattern(s.pattern), `${svc}: ${s.pattern}`);
    }
  }
  assert.ok(total > 100);
});

test('null list and map members are refused: they parse, but are no value', () => {
  assert.deepEqual(
    validate(
      { logGroupName: 'g', logStreamName: 's', logEvents: [null] },
      'PutLogEventsRequest',
      logs,
    ),
    ["Value null at 'logEvents.1.member' failed to satisfy constraint: Member must not be null"],
  );
  assert.deepEqual(
    validate({ FunctionName: 'f', Layers: [null] }, 'UpdateFunctionConfigurationRequest', lambda),
    [
      "Value '[null]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must not be null]",
    ],
  );
  assert.deepEqual(
    validate(
      { Resource: 'arn:aws:lambda:us-east-1:000000000000:function:f', Tags: { k: null } },
      'TagResourceRequest',
      lambda,
    ),
    [
      "Value '{k=null}' at 'tags' failed to satisfy constraint: Map value must satisfy constraint: [Member must not be null]",
    ],
  );
});
