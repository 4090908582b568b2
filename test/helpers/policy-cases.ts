/**
 * Policy evaluation cases drawn from AWS's IAM documentation: the example policies of the
 * condition operator, policy variable, NotAction / NotResource, permissions boundary and
 * resource-based policy pages, each with requests and the decision the page states (or
 * that follows from the evaluation logic it documents). Used by the evaluator's unit test
 * and by the SimulateCustomPolicy test (the same evaluator enforces).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples.html
 */
import {
  ACCOUNT,
  allow,
  deny,
  doc,
  grouper,
  list,
  s,
  typed,
  type PolicyCase,
} from './policy-case-kit.js';
import { OPERATOR_CASES } from './policy-cases-operators.js';

export type { ContextValue, Decision, PolicyCase } from './policy-case-kit.js';

const cases: PolicyCase[] = [];
const group = grouper(cases);

// --- Action element: wildcards, case ------------------------------------------------------
group(
  'Action s3:Get*',
  [doc(allow('s3:Get*'))],
  [
    { action: 's3:GetObject', expect: 'allowed' },
    { action: 's3:GetBucketPolicy', expect: 'allowed' },
    { action: 's3:PutObject', expect: 'implicitDeny' },
    { action: 'ec2:GetConsoleOutput', expect: 'implicitDeny' },
  ],
);
group(
  "Action names are case-insensitive ('IAM:listroles')",
  [doc(allow('IAM:listroles'))],
  [
    { action: 'iam:ListRoles', expect: 'allowed' },
    { action: 'iam:ListUsers', expect: 'implicitDeny' },
  ],
);
group(
  'Action iam:*AccessKey*',
  [doc(allow('iam:*AccessKey*'))],
  [
    { action: 'iam:CreateAccessKey', expect: 'allowed' },
    { action: 'iam:ListAccessKeys', expect: 'allowed' },
    { action: 'iam:UpdateAccessKey', expect: 'allowed' },
    { action: 'iam:CreateUser', expect: 'implicitDeny' },
  ],
);
group(
  'Action with ? wildcard',
  [doc(allow('lambda:Get?unction'))],
  [
    { action: 'lambda:GetFunction', expect: 'allowed' },
    { action: 'lambda:GetFunctionConfiguration', expect: 'implicitDeny' },
  ],
);
group(
  'Action list',
  [doc(allow(['sqs:SendMessage', 'sqs:ReceiveMessage']))],
  [
    { action: 'sqs:SendMessage', expect: 'allowed' },
    { action: 'sqs:ReceiveMessage', expect: 'allowed' },
    { action: 'sqs:DeleteMessage', expect: 'implicitDeny' },
  ],
);
group(
  'No policy at all',
  [doc(allow('s3:ListBucket', 'arn:aws:s3:::other'))],
  [{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/k', expect: 'implicitDeny' }],
);

// --- NotAction ------------------------------------------------------------------------------
group(
  'NotAction: allow everything except IAM',
  [doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })],
  [
    { action: 's3:GetObject', expect: 'allowed' },
    { action: 'lambda:InvokeFunction', expect: 'allowed' },
    { action: 'iam:CreateUser', expect: 'implicitDeny' },
  ],
);
group(
  'Deny NotAction outside MFA (Allow * plus Deny NotAction iam:* without MFA)',
  [
    doc(allow('*'), {
      Effect: 'Deny',
      NotAction: 'iam:*',
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    }),
  ],
  [
    { action: 'iam:ListUsers', expect: 'allowed' },
    { action: 's3:ListAllMyBuckets', expect: 'explicitDeny' },
    {
      action: 's3:ListAllMyBuckets',
      context: [typed('boolean', 'aws:MultiFactorAuthPresent', 'true')],
      expect: 'allowed',
    },
    {
      action: 's3:ListAllMyBuckets',
      context: [typed('boolean', 'aws:MultiFactorAuthPresent', 'false')],
      expect: 'explicitDeny',
    },
  ],
);

// --- Resource and NotResource ----------------------------------------------------------------
group(
  'Resource: one bucket and its objects',
  [doc(allow('s3:*', ['arn:aws:s3:::DOC-EXAMPLE-BUCKET', 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/*']))],
  [
    { action: 's3:ListBucket', resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET', expect: 'allowed' },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET/a/b', expect: 'allowed' },
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::DOC-EXAMPLE-BUCKET2/a',
      expect: 'implicitDeny',
    },
    // ARNs are case-sensitive.
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::doc-example-bucket/a',
      expect: 'implicitDeny',
    },
  ],
);
group(
  'Resource wildcards per ARN segment (lambda functions in any region)',
  [doc(allow('lambda:InvokeFunction', `arn:aws:lambda:*:${ACCOUNT}:function:prod-*`))],
  [
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:prod-api`,
      expect: 'allowed',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:prod-api:live`,
      expect: 'allowed',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:dev-api`,
      expect: 'implicitDeny',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:999999999999:function:prod-api`,
      expect: 'implicitDeny',
    },
  ],
);
group(
  'An unqualified function ARN does not match a qualified one',
  [doc(allow('lambda:InvokeFunction', `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f`))],
  [
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f`,
      expect: 'allowed',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f:1`,
      expect: 'implicitDeny',
    },
  ],
);
group(
  'NotResource: deny everything but one bucket',
  [
    doc(allow('s3:*'), {
      Effect: 'Deny',
      Action: 's3:*',
      NotResource: ['arn:aws:s3:::HRBucket/Payroll', 'arn:aws:s3:::HRBucket/Payroll/*'],
    }),
  ],
  [
    { action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Payroll/x', expect: 'allowed' },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::HRBucket/Other', expect: 'explicitDeny' },
    { action: 's3:ListBucket', resource: 'arn:aws:s3:::HRBucket/Payroll', expect: 'allowed' },
  ],
);

// --- Explicit deny ------------------------------------------------------------------------
group(
  'Explicit deny beats allow in another policy',
  [doc(allow('dynamodb:*')), doc(deny('dynamodb:DeleteTable'))],
  [
    { action: 'dynamodb:GetItem', expect: 'allowed' },
    { action: 'dynamodb:DeleteTable', expect: 'explicitDeny' },
  ],
);
group(
  'Explicit deny beats allow in the same policy',
  [doc(allow('ec2:*'), deny('ec2:Terminate*'))],
  [
    { action: 'ec2:RunInstances', expect: 'allowed' },
    { action: 'ec2:TerminateInstances', expect: 'explicitDeny' },
  ],
);

// --- String conditions -------------------------------------------------------------------
group(
  'StringEquals aws:PrincipalTag/job-category',
  [
    doc(
      allow('iam:*AccessKey*', `arn:aws:iam::${ACCOUNT}:user/*`, {
        Condition: { StringEquals: { 'aws:PrincipalTag/job-category': 'iamuser-admin' } },
      }),
    ),
  ],
  [
    {
      action: 'iam:CreateAccessKey',
      resource: `arn:aws:iam::${ACCOUNT}:user/bob`,
      context: [s('aws:PrincipalTag/job-category', 'iamuser-admin')],
      expect: 'allowed',
    },
    {
      action: 'iam:CreateAccessKey',
      resource: `arn:aws:iam::${ACCOUNT}:user/bob`,
      context: [s('aws:PrincipalTag/job-category', 'IAMUSER-ADMIN')],
      expect: 'implicitDeny',
    },
    {
      action: 'iam:CreateAccessKey',
      resource: `arn:aws:iam::${ACCOUNT}:user/bob`,
      expect: 'implicitDeny',
    },
    {
      // Condition key names are case-insensitive.
      action: 'iam:CreateAccessKey',
      resource: `arn:aws:iam::${ACCOUNT}:user/bob`,
      context: [s('aws:principaltag/job-category', 'iamuser-admin')],
      expect: 'allowed',
    },
  ],
);
group(
  'StringEqualsIgnoreCase',
  [
    doc(
      allow('ec2:*', '*', {
        Condition: { StringEqualsIgnoreCase: { 'aws:PrincipalTag/name': 'Ops' } },
      }),
    ),
  ],
  [
    { action: 'ec2:RunInstances', context: [s('aws:PrincipalTag/name', 'OPS')], expect: 'allowed' },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:PrincipalTag/name', 'dev')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'StringNotEquals: a missing key satisfies a negated operator',
  [
    doc(
      allow('*'),
      deny('*', '*', {
        Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } },
      }),
    ),
  ],
  [
    {
      action: 'ec2:RunInstances',
      context: [s('aws:RequestedRegion', 'us-east-1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:RequestedRegion', 'eu-west-1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:RequestedRegion', 'ap-south-1')],
      expect: 'explicitDeny',
    },
    { action: 'ec2:RunInstances', expect: 'explicitDeny' },
  ],
);
group(
  'StringLike s3:prefix with a policy variable',
  [
    doc(
      allow('s3:ListBucket', 'arn:aws:s3:::amzn-s3-demo-bucket', {
        Condition: { StringLike: { 's3:prefix': ['', 'home/', 'home/${aws:username}/*'] } },
      }),
    ),
  ],
  [
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
      context: [s('s3:prefix', 'home/Bob/photos')],
      expect: 'allowed',
    },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
      context: [s('s3:prefix', 'home/Alice/')],
      expect: 'implicitDeny',
    },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
      context: [s('s3:prefix', '')],
      expect: 'allowed',
    },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Bob`,
      context: [s('s3:prefix', 'home/')],
      expect: 'allowed',
    },
  ],
);
group(
  'StringNotLike',
  [
    doc(
      allow('s3:*'),
      deny('s3:PutObject', '*', {
        Condition: { StringNotLike: { 's3:x-amz-server-side-encryption': 'aws:kms*' } },
      }),
    ),
  ],
  [
    {
      action: 's3:PutObject',
      context: [s('s3:x-amz-server-side-encryption', 'aws:kms')],
      expect: 'allowed',
    },
    {
      action: 's3:PutObject',
      context: [s('s3:x-amz-server-side-encryption', 'AES256')],
      expect: 'explicitDeny',
    },
  ],
);

// --- Policy variables in Resource ---------------------------------------------------------
group(
  'Resource with ${aws:username}',
  [doc(allow('s3:*', 'arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*'))],
  [
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/Alice/a.txt',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Alice`,
      expect: 'allowed',
    },
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::amzn-s3-demo-bucket/home/Bob/a.txt',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Alice`,
      expect: 'implicitDeny',
    },
  ],
);
group(
  'Policy variables are literal text in a 2008-10-17 policy',
  [
    JSON.stringify({
      Version: '2008-10-17',
      Statement: [allow('s3:*', 'arn:aws:s3:::b/${aws:username}/*')],
    }),
  ],
  [
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/Alice/x',
      callerArn: `arn:aws:iam::${ACCOUNT}:user/Alice`,
      expect: 'implicitDeny',
    },
  ],
);
group(
  'A policy variable with a default value',
  [doc(allow('s3:GetObject', "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*"))],
  [
    { action: 's3:GetObject', resource: 'arn:aws:s3:::b/shared/x', expect: 'allowed' },
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/blue/x',
      context: [s('aws:PrincipalTag/team', 'blue')],
      expect: 'allowed',
    },
    { action: 's3:GetObject', resource: 'arn:aws:s3:::b/blue/x', expect: 'implicitDeny' },
  ],
);
group(
  'Tag-based access with ${aws:PrincipalTag} in a condition',
  [
    doc(
      allow('ec2:StartInstances', '*', {
        Condition: { StringEquals: { 'aws:ResourceTag/project': '${aws:PrincipalTag/project}' } },
      }),
    ),
  ],
  [
    {
      action: 'ec2:StartInstances',
      context: [s('aws:ResourceTag/project', 'apollo'), s('aws:PrincipalTag/project', 'apollo')],
      expect: 'allowed',
    },
    {
      action: 'ec2:StartInstances',
      context: [s('aws:ResourceTag/project', 'gemini'), s('aws:PrincipalTag/project', 'apollo')],
      expect: 'implicitDeny',
    },
    {
      action: 'ec2:StartInstances',
      context: [s('aws:ResourceTag/project', 'apollo')],
      expect: 'implicitDeny',
    },
  ],
);

// --- Numeric, date, bool, binary, IP, ARN, Null: policy-cases-operators.ts ------------------
cases.push(...OPERATOR_CASES);

// --- Multivalued keys: ForAllValues / ForAnyValue -------------------------------------------
group(
  'ForAllValues:StringEquals aws:TagKeys (only these tag keys)',
  [
    doc(
      allow('ec2:CreateTags', '*', {
        Condition: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] },
        },
      }),
    ),
  ],
  [
    { action: 'ec2:CreateTags', context: [list('aws:TagKeys', 'environment')], expect: 'allowed' },
    {
      action: 'ec2:CreateTags',
      context: [list('aws:TagKeys', 'environment', 'cost-center')],
      expect: 'allowed',
    },
    {
      action: 'ec2:CreateTags',
      context: [list('aws:TagKeys', 'environment', 'owner')],
      expect: 'implicitDeny',
    },
    // "ForAllValues … returns true if there are no keys in the request".
    { action: 'ec2:CreateTags', expect: 'allowed' },
  ],
);
group(
  'ForAnyValue:StringEquals aws:TagKeys',
  [
    doc(
      allow('ec2:CreateTags', '*', {
        Condition: {
          'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] },
        },
      }),
    ),
  ],
  [
    {
      action: 'ec2:CreateTags',
      context: [list('aws:TagKeys', 'environment', 'owner')],
      expect: 'allowed',
    },
    { action: 'ec2:CreateTags', context: [list('aws:TagKeys', 'owner')], expect: 'implicitDeny' },
    { action: 'ec2:CreateTags', expect: 'implicitDeny' },
  ],
);
group(
  'ForAllValues:StringLike',
  [
    doc(
      allow('ec2:CreateTags', '*', {
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['key*', 'team'] } },
      }),
    ),
  ],
  [
    {
      action: 'ec2:CreateTags',
      context: [list('aws:TagKeys', 'key1', 'key2', 'team')],
      expect: 'allowed',
    },
    {
      action: 'ec2:CreateTags',
      context: [list('aws:TagKeys', 'key1', 'other')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'Deny with ForAnyValue:StringNotEquals',
  [
    doc(
      allow('*'),
      deny('ec2:CreateTags', '*', {
        Condition: { 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['a', 'b'] } },
      }),
    ),
  ],
  [
    { action: 'ec2:CreateTags', context: [list('aws:TagKeys', 'a', 'b')], expect: 'allowed' },
    { action: 'ec2:CreateTags', context: [list('aws:TagKeys', 'a', 'c')], expect: 'explicitDeny' },
    { action: 'ec2:CreateTags', expect: 'allowed' },
  ],
);

// --- Permissions boundaries --------------------------------------------------------------
const boundary = doc(allow(['s3:*', 'cloudwatch:*', 'ec2:Describe*']));
group(
  'Permissions boundary: the intersection is effective',
  [doc(allow(['s3:*', 'iam:*', 'ec2:*']))],
  [
    { action: 's3:GetObject', expect: 'allowed' },
    { action: 'ec2:DescribeInstances', expect: 'allowed' },
    { action: 'iam:CreateUser', expect: 'implicitDeny' },
    { action: 'ec2:RunInstances', expect: 'implicitDeny' },
    { action: 'cloudwatch:PutMetricData', expect: 'implicitDeny' },
  ],
  { boundary },
);
group(
  'Permissions boundary: a Deny in the boundary is explicit',
  [doc(allow('*'))],
  [
    { action: 's3:DeleteBucket', expect: 'explicitDeny' },
    { action: 's3:GetObject', expect: 'allowed' },
  ],
  { boundary: doc(allow('s3:*'), deny('s3:DeleteBucket')) },
);

// --- Resource-based policies, same account and across accounts -------------------------------
const bucket = 'arn:aws:s3:::shared-bucket';
const user = `arn:aws:iam::${ACCOUNT}:user/carlos`;
group(
  'Same account: a resource policy naming the user allows without an identity policy',
  [doc(allow('sqs:Nothing'))],
  [
    { action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'allowed' },
    { action: 's3:PutObject', resource: `${bucket}/k`, callerArn: user, expect: 'implicitDeny' },
  ],
  {
    resourcePolicy: doc({
      Effect: 'Allow',
      Principal: { AWS: user },
      Action: 's3:GetObject',
      Resource: `${bucket}/*`,
    }),
  },
);
group(
  'Same account: a resource policy naming the account delegates to identity policies',
  [doc(allow('sqs:Nothing'))],
  [{ action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'implicitDeny' }],
  {
    resourcePolicy: doc({
      Effect: 'Allow',
      Principal: { AWS: ACCOUNT },
      Action: 's3:GetObject',
      Resource: `${bucket}/*`,
    }),
  },
);
group(
  'A Deny in the resource policy beats the identity Allow',
  [doc(allow('s3:*'))],
  [
    { action: 's3:DeleteObject', resource: `${bucket}/k`, callerArn: user, expect: 'explicitDeny' },
    { action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'allowed' },
  ],
  {
    resourcePolicy: doc({
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:DeleteObject',
      Resource: `${bucket}/*`,
    }),
  },
);
group(
  'NotPrincipal in a resource policy: deny everyone but one user',
  [doc(allow('s3:*'))],
  [
    { action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'allowed' },
    {
      action: 's3:GetObject',
      resource: `${bucket}/k`,
      callerArn: `arn:aws:iam::${ACCOUNT}:user/eve`,
      expect: 'explicitDeny',
    },
  ],
  {
    resourcePolicy: doc({
      Effect: 'Deny',
      NotPrincipal: { AWS: user },
      Action: 's3:*',
      Resource: `${bucket}/*`,
    }),
  },
);
group(
  'Across accounts: both the identity policy and the resource policy must allow',
  [doc(allow('s3:GetObject'))],
  [
    { action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'allowed' },
    { action: 's3:PutObject', resource: `${bucket}/k`, callerArn: user, expect: 'implicitDeny' },
  ],
  {
    resourceOwner: 'arn:aws:iam::111122223333:root',
    resourcePolicy: doc({
      Effect: 'Allow',
      Principal: { AWS: ACCOUNT },
      Action: ['s3:GetObject', 's3:PutObject'],
      Resource: `${bucket}/*`,
    }),
  },
);
group(
  'Across accounts: no resource policy, no access',
  [doc(allow('s3:*'))],
  [{ action: 's3:GetObject', resource: `${bucket}/k`, callerArn: user, expect: 'implicitDeny' }],
  {
    resourceOwner: 'arn:aws:iam::111122223333:root',
    resourcePolicy: doc({
      Effect: 'Allow',
      Principal: { AWS: '444455556666' },
      Action: 's3:*',
      Resource: `${bucket}/*`,
    }),
  },
);

export const POLICY_CASES: readonly PolicyCase[] = cases;
