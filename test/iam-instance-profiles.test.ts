/**
 * IAM instance profiles through SDK v3: one role per profile, AWS's DeleteConflict on
 * both sides of the link, paging of ListInstanceProfiles, tags.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  DeleteInstanceProfileCommand,
  DeleteRoleCommand,
  GetInstanceProfileCommand,
  IAMClient,
  ListInstanceProfilesCommand,
  ListInstanceProfilesForRoleCommand,
  ListInstanceProfileTagsCommand,
  RemoveRoleFromInstanceProfileCommand,
  TagInstanceProfileCommand,
  UntagInstanceProfileCommand,
} from '@aws-sdk/client-iam';
import { createRole } from './helpers/lambda.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let iam: IAMClient;

before(async () => {
  server = await startTestServer();
  iam = new IAMClient(clientConfig(server.endpoint));
});
after(async () => {
  iam?.destroy();
  await server?.stop();
});

test('instance profiles hold one role and refuse deletes while linked', async () => {
  await createRole(iam, 'ip-role');
  await createRole(iam, 'ip-other');
  const created = await iam.send(
    new CreateInstanceProfileCommand({ InstanceProfileName: 'web', Path: '/app/' }),
  );
  assert.equal(created.InstanceProfile?.Arn, 'arn:aws:iam::000000000000:instance-profile/app/web');
  assert.match(created.InstanceProfile?.InstanceProfileId ?? '', /^AIPA[A-Z2-7]{17}$/);
  assert.deepEqual(created.InstanceProfile?.Roles, []);
  await assert.rejects(iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'WEB' })), {
    name: 'EntityAlreadyExistsException',
    message: 'Instance Profile WEB already exists.',
  });
  await assert.rejects(iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'nope' })), {
    name: 'NoSuchEntityException',
    message: 'Instance Profile nope cannot be found.',
  });

  await iam.send(
    new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'web', RoleName: 'ip-role' }),
  );
  await assert.rejects(
    iam.send(
      new AddRoleToInstanceProfileCommand({ InstanceProfileName: 'web', RoleName: 'ip-other' }),
    ),
    {
      name: 'LimitExceededException',
      message: 'Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1',
    },
  );
  const got = await iam.send(new GetInstanceProfileCommand({ InstanceProfileName: 'web' }));
  assert.deepEqual(
    got.InstanceProfile?.Roles?.map((r) => r.RoleName),
    ['ip-role'],
  );
  const forRole = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: 'ip-role' }));
  assert.deepEqual(
    forRole.InstanceProfiles?.map((p) => p.InstanceProfileName),
    ['web'],
  );

  const conflict = {
    name: 'DeleteConflictException',
    message: 'Cannot delete entity, must remove roles from instance profile first.',
  };
  await assert.rejects(iam.send(new DeleteRoleCommand({ RoleName: 'ip-role' })), conflict);
  await assert.rejects(
    iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: 'web' })),
    conflict,
  );
  await assert.rejects(
    iam.send(
      new RemoveRoleFromInstanceProfileCommand({
        InstanceProfileName: 'web',
        RoleName: 'ip-other',
      }),
    ),
    { name: 'NoSuchEntityException' },
  );
  await iam.send(
    new RemoveRoleFromInstanceProfileCommand({ InstanceProfileName: 'web', RoleName: 'ip-role' }),
  );
  await iam.send(new DeleteRoleCommand({ RoleName: 'ip-role' }));
  await iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: 'web' }));
  await assert.rejects(iam.send(new DeleteInstanceProfileCommand({ InstanceProfileName: 'web' })), {
    name: 'NoSuchEntityException',
  });
});

test('ListInstanceProfiles filters by path prefix and pages; profiles keep tags', async () => {
  for (const n of ['p1', 'p2', 'p3']) {
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: n, Path: '/pg/' }));
  }
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: 'elsewhere' }));
  const first = await iam.send(
    new ListInstanceProfilesCommand({ PathPrefix: '/pg/', MaxItems: 2 }),
  );
  assert.deepEqual(
    first.InstanceProfiles?.map((p) => p.InstanceProfileName),
    ['p1', 'p2'],
  );
  assert.equal(first.IsTruncated, true);
  const second = await iam.send(
    new ListInstanceProfilesCommand({ PathPrefix: '/pg/', MaxItems: 2, Marker: first.Marker }),
  );
  assert.deepEqual(
    second.InstanceProfiles?.map((p) => p.InstanceProfileName),
    ['p3'],
  );
  assert.equal(second.IsTruncated, false);

  await iam.send(
    new TagInstanceProfileCommand({
      InstanceProfileName: 'p1',
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    }),
  );
  await iam.send(new UntagInstanceProfileCommand({ InstanceProfileName: 'p1', TagKeys: ['A'] }));
  const tags = await iam.send(new ListInstanceProfileTagsCommand({ InstanceProfileName: 'p1' }));
  assert.deepEqual(tags.Tags, [{ Key: 'b', Value: '2' }]);
  await assert.rejects(
    iam.send(
      new TagInstanceProfileCommand({
        InstanceProfileName: 'p1',
        Tags: [
          { Key: 'k', Value: '1' },
          { Key: 'K', Value: '2' },
        ],
      }),
    ),
    { name: 'InvalidInputException' },
  );
});
