/**
 * Policy evaluation cases for the typed condition operators (numeric, date, bool, binary,
 * IP address, ARN, Null), from AWS's condition operator page; part of POLICY_CASES.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 */
import {
  ACCOUNT,
  allow,
  deny,
  doc,
  grouper,
  s,
  typed,
  type PolicyCase,
} from './policy-case-kit.js';

const cases: PolicyCase[] = [];
const group = grouper(cases);

// --- Numeric, date, bool, binary, IP, ARN, Null --------------------------------------------
group(
  'NumericLessThanEquals s3:max-keys',
  [
    doc(
      allow('s3:ListBucket', 'arn:aws:s3:::b', {
        Condition: { NumericLessThanEquals: { 's3:max-keys': '10' } },
      }),
    ),
  ],
  [
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::b',
      context: [typed('numeric', 's3:max-keys', '10')],
      expect: 'allowed',
    },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::b',
      context: [typed('numeric', 's3:max-keys', '2')],
      expect: 'allowed',
    },
    {
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::b',
      context: [typed('numeric', 's3:max-keys', '11')],
      expect: 'implicitDeny',
    },
    { action: 's3:ListBucket', resource: 'arn:aws:s3:::b', expect: 'implicitDeny' },
  ],
);
group(
  'Numeric operators',
  [
    doc(
      allow('a:One', '*', { Condition: { NumericEquals: { 'svc:count': '5' } } }),
      allow('a:Two', '*', { Condition: { NumericNotEquals: { 'svc:count': '5' } } }),
      allow('a:Three', '*', { Condition: { NumericGreaterThan: { 'svc:count': '5' } } }),
      allow('a:Four', '*', { Condition: { NumericGreaterThanEquals: { 'svc:count': '5' } } }),
      allow('a:Five', '*', { Condition: { NumericLessThan: { 'svc:count': '5' } } }),
    ),
  ],
  [
    { action: 'a:One', context: [typed('numeric', 'svc:count', '5.0')], expect: 'allowed' },
    { action: 'a:Two', context: [typed('numeric', 'svc:count', '5')], expect: 'implicitDeny' },
    { action: 'a:Three', context: [typed('numeric', 'svc:count', '6')], expect: 'allowed' },
    { action: 'a:Four', context: [typed('numeric', 'svc:count', '5')], expect: 'allowed' },
    { action: 'a:Five', context: [typed('numeric', 'svc:count', '5')], expect: 'implicitDeny' },
    { action: 'a:Five', context: [typed('numeric', 'svc:count', '-1')], expect: 'allowed' },
  ],
);
group(
  'DateGreaterThan / DateLessThan aws:CurrentTime',
  [
    doc(
      allow('ec2:*', '*', {
        Condition: {
          DateGreaterThan: { 'aws:CurrentTime': '2020-04-01T00:00:00Z' },
          DateLessThan: { 'aws:CurrentTime': '2020-06-30T23:59:59Z' },
        },
      }),
    ),
  ],
  [
    {
      action: 'ec2:RunInstances',
      context: [typed('date', 'aws:CurrentTime', '2020-05-01T12:00:00Z')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('date', 'aws:CurrentTime', '2020-07-01T00:00:00Z')],
      expect: 'implicitDeny',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('date', 'aws:CurrentTime', '2020-03-31T23:59:59Z')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'DateLessThan with epoch seconds (aws:EpochTime)',
  [doc(allow('s3:*', '*', { Condition: { DateLessThan: { 'aws:EpochTime': '1588291200' } } }))],
  [
    {
      action: 's3:GetObject',
      context: [typed('date', 'aws:EpochTime', '1588291199')],
      expect: 'allowed',
    },
    {
      action: 's3:GetObject',
      context: [typed('date', 'aws:EpochTime', '1588291200')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'Bool aws:SecureTransport (deny plain HTTP)',
  [
    doc(
      allow('s3:*'),
      deny('s3:*', '*', { Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ),
  ],
  [
    {
      action: 's3:GetObject',
      context: [typed('boolean', 'aws:SecureTransport', 'false')],
      expect: 'explicitDeny',
    },
    {
      action: 's3:GetObject',
      context: [typed('boolean', 'aws:SecureTransport', 'true')],
      expect: 'allowed',
    },
    { action: 's3:GetObject', expect: 'allowed' },
  ],
);
group(
  'BinaryEquals',
  [
    doc(
      allow('a:Act', '*', {
        Condition: { BinaryEquals: { 'svc:key': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } },
      }),
    ),
  ],
  [
    {
      action: 'a:Act',
      context: [typed('binary', 'svc:key', 'QmluYXJ5VmFsdWVJbkJhc2U2NA==')],
      expect: 'allowed',
    },
    { action: 'a:Act', context: [typed('binary', 'svc:key', 'b3RoZXI=')], expect: 'implicitDeny' },
  ],
);
group(
  'IpAddress / NotIpAddress aws:SourceIp',
  [
    doc(
      allow('*'),
      deny('*', '*', {
        Condition: {
          NotIpAddress: {
            'aws:SourceIp': ['192.0.2.0/24', '203.0.113.0/24', '2001:DB8:1234:5678::/64'],
          },
        },
      }),
    ),
  ],
  [
    {
      action: 'ec2:RunInstances',
      context: [typed('ip', 'aws:SourceIp', '192.0.2.77')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('ip', 'aws:SourceIp', '203.0.113.1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('ip', 'aws:SourceIp', '198.51.100.7')],
      expect: 'explicitDeny',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('ip', 'aws:SourceIp', '2001:db8:1234:5678::1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [typed('ip', 'aws:SourceIp', '2001:db8:1234:9999::1')],
      expect: 'explicitDeny',
    },
  ],
);
group(
  'IpAddress with a single address',
  [doc(allow('s3:*', '*', { Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.5' } } }))],
  [
    {
      action: 's3:GetObject',
      context: [typed('ip', 'aws:SourceIp', '203.0.113.5')],
      expect: 'allowed',
    },
    {
      action: 's3:GetObject',
      context: [typed('ip', 'aws:SourceIp', '203.0.113.6')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'ArnLike / ArnEquals aws:SourceArn',
  [
    doc(
      allow('sqs:SendMessage', '*', {
        Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:sns:*:${ACCOUNT}:topic-*` } },
      }),
      allow('sqs:ReceiveMessage', '*', {
        Condition: { ArnEquals: { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCOUNT}:exact` } },
      }),
    ),
  ],
  [
    {
      action: 'sqs:SendMessage',
      context: [s('aws:SourceArn', `arn:aws:sns:us-east-1:${ACCOUNT}:topic-a`)],
      expect: 'allowed',
    },
    {
      action: 'sqs:SendMessage',
      context: [s('aws:SourceArn', `arn:aws:sns:us-east-1:999999999999:topic-a`)],
      expect: 'implicitDeny',
    },
    {
      action: 'sqs:ReceiveMessage',
      context: [s('aws:SourceArn', `arn:aws:sns:us-east-1:${ACCOUNT}:exact`)],
      expect: 'allowed',
    },
    {
      action: 'sqs:ReceiveMessage',
      context: [s('aws:SourceArn', `arn:aws:sns:us-east-1:${ACCOUNT}:exact2`)],
      expect: 'implicitDeny',
    },
  ],
);
group(
  'ArnNotLike',
  [
    doc(
      allow('*'),
      deny('lambda:InvokeFunction', '*', {
        Condition: { ArnNotLike: { 'aws:SourceArn': 'arn:aws:events:*:*:rule/allowed-*' } },
      }),
    ),
  ],
  [
    {
      action: 'lambda:InvokeFunction',
      context: [s('aws:SourceArn', `arn:aws:events:us-east-1:${ACCOUNT}:rule/allowed-1`)],
      expect: 'allowed',
    },
    {
      action: 'lambda:InvokeFunction',
      context: [s('aws:SourceArn', `arn:aws:events:us-east-1:${ACCOUNT}:rule/other`)],
      expect: 'explicitDeny',
    },
  ],
);
group(
  'Null: deny requests made with temporary credentials (aws:TokenIssueTime present)',
  [doc(allow('*'), deny('*', '*', { Condition: { Null: { 'aws:TokenIssueTime': 'false' } } }))],
  [
    {
      action: 's3:GetObject',
      context: [typed('date', 'aws:TokenIssueTime', '2024-01-01T00:00:00Z')],
      expect: 'explicitDeny',
    },
    { action: 's3:GetObject', expect: 'allowed' },
  ],
);
group(
  'Null true: allow only when a tag is absent',
  [
    doc(
      allow('ec2:CreateVolume', '*', { Condition: { Null: { 'aws:RequestTag/owner': 'true' } } }),
    ),
  ],
  [
    { action: 'ec2:CreateVolume', expect: 'allowed' },
    {
      action: 'ec2:CreateVolume',
      context: [s('aws:RequestTag/owner', 'me')],
      expect: 'implicitDeny',
    },
  ],
);
group(
  '…IfExists: StringEqualsIfExists ec2:InstanceType',
  [
    doc(
      allow('ec2:RunInstances', '*', {
        Condition: { StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } },
      }),
    ),
  ],
  [
    { action: 'ec2:RunInstances', context: [s('ec2:InstanceType', 't2.micro')], expect: 'allowed' },
    {
      action: 'ec2:RunInstances',
      context: [s('ec2:InstanceType', 'c5.large')],
      expect: 'implicitDeny',
    },
    { action: 'ec2:RunInstances', expect: 'allowed' },
  ],
);
group(
  'Several keys in one operator are ANDed, several values ORed',
  [
    doc(
      allow('ec2:*', '*', {
        Condition: {
          StringEquals: {
            'aws:PrincipalTag/dept': ['eng', 'ops'],
            'aws:RequestedRegion': 'us-east-1',
          },
        },
      }),
    ),
  ],
  [
    {
      action: 'ec2:RunInstances',
      context: [s('aws:PrincipalTag/dept', 'eng'), s('aws:RequestedRegion', 'us-east-1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:PrincipalTag/dept', 'ops'), s('aws:RequestedRegion', 'us-east-1')],
      expect: 'allowed',
    },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:PrincipalTag/dept', 'eng'), s('aws:RequestedRegion', 'us-west-2')],
      expect: 'implicitDeny',
    },
    {
      action: 'ec2:RunInstances',
      context: [s('aws:PrincipalTag/dept', 'hr'), s('aws:RequestedRegion', 'us-east-1')],
      expect: 'implicitDeny',
    },
  ],
);

export const OPERATOR_CASES: readonly PolicyCase[] = cases;
