import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../../shared/errors.js';
import { trustsLambda } from './roles.js';
import {
  DEPRECATED_RUNTIMES,
  SUPPORTED_RUNTIMES,
  checkEnvironment,
  checkFunctionName,
  checkMemory,
  checkRuntime,
  checkSnapStart,
  checkTimeout,
} from './validation.js';

function refused(f: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof AwsError);
    assert.equal(err.code, code);
    assert.equal(err.status, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('runtimes', () => {
  test('the runtimes Stratus runs pass', () => {
    for (const r of [
      'nodejs18.x',
      'nodejs24.x',
      'python3.9',
      'python3.13',
      'python3.14',
      'provided.al2',
      'provided.al2023',
    ]) {
      assert.ok(SUPPORTED_RUNTIMES.has(r));
      checkRuntime(r, 'index.handler');
    }
  });

  test('deprecated runtimes get AWS message with its recommendation', () => {
    refused(
      () => checkRuntime('nodejs16.x', 'index.handler'),
      'InvalidParameterValueException',
      'The runtime parameter of nodejs16.x is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (nodejs22.x) while creating or updating functions.',
    );
    for (const r of Object.keys(DEPRECATED_RUNTIMES)) {
      refused(() => checkRuntime(r, 'h'), 'InvalidParameterValueException', /no longer supported/);
    }
  });

  test('runtimes AWS has but Stratus cannot run are refused, not faked', () => {
    for (const r of ['dotnet8', 'dotnet10']) {
      refused(
        () => checkRuntime(r, 'h'),
        'InvalidParameterValueException',
        /Stratus cannot run it yet/,
      );
    }
  });

  test('Runtime and Handler are both required for zip functions', () => {
    const message =
      'Runtime and Handler are mandatory parameters for functions created with deployment packages.';
    refused(() => checkRuntime(undefined, 'h'), 'InvalidParameterValueException', message);
    refused(() => checkRuntime('nodejs20.x', undefined), 'InvalidParameterValueException', message);
  });

  test('SnapStart only where AWS offers it', () => {
    checkSnapStart('PublishedVersions', 'python3.12');
    checkSnapStart('None', 'nodejs20.x');
    refused(
      () => checkSnapStart('PublishedVersions', 'nodejs20.x'),
      'InvalidParameterValueException',
      'nodejs20.x is not supported for SnapStart enabled functions.',
    );
  });
});

describe('quotas', () => {
  test('memory and timeout upper bounds the model leaves open', () => {
    checkMemory(10_240);
    checkTimeout(900);
    refused(
      () => checkMemory(10_241),
      'InvalidParameterValueException',
      "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to 10240",
    );
    refused(
      () => checkTimeout(901),
      'ValidationException',
      "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
    );
  });

  test('environment: 4 KB measured as compact JSON, reserved keys refused', () => {
    // {"K":"…"} is 8 bytes of JSON around the value.
    checkEnvironment({ K: 'x'.repeat(4096 - 8) });
    const big = { K: 'x'.repeat(4096 - 7) };
    refused(
      () => checkEnvironment(big),
      'InvalidParameterValueException',
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${JSON.stringify(big)}`,
    );
    // Multi-byte characters count in bytes.
    refused(
      () => checkEnvironment({ K: 'é'.repeat(2045) }),
      'InvalidParameterValueException',
      /exceeded the 4KB limit/,
    );
    refused(
      () => checkEnvironment({ OK: '1', AWS_ACCESS_KEY_ID: 'a', _HANDLER: 'b' }),
      'InvalidParameterValueException',
      /Reserved keys used in this request: AWS_ACCESS_KEY_ID, _HANDLER$/,
    );
  });

  test('plain function names are limited to 64 characters', () => {
    checkFunctionName('a'.repeat(64), 'a'.repeat(64));
    const arn = `arn:aws:lambda:us-east-1:123456789012:function:${'a'.repeat(64)}`;
    checkFunctionName(arn, 'a'.repeat(64));
    refused(
      () => checkFunctionName('a'.repeat(65), 'a'.repeat(65)),
      'InvalidParameterValueException',
      /less than or equal to 64/,
    );
  });
});

describe('trustsLambda', () => {
  const doc = (statement: unknown) => ({ Version: '2012-10-17', Statement: statement });
  test('accepts the usual trust policy and its variants', () => {
    assert.ok(
      trustsLambda(
        doc([
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ]),
      ),
    );
    assert.ok(
      trustsLambda(
        doc({
          Effect: 'Allow',
          Principal: { Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'] },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        }),
      ),
    );
    assert.ok(trustsLambda(doc([{ Effect: 'Allow', Principal: '*', Action: 'sts:*' }])));
  });
  test('refuses policies that do not let Lambda assume the role', () => {
    assert.ok(
      !trustsLambda(
        doc([
          {
            Effect: 'Allow',
            Principal: { Service: 'ec2.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ]),
      ),
    );
    assert.ok(
      !trustsLambda(
        doc([
          {
            Effect: 'Deny',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ]),
      ),
    );
    assert.ok(
      !trustsLambda(
        doc([
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 's3:GetObject',
          },
        ]),
      ),
    );
    assert.ok(!trustsLambda(undefined));
  });
});
