import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStorage } from '../../storage/index.js';
import { ServiceAccessTracker, entityOf } from './access-tracker.js';
import { T } from './store.js';

const ACCOUNT = '000000000000';
const alice = { arn: `arn:aws:iam::${ACCOUNT}:user/team/alice`, userId: 'AIDA1' };
const session = { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/reader/job-1`, userId: 'AROA1:job-1' };
const entity = { account: ACCOUNT, kind: 'user' as const, name: 'alice' };

test('entities: users, the role behind a session, root; nothing for federated users', () => {
  assert.deepEqual(entityOf(alice.arn), entity);
  assert.deepEqual(entityOf(session.arn), { account: ACCOUNT, kind: 'role', name: 'reader' });
  assert.deepEqual(entityOf(`arn:aws:iam::${ACCOUNT}:root`), {
    account: ACCOUNT,
    kind: 'root',
    name: '',
  });
  assert.equal(entityOf(`arn:aws:sts::${ACCOUNT}:federated-user/bob`), null);
});

test('attempts are kept to the second, written in one batch, and read back by a new tracker', async () => {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  try {
    let now = Date.UTC(2026, 11, 4, 6, 0, 0, 250);
    const tracker = new ServiceAccessTracker(storage.store, () => now);
    tracker.attempted(alice, 'lambda:ListFunctions', 'us-east-1');
    now += 500; // the same second: nothing changes
    tracker.attempted(alice, 'lambda:ListFunctions', 'eu-west-1');
    tracker.attempted(alice, 'lambda:GetFunction', 'us-east-1');
    // Nothing is written before the batch.
    assert.equal(await storage.store.count(T.serviceAccess), 0);
    await tracker.flush();
    assert.equal(await storage.store.count(T.serviceAccess), 2);

    // A newer attempt within a minute of the stored one is kept in memory only …
    now += 5_000;
    tracker.attempted(alice, 'lambda:ListFunctions', 'eu-west-1');
    await tracker.flush();
    const fresh = new ServiceAccessTracker(storage.store, () => now);
    const stored = await fresh.records([entity]);
    const listed = stored.find((r) => r.action === 'lambda:ListFunctions');
    assert.equal(listed?.region, 'us-east-1');
    assert.equal(listed?.at, Date.UTC(2026, 11, 4, 6, 0, 0));
    // … and reported from memory by the tracker that saw it.
    const live = await tracker.records([entity]);
    assert.equal(live.find((r) => r.action === 'lambda:ListFunctions')?.region, 'eu-west-1');

    // A minute on, it is written again.
    now += 60_000;
    tracker.attempted(alice, 'lambda:ListFunctions', 'ap-south-1');
    await tracker.flush();
    const later = await new ServiceAccessTracker(storage.store).records([entity]);
    assert.equal(later.find((r) => r.action === 'lambda:ListFunctions')?.region, 'ap-south-1');

    // Role sessions count for their role.
    tracker.attempted(session, 'ecr:DescribeImages', 'us-east-1');
    const role = await tracker.records([{ account: ACCOUNT, kind: 'role', name: 'reader' }]);
    assert.deepEqual(
      role.map((r) => r.action),
      ['ecr:DescribeImages'],
    );
  } finally {
    await storage.close();
  }
});
