/**
 * Registry authentication as ECR does it: `aws ecr get-login-password` gives the password
 * of Basic credentials for user AWS; the token says which registry (account, region) a
 * local `127.0.0.1:<port>/<repo>` reference means; strict mode refuses pushes and pulls
 * without a valid token, with a challenge.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { awsCli } from './helpers/clients.js';
import { buildImage, copyImage, imageToolsMissing, type BuiltImage } from './helpers/oci-image.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const skip = imageToolsMissing();

async function password(endpoint: string, keyId: string): Promise<string> {
  const r = await awsCli(endpoint, ['ecr', 'get-login-password', '--region', 'us-east-1'], {
    AWS_ACCESS_KEY_ID: keyId,
  });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

describe('ECR registry authentication', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecr-auth-'));
  let image: BuiltImage;

  before(async () => {
    image = await buildImage(join(dir, 'img'), { tag: 'v1' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('permissive mode', () => {
    let server: TestServer;
    let host: string;
    before(async () => {
      server = await startTestServer();
      host = `127.0.0.1:${server.port}`;
    });
    after(() => server.stop());

    test('the token selects the account a local reference pushes to', async () => {
      const account = '111111111111';
      const ecr = new ECRClient({
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: account, secretAccessKey: 'x' },
      });
      const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/app' }));
      assert.equal(
        created.repository?.repositoryUri,
        `127.0.0.1:${server.port}/${account}.dkr.ecr.us-east-1/team/app`,
      );
      // Without credentials the local reference means the default account, which has no
      // such repository.
      await assert.rejects(
        copyImage(image.ref, `docker://${host}/team/app:v1`),
        /NAME_UNKNOWN|name unknown|not exist/i,
      );

      const token = await ecr.send(new GetAuthorizationTokenCommand({}));
      const data = token.authorizationData?.[0];
      const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString();
      assert.match(decoded, /^AWS:/);
      const hours = ((data?.expiresAt?.getTime() ?? 0) - Date.now()) / 3_600_000;
      assert.ok(hours > 11.9 && hours <= 12, `token lives 12 hours, got ${hours}`);
      await copyImage(image.ref, `docker://${host}/team/app:v1`, { destCreds: decoded });
      const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'team/app' }));
      assert.deepEqual(images.imageDetails?.[0]?.imageTags, ['v1']);
      assert.equal(images.imageDetails?.[0]?.imageDigest, image.digest);
      ecr.destroy();
    });

    test('GET /v2/ challenges anonymous clients and accepts any Basic credentials', async () => {
      const anonymous = await fetch(`${server.endpoint}/v2/`);
      assert.equal(anonymous.status, 401);
      assert.match(
        anonymous.headers.get('www-authenticate') ?? '',
        /^Basic realm="[^"]+",service="ecr\.amazonaws\.com"$/,
      );
      const basic = `Basic ${Buffer.from('AWS:whatever').toString('base64')}`;
      const ok = await fetch(`${server.endpoint}/v2/`, { headers: { authorization: basic } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get('docker-distribution-api-version'), 'registry/2.0');
    });
  });

  describe('strict mode', () => {
    let server: TestServer;
    let host: string;
    before(async () => {
      server = await startTestServer({ auth: 'strict' });
      host = `127.0.0.1:${server.port}`;
      const created = await awsCli(server.endpoint, [
        'ecr',
        'create-repository',
        '--repository-name',
        'secure/app',
        '--region',
        'us-east-1',
      ]);
      assert.equal(created.code, 0, created.stderr);
    });
    after(() => server.stop());

    test('a push without a token is refused with a challenge; with one it lands', async () => {
      const anonymous = await fetch(`${server.endpoint}/v2/secure/app/tags/list`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
      const body = (await anonymous.json()) as { errors: { code: string }[] };
      assert.equal(body.errors[0].code, 'UNAUTHORIZED');

      await assert.rejects(
        copyImage(image.ref, `docker://${host}/secure/app:v1`),
        /unauthorized|401/i,
      );
      await assert.rejects(
        copyImage(image.ref, `docker://${host}/secure/app:v1`, { destCreds: 'AWS:forged.token' }),
        /unauthorized|401|invalid/i,
      );

      const pw = await password(server.endpoint, 'test');
      await copyImage(image.ref, `docker://${host}/secure/app:v1`, { destCreds: `AWS:${pw}` });
      const out = join(dir, 'pulled');
      await copyImage(`docker://${host}/secure/app:v1`, `oci:${out}:v1`, { srcCreds: `AWS:${pw}` });
      await assert.rejects(
        copyImage(`docker://${host}/secure/app:v1`, `oci:${out}:v2`),
        /unauthorized|401/i,
      );
    });

    test('a token signed for another installation is refused', async () => {
      const other = await startTestServer({ auth: 'strict' });
      try {
        const foreign = await password(other.endpoint, 'test');
        const res = await fetch(`${server.endpoint}/v2/secure/app/tags/list`, {
          headers: { authorization: `Basic ${Buffer.from(`AWS:${foreign}`).toString('base64')}` },
        });
        assert.equal(res.status, 401);
      } finally {
        await other.stop();
      }
    });
  });
});
