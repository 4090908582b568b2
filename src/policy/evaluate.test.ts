/**
 * The evaluator against the cases drawn from AWS's documentation (test/helpers/policy-cases.ts),
 * and the AccessDenied message wording.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICY_CASES, type PolicyCase } from '../../test/helpers/policy-cases.js';
import { RequestFacts } from './context.js';
import { compilePolicy } from './document.js';
import { accessDeniedMessage, evaluate } from './evaluate.js';

function decide(c: PolicyCase): string {
  const facts = new RequestFacts();
  for (const v of c.context ?? []) {
    facts.set(v.key, v.type.endsWith('List') ? v.values : v.values[0]);
  }
  const callerArn = c.callerArn ?? 'arn:aws:iam::123456789012:user/tester';
  if (callerArn.includes(':user/')) facts.set('aws:username', callerArn.split('/').pop());
  const d = evaluate({
    request: { action: c.action, resource: c.resource ?? '*', facts },
    caller: { self: callerArn, account: '123456789012' },
    isRoot: false,
    policies: {
      identity: c.policies.map((p, i) => compilePolicy(p, `p${i}`)),
      ...(c.boundary && { boundary: compilePolicy(c.boundary, 'boundary') }),
    },
    ...(c.resourcePolicy && { resourcePolicy: compilePolicy(c.resourcePolicy, 'resource') }),
    ...(c.resourceOwner && { resourceAccount: c.resourceOwner.split(':')[4] }),
  });
  return d.allowed ? 'allowed' : d.denial?.explicit ? 'explicitDeny' : 'implicitDeny';
}

describe('policy evaluation: AWS documentation examples', () => {
  test(`${POLICY_CASES.length} cases`, () => {
    assert.ok(POLICY_CASES.length >= 100, `only ${POLICY_CASES.length} cases`);
    const wrong = POLICY_CASES.filter((c) => decide(c) !== c.expect).map(
      (c) => `${c.name}: expected ${c.expect}, got ${decide(c)}`,
    );
    assert.deepEqual(wrong, []);
  });

  test('AccessDenied messages as AWS words them', () => {
    const user = 'arn:aws:iam::111122223333:user/dev';
    const fn = 'arn:aws:lambda:us-east-1:111122223333:function:f';
    const req = { action: 'lambda:GetFunction', resource: fn };
    assert.equal(
      accessDeniedMessage(user, req, {
        allowed: false,
        denial: { explicit: false, in: 'identity-based policy' },
        matched: [],
      }),
      `User: ${user} is not authorized to perform: lambda:GetFunction on resource: ${fn} because no identity-based policy allows the lambda:GetFunction action`,
    );
    assert.equal(
      accessDeniedMessage(user, req, {
        allowed: false,
        denial: { explicit: true, in: 'resource-based policy' },
        matched: [],
      }),
      `User: ${user} is not authorized to perform: lambda:GetFunction on resource: ${fn} with an explicit deny in a resource-based policy`,
    );
    assert.equal(
      accessDeniedMessage(
        user,
        { action: 'iam:ListRoles', resource: '*' },
        {
          allowed: false,
          denial: { explicit: false, in: 'permissions boundary' },
          matched: [],
        },
      ),
      `User: ${user} is not authorized to perform: iam:ListRoles because no permissions boundary allows the iam:ListRoles action`,
    );
  });

  test('a Condition with an unknown operator is a syntax error', () => {
    assert.throws(
      () =>
        compilePolicy(
          JSON.stringify({
            Statement: [
              {
                Effect: 'Allow',
                Action: '*',
                Resource: '*',
                Condition: { StringEqualz: { a: 'b' } },
              },
            ],
          }),
          'x',
        ),
      /unknown condition operator/,
    );
  });
});
