import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AwsError } from '../../shared/errors.js';
import { isAliasName, parseFunctionRef, parseLayerArn, resolveFunctionRef } from './arns.js';

const ctx = {
  account: '123456789012',
  region: 'us-east-1',
  principal: { arn: 'arn:aws:iam::123456789012:root', userId: '123456789012' },
};

describe('parseFunctionRef', () => {
  test('reads the four forms, with and without qualifier', () => {
    assert.deepEqual(parseFunctionRef('my-fn'), { name: 'my-fn', qualifier: undefined });
    assert.deepEqual(parseFunctionRef('my-fn:live'), { name: 'my-fn', qualifier: 'live' });
    assert.deepEqual(parseFunctionRef('123456789012:function:my-fn'), {
      name: 'my-fn',
      qualifier: undefined,
      account: '123456789012',
    });
    assert.deepEqual(parseFunctionRef('123456789012:function:my-fn:$LATEST'), {
      name: 'my-fn',
      qualifier: '$LATEST',
      account: '123456789012',
    });
    assert.deepEqual(parseFunctionRef('arn:aws:lambda:eu-west-1:123456789012:function:my-fn:7'), {
      name: 'my-fn',
      qualifier: '7',
      region: 'eu-west-1',
      account: '123456789012',
    });
    assert.deepEqual(parseFunctionRef('us-east-1:123456789012:function:f'), {
      name: 'f',
      qualifier: undefined,
      account: '123456789012',
      region: 'us-east-1',
    });
  });

  test('refuses what is none of them', () => {
    for (const bad of [
      'arn:aws:lambda:us-east-1:123456789012:layer:l:1',
      'arn:aws:s3:::bucket',
      'a:b:c',
      '12345:function:f',
      'f:bad qualifier',
      'has space',
      'arn:aws:lambda:us-east-1:123456789012:function:f:1:2',
    ]) {
      assert.equal(parseFunctionRef(bad), undefined, bad);
    }
  });

  test('alias names are never all digits', () => {
    assert.equal(isAliasName('live'), true);
    assert.equal(isAliasName('v2'), true);
    assert.equal(isAliasName('12'), false);
    assert.equal(isAliasName('$LATEST'), false);
  });
});

describe('resolveFunctionRef', () => {
  const opts = { action: 'GetFunction' };
  const fails = (f: () => unknown, code: string, message: string | RegExp) =>
    assert.throws(f, (err: unknown) => {
      assert.ok(err instanceof AwsError);
      assert.equal(err.code, code);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    });

  test('merges the name qualifier with the Qualifier parameter', () => {
    assert.equal(resolveFunctionRef(ctx, 'f:live', undefined, opts).qualifier, 'live');
    assert.equal(resolveFunctionRef(ctx, 'f', '3', opts).qualifier, '3');
    assert.equal(resolveFunctionRef(ctx, 'f:3', '3', opts).qualifier, '3');
    fails(
      () => resolveFunctionRef(ctx, 'f:3', '4', opts),
      'InvalidParameterValueException',
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  });

  test('ARNs must name the caller region and account', () => {
    fails(
      () =>
        resolveFunctionRef(
          ctx,
          'arn:aws:lambda:eu-west-1:123456789012:function:f',
          undefined,
          opts,
        ),
      'ResourceNotFoundException',
      "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
    );
    fails(
      () => resolveFunctionRef(ctx, '210987654321:function:f', undefined, opts),
      'AccessDeniedException',
      /is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:210987654321:function:f/,
    );
  });

  test('operations on functions only refuse a qualifier', () => {
    fails(
      () =>
        resolveFunctionRef(ctx, 'f:1', undefined, {
          action: 'PutFunctionConcurrency',
          allowQualifier: false,
        }),
      'InvalidParameterValueException',
      /Aliases and versions do not support this operation/,
    );
  });
});

test('parseLayerArn', () => {
  assert.deepEqual(parseLayerArn('arn:aws:lambda:us-east-1:123456789012:layer:my-layer:3'), {
    scope: { region: 'us-east-1', account: '123456789012' },
    name: 'my-layer',
    version: 3,
  });
  assert.equal(
    parseLayerArn('arn:aws:lambda:us-east-1:123456789012:layer:my-layer')?.version,
    undefined,
  );
  assert.equal(parseLayerArn('arn:aws:lambda:us-east-1:123456789012:function:f'), undefined);
});
