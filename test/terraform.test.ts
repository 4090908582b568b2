/**
 * Terraform's AWS provider (hashicorp/aws 5.100.0) against Stratus: for each service group,
 * `terraform apply` of every resource type the provider has for it, `terraform plan
 * -detailed-exitcode` (exit 0: no perpetual diff), then `terraform destroy`. The fixtures
 * are test/terraform/<group>/*.tf. Skipped, with the reason, where Terraform or the
 * provider mirror is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  DescribeInsightRulesCommand,
} from '@aws-sdk/client-cloudwatch';
import { DescribeSubscriptionFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRegistryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, ListInstanceProfilesForRoleCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, GetFunctionCodeSigningConfigCommand } from '@aws-sdk/client-lambda';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { localSamlIdp } from './helpers/saml.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { TerraformDir, failure, terraformUnavailable } from './helpers/terraform.js';
import { createZip } from './helpers/zip-writer.js';

const unavailable = terraformUnavailable();
if (unavailable !== undefined) console.log(`# terraform tests skipped: ${unavailable}`);

/** The certificate's RSA key as an OpenSSH public key line (`ssh-rsa AAAA…`). */
function sshPublicKey(certPem: string): string {
  const jwk = new X509Certificate(certPem).publicKey.export({ format: 'jwk' });
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return [len, b];
  };
  const mpint = (b64: string | undefined) => {
    const b = Buffer.from(b64 ?? '', 'base64url');
    return b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
  };
  const blob = Buffer.concat([
    ...field(Buffer.from('ssh-rsa')),
    ...field(mpint(jwk.e)),
    ...field(mpint(jwk.n)),
  ]);
  return `ssh-rsa ${blob.toString('base64')}\n`;
}

/** The types a group's state must hold after apply: every one the fixture declares. */
function typesIn(state: string[]): Set<string> {
  return new Set(state.map((r) => r.split('.')[0]));
}

/**
 * Resource types of the provider that no fixture applies, and why: their AWS operations
 * need a service, or a part of one, that Stratus does not have yet.
 */
const NOT_APPLIED: Record<string, string> = {
  aws_iam_organizations_features: 'needs AWS Organizations, which Stratus does not have',
};

describe('Terraform (hashicorp/aws)', { skip: unavailable }, () => {
  let server: TestServer;
  let c: Clients;
  let cw: CloudWatchClient;

  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    cw = new CloudWatchClient(clientConfig(server.endpoint));
  });
  after(async () => {
    cw?.destroy();
    destroy(c);
    await server?.stop();
  });

  /** apply → plan (no changes) → destroy, checking the state between them. */
  async function cycle(
    fixture: string,
    vars: Record<string, string>,
    expected: string[],
    between: () => Promise<void>,
    prepare: (dir: string) => void = () => {},
  ): Promise<void> {
    const tf = await TerraformDir.open(fixture);
    try {
      prepare(tf.dir);
      const all = { endpoint: server.endpoint, ...vars };
      const applied = await tf.apply(all);
      assert.equal(applied.code, 0, `terraform apply: ${failure(applied)}`);
      const types = typesIn(await tf.state());
      for (const t of expected) assert.ok(types.has(t), `${t} applied`);
      await between();
      const plan = await tf.plan(all);
      assert.equal(plan.code, 0, `terraform plan shows changes: ${failure(plan)}`);
      const destroyed = await tf.destroy(all);
      assert.equal(destroyed.code, 0, `terraform destroy: ${failure(destroyed)}`);
      assert.deepEqual(await tf.state(), []);
    } finally {
      tf.close();
    }
  }

  test('Lambda: every aws_lambda_* resource type applies, plans clean and destroys', async () => {
    const role = await createRole(c.iam, 'tf-lambda-role');
    await cycle(
      'lambda',
      { role_arn: role },
      [
        'aws_lambda_alias',
        'aws_lambda_code_signing_config',
        'aws_lambda_function',
        'aws_lambda_function_event_invoke_config',
        'aws_lambda_function_recursion_config',
        'aws_lambda_function_url',
        'aws_lambda_invocation',
        'aws_lambda_layer_version',
        'aws_lambda_layer_version_permission',
        'aws_lambda_permission',
        'aws_lambda_provisioned_concurrency_config',
        'aws_lambda_runtime_management_config',
      ],
      async () => {
        const csc = await c.lambda.send(
          new GetFunctionCodeSigningConfigCommand({ FunctionName: 'tf-fn' }),
        );
        assert.match(csc.CodeSigningConfigArn ?? '', /:code-signing-config:csc-[0-9a-f]{17}$/);
      },
      (dir) => {
        writeFileSync(
          join(dir, 'fn.zip'),
          createZip([
            { name: 'index.js', data: 'exports.handler = async (e) => ({ ok: true, e });\n' },
          ]),
        );
        writeFileSync(
          join(dir, 'layer.zip'),
          createZip([{ name: 'nodejs/lib.js', data: 'module.exports = 1;\n' }]),
        );
      },
    );
  });

  test('DynamoDB: a table with a stream, GSI, TTL and tags, an item, and an event source mapping on the stream', async () => {
    const role = await createRole(c.iam, 'tf-ddb-role');
    await cycle(
      'dynamodb',
      { role_arn: role },
      ['aws_dynamodb_table', 'aws_dynamodb_table_item', 'aws_lambda_event_source_mapping'],
      async () => {},
      (dir) => {
        writeFileSync(
          join(dir, 'fn.zip'),
          createZip([{ name: 'index.js', data: 'exports.handler = async () => ({});\n' }]),
        );
      },
    );
  });

  test('CloudWatch: an anomaly detection alarm, alarms, a dashboard and a Contributor Insights rule apply, plan clean and destroy', async () => {
    await cycle(
      'cloudwatch',
      {},
      [
        'aws_cloudwatch_composite_alarm',
        'aws_cloudwatch_contributor_insight_rule',
        'aws_cloudwatch_dashboard',
        'aws_cloudwatch_metric_alarm',
      ],
      async () => {
        const alarms = await cw.send(
          new DescribeAlarmsCommand({ AlarmNames: ['tf-latency-anomaly'] }),
        );
        assert.equal(alarms.MetricAlarms?.[0]?.ThresholdMetricId, 'e1');
        const rules = await cw.send(new DescribeInsightRulesCommand({}));
        assert.deepEqual(
          rules.InsightRules?.map((r) => [r.Name, r.State]),
          [['tf-top-ips', 'ENABLED']],
        );
      },
    );
  });

  test('CloudWatch Logs: every aws_cloudwatch_log_* resource type (and the query definition) applies, plans clean and destroys', async () => {
    const role = await createRole(c.iam, 'tf-logs-role');
    const fn = await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'tf-log-sink',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: {
          ZipFile: createZip([{ name: 'index.js', data: 'exports.handler = async () => 1;\n' }]),
        },
      }),
    );
    await cycle(
      'logs',
      { role_arn: role, function_arn: fn.FunctionArn ?? '' },
      [
        'aws_cloudwatch_log_account_policy',
        'aws_cloudwatch_log_anomaly_detector',
        'aws_cloudwatch_log_data_protection_policy',
        'aws_cloudwatch_log_delivery',
        'aws_cloudwatch_log_delivery_destination',
        'aws_cloudwatch_log_delivery_destination_policy',
        'aws_cloudwatch_log_delivery_source',
        'aws_cloudwatch_log_destination',
        'aws_cloudwatch_log_destination_policy',
        'aws_cloudwatch_log_group',
        'aws_cloudwatch_log_index_policy',
        'aws_cloudwatch_log_metric_filter',
        'aws_cloudwatch_log_resource_policy',
        'aws_cloudwatch_log_stream',
        'aws_cloudwatch_log_subscription_filter',
        'aws_cloudwatch_query_definition',
      ],
      async () => {
        const filters = await c.logs.send(
          new DescribeSubscriptionFiltersCommand({ logGroupName: '/tf/app' }),
        );
        assert.deepEqual(
          filters.subscriptionFilters?.map((f) => [f.filterName, f.destinationArn]),
          [['to-lambda', fn.FunctionArn]],
        );
      },
    );
  });

  test('ECR: every aws_ecr_* resource type applies, plans clean and destroys', async () => {
    const ecr = new ECRClient(clientConfig(server.endpoint));
    try {
      await cycle(
        'ecr',
        {},
        [
          'aws_ecr_account_setting',
          'aws_ecr_lifecycle_policy',
          'aws_ecr_pull_through_cache_rule',
          'aws_ecr_registry_policy',
          'aws_ecr_registry_scanning_configuration',
          'aws_ecr_replication_configuration',
          'aws_ecr_repository',
          'aws_ecr_repository_creation_template',
          'aws_ecr_repository_policy',
        ],
        async () => {
          const registry = await ecr.send(new DescribeRegistryCommand({}));
          assert.deepEqual(registry.replicationConfiguration?.rules?.[0]?.destinations, [
            { region: 'us-west-2', registryId: '000000000000' },
          ]);
        },
      );
    } finally {
      ecr.destroy();
    }
  });

  test('IAM: the aws_iam_* resource types Stratus has apply, plan clean and destroy', async () => {
    await cycle(
      'iam',
      {},
      [
        'aws_iam_access_key',
        'aws_iam_group',
        'aws_iam_group_membership',
        'aws_iam_group_policies_exclusive',
        'aws_iam_group_policy_attachments_exclusive',
        'aws_iam_group_policy',
        'aws_iam_group_policy_attachment',
        'aws_iam_instance_profile',
        'aws_iam_openid_connect_provider',
        'aws_iam_policy',
        'aws_iam_policy_attachment',
        'aws_iam_role',
        'aws_iam_role_policy',
        'aws_iam_role_policies_exclusive',
        'aws_iam_role_policy_attachment',
        'aws_iam_role_policy_attachments_exclusive',
        'aws_iam_user',
        'aws_iam_user_group_membership',
        'aws_iam_user_policy',
        'aws_iam_user_policies_exclusive',
        'aws_iam_user_policy_attachment',
        'aws_iam_user_policy_attachments_exclusive',
      ],
      async () => {
        const forRole = await c.iam.send(
          new ListInstanceProfilesForRoleCommand({ RoleName: 'tf-app' }),
        );
        assert.deepEqual(
          forRole.InstanceProfiles?.map((p) => [p.Arn, p.Roles?.map((r) => r.RoleName)]),
          [['arn:aws:iam::000000000000:instance-profile/tf/tf-app-profile', ['tf-app']]],
        );
      },
    );
  });

  test('IAM identities: passwords, MFA, SAML, certificates, keys, service-linked roles', async () => {
    const idp = await localSamlIdp();
    await cycle(
      'iam-identity',
      {},
      [
        'aws_iam_account_alias',
        'aws_iam_account_password_policy',
        'aws_iam_saml_provider',
        'aws_iam_security_token_service_preferences',
        'aws_iam_server_certificate',
        'aws_iam_service_linked_role',
        'aws_iam_service_specific_credential',
        'aws_iam_signing_certificate',
        'aws_iam_user_login_profile',
        'aws_iam_user_ssh_key',
        'aws_iam_virtual_mfa_device',
      ],
      async () => {
        const role = await c.iam.send(
          new GetRoleCommand({ RoleName: 'AWSServiceRoleForAutoScaling_tf' }),
        );
        assert.equal(role.Role?.Path, '/aws-service-role/autoscaling.amazonaws.com/');
      },
      (dir) => {
        writeFileSync(join(dir, 'saml-metadata.xml'), idp.metadata);
        writeFileSync(join(dir, 'cert.pem'), idp.cert);
        writeFileSync(join(dir, 'key.pem'), idp.key);
        writeFileSync(join(dir, 'ssh.pub'), sshPublicKey(idp.cert));
      },
    );
  });

  for (const [type, reason] of Object.entries(NOT_APPLIED)) {
    test(`${type} is not applied`, { skip: reason }, () => {});
  }
});
