/**
 * Event pattern cases from AWS's documentation (content filtering operators, arrays,
 * numeric and IP matching, $or), each with the answer EventBridge gives:
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 * The documentation's `aws.ec2` source is `custom.ec2` here, since PutEvents refuses
 * `aws.*` sources and the same cases are routed through PutEvents.
 */

export interface PatternCase {
  name: string;
  /** Which of the two events below. */
  event: 'ec2' | 'metrics';
  pattern: Record<string, unknown>;
  matches: boolean;
}

/** The documentation's EC2 state-change event (without the envelope PutEvents adds). */
export const EC2_EVENT = {
  source: 'custom.ec2',
  'detail-type': 'EC2 Instance State-change Notification',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** Numeric, IP, array and null values, as in the documentation's filtering examples. */
export const METRICS_EVENT = {
  source: 'custom.metrics',
  'detail-type': 'Metrics',
  resources: [],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    'source-ipv6': '2001:db8::1',
    colors: ['red', 'blue'],
    items: [
      { name: 'a', v: 1 },
      { name: 'b', v: 2 },
    ],
    empty: '',
    nothing: null,
    flag: true,
  },
};

const ec2 = (name: string, pattern: Record<string, unknown>, matches: boolean): PatternCase => ({
  name,
  event: 'ec2',
  pattern,
  matches,
});
const m = (name: string, detail: Record<string, unknown>, matches: boolean): PatternCase => ({
  name,
  event: 'metrics',
  pattern: { source: ['custom.metrics'], detail },
  matches,
});
const state = (filter: unknown) => ({ detail: { state: [filter] } });

export const PATTERN_CASES: PatternCase[] = [
  ec2('exact source', { source: ['custom.ec2'] }, true),
  ec2('other source', { source: ['custom.s3'] }, false),
  ec2('exact detail-type', { 'detail-type': ['EC2 Instance State-change Notification'] }, true),
  ec2('one of several values', { detail: { state: ['running', 'terminated'] } }, true),
  ec2('none of several values', { detail: { state: ['running', 'pending'] } }, false),
  ec2('every field must match', { source: ['custom.ec2'], detail: { state: ['running'] } }, false),
  ec2('exact resource ARN', { resources: [EC2_EVENT.resources[0]] }, true),
  ec2('resource prefix', { resources: [{ prefix: 'arn:aws:ec2:' }] }, true),
  ec2('prefix', state({ prefix: 'ter' }), true),
  ec2('prefix that differs', state({ prefix: 'run' }), false),
  ec2('prefix ignoring case', state({ prefix: { 'equals-ignore-case': 'TER' } }), true),
  ec2('suffix', { detail: { 'instance-id': [{ suffix: 'ef0' }] } }, true),
  ec2('suffix that differs', { detail: { 'instance-id': [{ suffix: 'abc' }] } }, false),
  ec2(
    'suffix ignoring case',
    { detail: { 'instance-id': [{ suffix: { 'equals-ignore-case': 'EF0' } }] } },
    true,
  ),
  ec2('anything-but a value', state({ 'anything-but': 'initializing' }), true),
  ec2('anything-but the value', state({ 'anything-but': 'terminated' }), false),
  ec2('anything-but a list', state({ 'anything-but': ['stopped', 'overloaded'] }), true),
  ec2('anything-but a list with it', state({ 'anything-but': ['stopped', 'terminated'] }), false),
  ec2('anything-but a prefix', state({ 'anything-but': { prefix: 'init' } }), true),
  ec2('anything-but its prefix', state({ 'anything-but': { prefix: 'ter' } }), false),
  ec2('anything-but its suffix', state({ 'anything-but': { suffix: 'ed' } }), false),
  ec2('anything-but a suffix', state({ 'anything-but': { suffix: 'ing' } }), true),
  ec2(
    'anything-but ignoring case',
    state({ 'anything-but': { 'equals-ignore-case': 'TERMINATED' } }),
    false,
  ),
  ec2(
    'anything-but a list ignoring case',
    state({ 'anything-but': { 'equals-ignore-case': ['STOPPED', 'RUNNING'] } }),
    true,
  ),
  ec2('anything-but a wildcard', state({ 'anything-but': { wildcard: '*nated' } }), false),
  ec2('anything-but wildcards', state({ 'anything-but': { wildcard: ['run*', 'stop*'] } }), true),
  ec2('equals-ignore-case', state({ 'equals-ignore-case': 'TeRmInAtEd' }), true),
  ec2('wildcard', { detail: { 'instance-id': [{ wildcard: 'i-*0' }] } }, true),
  ec2('wildcard that differs', { detail: { 'instance-id': [{ wildcard: '*.png' }] } }, false),
  ec2('exists true', { detail: { 'instance-id': [{ exists: true }] } }, true),
  ec2('exists false on a present field', { detail: { 'instance-id': [{ exists: false }] } }, false),
  ec2('exists false on a missing field', { detail: { 'c-count': [{ exists: false }] } }, true),
  ec2('exists true on a missing field', { detail: { 'c-count': [{ exists: true }] } }, false),
  ec2(
    '$or, one branch matching',
    { $or: [{ detail: { state: ['running'] } }, { source: ['custom.ec2'] }] },
    true,
  ),
  ec2(
    '$or, no branch matching',
    { $or: [{ detail: { state: ['running'] } }, { source: ['custom.s3'] }] },
    false,
  ),
  ec2('anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false),
  m('numeric range', { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, true),
  m('numeric range excluding it', { 'c-count': [{ numeric: ['>', 5] }] }, false),
  m('numeric equals', { 'd-count': [{ numeric: ['=', 3.0] }] }, true),
  m('numeric below', { 'x-limit': [{ numeric: ['<', 300] }] }, false),
  m('numeric above with decimals', { 'x-limit': [{ numeric: ['>=', 301.8] }] }, true),
  m('numeric on a string', { 'source-ip': [{ numeric: ['>', 0] }] }, false),
  m('cidr', { 'source-ip': [{ cidr: '10.0.0.0/24' }] }, true),
  m('cidr elsewhere', { 'source-ip': [{ cidr: '10.0.1.0/24' }] }, false),
  m('cidr IPv6', { 'source-ipv6': [{ cidr: '2001:db8::/32' }] }, true),
  m('array contains', { colors: ['blue'] }, true),
  m('array does not contain', { colors: ['green'] }, false),
  m('array of objects, one object', { items: { name: ['b'], v: [2] } }, true),
  m('array of objects, across objects', { items: { name: ['a'], v: [2] } }, false),
  m('empty string', { empty: [''] }, true),
  m('null', { nothing: [null] }, true),
  m('null does not match a missing field', { missing: [null] }, false),
  m('boolean', { flag: [true] }, true),
  m('exact number', { 'c-count': [5] }, true),
  m('a string is not the number', { 'c-count': ['5'] }, false),
  m(
    'nested $or',
    { $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['<', 5] }] }] },
    true,
  ),
  m('wildcard in an IP', { 'source-ip': [{ wildcard: '10.0.*.123' }] }, true),
  m('prefix on a number', { 'c-count': [{ prefix: '5' }] }, false),
  m('anything-but numbers', { 'c-count': [{ 'anything-but': [1, 2, 3] }] }, true),
  m('anything-but its number', { 'c-count': [{ 'anything-but': [5] }] }, false),
];
