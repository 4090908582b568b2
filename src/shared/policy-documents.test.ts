import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDocument, policyDocumentError, policySize } from './policy-documents.js';

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
const permissions = JSON.stringify({
  Version: '2012-10-17',
  Statement: { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
});

test('valid trust and permission policies pass', () => {
  assert.equal(policyDocumentError(trust, 'trust'), undefined);
  assert.equal(policyDocumentError(permissions, 'permissions'), undefined);
});

test('invalid JSON: trust policies and permission policies word it differently', () => {
  assert.equal(policyDocumentError('{"Version":', 'trust'), 'This policy contains invalid Json');
  assert.equal(policyDocumentError('not json', 'permissions'), 'Syntax errors in policy.');
});

test('structural errors', () => {
  const cases: [unknown, string][] = [
    [[], 'Syntax errors in policy.'],
    [{ Version: '2012-10-17' }, 'Syntax errors in policy.'],
    [{ Version: '2019-01-01', Statement: [] }, 'Syntax errors in policy.'],
    [{ Statement: [{ Effect: 'allow', Action: '*', Resource: '*' }] }, 'Syntax errors in policy.'],
    [{ Statement: [{ Effect: 'Allow', Resource: '*' }] }, 'Policy statement must contain actions.'],
    [{ Statement: [{ Effect: 'Allow', Action: '*' }] }, 'Policy statement must contain resources.'],
    [
      { Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] },
      'Policy document should not specify a principal.',
    ],
    [
      { Statement: [{ Effect: 'Allow', Bogus: 1, Action: '*', Resource: '*' }] },
      'Syntax errors in policy.',
    ],
  ];
  for (const [doc, message] of cases) {
    assert.equal(
      policyDocumentError(JSON.stringify(doc), 'permissions'),
      message,
      JSON.stringify(doc),
    );
  }
});

test('size ignores white space outside strings only', () => {
  assert.equal(policySize('{ "a" : "b c" }'), '{"a":"b c"}'.length);
  assert.equal(policySize('{"a":"x\\" y"}'), '{"a":"x\\" y"}'.length);
  assert.equal(policySize(JSON.stringify(JSON.parse(permissions), null, 2)), permissions.length);
});

test('documents come back percent-encoded the way IAM sends them', () => {
  const encoded = encodeDocument('{"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}');
  assert.equal(
    encoded,
    '%7B%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F*%22%7D',
  );
  assert.equal(decodeURIComponent(encoded), '{"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}');
});
