/**
 * ECS account settings through @aws-sdk/client-ecs and the AWS CLI v2: a principal's own
 * setting, the account default (PutAccountSettingDefault, and the root user's setting),
 * the effective settings that fall back to AWS's defaults, deletion, and AWS's refusal of
 * a value a setting does not take.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DeleteAccountSettingCommand,
  ECSClient,
  ListAccountSettingsCommand,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
} from '@aws-sdk/client-ecs';
import { awsCli } from './helpers/clients.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const ROOT = 'arn:aws:iam::000000000000:root';
const ALICE = 'arn:aws:iam::000000000000:user/alice';

let server: TestServer;
let ecs: ECSClient;

before(async () => {
  server = await startTestServer();
  ecs = new ECSClient(clientConfig(server.endpoint));
});

after(async () => {
  ecs?.destroy();
  await server?.stop();
});

test('account settings: defaults, a principal of its own, effective values, delete', async () => {
  const effective = async (principalArn: string, name: 'containerInsights' | 'awsvpcTrunking') =>
    (
      await ecs.send(
        new ListAccountSettingsCommand({ name, principalArn, effectiveSettings: true }),
      )
    ).settings![0]!;

  // Nothing set: AWS's own default.
  assert.deepEqual(await effective(ALICE, 'containerInsights'), {
    name: 'containerInsights',
    value: 'disabled',
    principalArn: ALICE,
    type: 'aws_managed',
  });
  const explicit = await ecs.send(new ListAccountSettingsCommand({ principalArn: ALICE }));
  assert.deepEqual(explicit.settings, []);

  // The account default applies to every principal without a setting of its own.
  const def = await ecs.send(
    new PutAccountSettingDefaultCommand({ name: 'containerInsights', value: 'enhanced' }),
  );
  assert.deepEqual(def.setting, {
    name: 'containerInsights',
    value: 'enhanced',
    principalArn: ROOT,
    type: 'user',
  });
  assert.equal((await effective(ALICE, 'containerInsights')).value, 'enhanced');

  // Alice's own wins over the default.
  await ecs.send(
    new PutAccountSettingCommand({
      name: 'containerInsights',
      value: 'disabled',
      principalArn: ALICE,
    }),
  );
  assert.equal((await effective(ALICE, 'containerInsights')).value, 'disabled');
  const mine = await ecs.send(new ListAccountSettingsCommand({ principalArn: ALICE }));
  assert.deepEqual(
    mine.settings!.map((s) => [s.name, s.value, s.principalArn]),
    [['containerInsights', 'disabled', ALICE]],
  );

  // The root user's setting (the caller here) is the account default.
  const cli = await awsCli(server.endpoint, [
    'ecs',
    'put-account-setting',
    '--name',
    'awsvpcTrunking',
    '--value',
    'enabled',
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(
    (JSON.parse(cli.stdout) as { setting: { principalArn: string } }).setting.principalArn,
    ROOT,
  );
  assert.equal((await effective(ALICE, 'awsvpcTrunking')).value, 'enabled');

  const deleted = await ecs.send(
    new DeleteAccountSettingCommand({ name: 'containerInsights', principalArn: ALICE }),
  );
  assert.equal(deleted.setting!.value, 'disabled');
  assert.equal((await effective(ALICE, 'containerInsights')).value, 'enhanced');

  await assert.rejects(
    ecs.send(new PutAccountSettingCommand({ name: 'containerInsights', value: 'sometimes' })),
    { name: 'InvalidParameterException' },
  );
  await assert.rejects(
    ecs.send(new DeleteAccountSettingCommand({ name: 'fargateFIPSMode', principalArn: ALICE })),
    { name: 'InvalidParameterException' },
  );
});
