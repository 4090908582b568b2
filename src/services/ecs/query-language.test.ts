import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuerySyntaxError, evaluate, parseQuery, type QuerySubject } from './query-language.js';

const instance: QuerySubject = {
  attributes: new Map<string, string | undefined>([
    ['ecs.instance-type', 't2.small'],
    ['ecs.availability-zone', 'us-east-1a'],
    ['stack', 'prod'],
    ['gpu', undefined],
  ]),
  ec2InstanceId: 'i-abcd1234',
  agentConnected: true,
  agentVersion: '1.14.5',
  registeredAt: Date.parse('2018-06-18T22:28:28Z'),
  runningTasksCount: 2,
  taskGroups: ['service:production', 'family:web'],
};

const holds = (q: string): boolean => evaluate(parseQuery(q), instance);

test('the cluster query language examples of the ECS developer guide', () => {
  assert.equal(holds('attribute:ecs.instance-type == t2.small'), true);
  assert.equal(holds('attribute:ecs.instance-type equals t2.medium'), false);
  assert.equal(holds('attribute:ecs.availability-zone in [us-east-1a, us-east-1b]'), true);
  assert.equal(holds('attribute:ecs.availability-zone not_in [us-east-1a]'), false);
  assert.equal(holds('attribute:ecs.instance-type =~ t2.*'), true);
  assert.equal(holds('attribute:ecs.instance-type !~ g2.*'), true);
  assert.equal(
    holds('attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1b'),
    false,
  );
  assert.equal(
    holds('attribute:ecs.instance-type =~ t2.* or attribute:ecs.availability-zone == us-east-1b'),
    true,
  );
  assert.equal(holds('not(attribute:ecs.instance-type =~ t2.*)'), false);
  assert.equal(holds('!(attribute:stack == test) && attribute:stack exists'), true);
  assert.equal(holds('attribute:gpu exists'), true);
  assert.equal(holds('attribute:missing !exists'), true);
  assert.equal(holds('attribute:missing not_exists'), true);
  assert.equal(holds('task:group == service:production'), true);
  assert.equal(holds('task:group != service:production'), false);
  assert.equal(holds('not(task:group == database)'), true);
  assert.equal(holds("ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']"), true);
  assert.equal(holds('runningTasksCount > 1'), true);
  assert.equal(holds('runningTasksCount == 0'), false);
  assert.equal(holds('agentVersion < 1.14.10'), true);
  assert.equal(holds('agentVersion >= 1.15'), false);
  assert.equal(holds('registeredAt < 2018-06-19'), true);
  assert.equal(holds('registeredAt greater_than 2018-06-18T22:28:28+00:00'), false);
  assert.equal(
    holds('(attribute:stack == prod or attribute:stack == test) and runningTasksCount <= 2'),
    true,
  );
});

test('malformed expressions are refused', () => {
  for (const bad of [
    '',
    'attribute:stack',
    'attribute:stack ~~ prod',
    'attribute:stack in [a, b',
    '(attribute:stack == prod',
    'attribute:stack == prod extra',
  ])
    assert.throws(() => parseQuery(bad), QuerySyntaxError, bad);
});
