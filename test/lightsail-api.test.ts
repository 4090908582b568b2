/**
 * Lightsail's API without instances running (the default process driver): the catalog,
 * key pairs (a created private key matches its public key; an imported key's fingerprint
 * is ssh-keygen's), the default key pair, AWS's errors, and CreateInstances refusing
 * clearly where the driver cannot run instances. Through the AWS CLI v2 and boto3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lightsail, run } from './helpers/lightsail.js';
import { cliEnv, startTestServer, type TestServer } from './helpers/server.js';

describe('Lightsail API (AWS CLI v2, boto3)', () => {
  let server: TestServer;
  let ep: string;
  let work: string;

  before(async () => {
    server = await startTestServer();
    ep = server.endpoint;
    work = mkdtempSync(join(tmpdir(), 'stratus-lightsail-api-'));
  });
  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** The CLI's error code for a call expected to fail. */
  async function failure(args: string[]): Promise<string> {
    const r = await run('/usr/bin/aws', ['--endpoint-url', ep, 'lightsail', ...args], cliEnv());
    assert.notEqual(r.code, 0, `aws lightsail ${args.join(' ')} succeeded`);
    return r.stderr;
  }

  test('blueprints and bundles: AWS ids, specs and prices', async () => {
    const bp = (await lightsail(ep, ['get-blueprints'])).blueprints as {
      blueprintId: string;
      type: string;
      platform: string;
    }[];
    const ids = bp.map((b) => b.blueprintId);
    for (const id of ['debian_12', 'nginx', 'nodejs', 'lamp_8_bitnami', 'wordpress'])
      assert.ok(ids.includes(id), id);
    assert.equal(bp.find((b) => b.blueprintId === 'debian_12')?.type, 'os');
    const bundles = (await lightsail(ep, ['get-bundles'])).bundles as {
      bundleId: string;
      price: number;
      ramSizeInGb: number;
      cpuCount: number;
    }[];
    const nano = bundles.find((b) => b.bundleId === 'nano_3_0');
    assert.deepEqual(
      { price: nano?.price, ram: nano?.ramSizeInGb, cpus: nano?.cpuCount },
      { price: 5, ram: 0.5, cpus: 2 },
    );
  });

  test('create-key-pair: the private key belongs to the public key', async () => {
    const out = await lightsail(ep, ['create-key-pair', '--key-pair-name', 'mine']);
    const pem = out.privateKeyBase64 as string;
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    const file = join(work, 'mine.pem');
    writeFileSync(file, pem, { mode: 0o600 });
    const derived = await run('ssh-keygen', ['-y', '-f', file]);
    assert.equal(derived.code, 0, derived.stderr);
    assert.equal(
      derived.stdout.trim().split(' ')[1],
      (out.publicKeyBase64 as string).split(' ')[1],
    );
    const kp = (await lightsail(ep, ['get-key-pair', '--key-pair-name', 'mine'])).keyPair as {
      name: string;
      resourceType: string;
      fingerprint: string;
    };
    assert.equal(kp.resourceType, 'KeyPair');
    assert.match(kp.fingerprint, /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    assert.match(
      await failure(['create-key-pair', '--key-pair-name', 'mine']),
      /InvalidInputException/,
    );
  });

  test("import-key-pair: an ssh-keygen key, fingerprinted as ssh-keygen's md5", async () => {
    const file = join(work, 'imported');
    assert.equal((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])).code, 0);
    await lightsail(ep, [
      'import-key-pair',
      '--key-pair-name',
      'imported',
      '--public-key-base64',
      readFileSync(`${file}.pub`, 'utf8'),
    ]);
    const kp = (await lightsail(ep, ['get-key-pair', '--key-pair-name', 'imported'])).keyPair as {
      fingerprint: string;
    };
    const md5 = (await run('ssh-keygen', ['-l', '-E', 'md5', '-f', `${file}.pub`])).stdout;
    assert.equal(`MD5:${kp.fingerprint}`, md5.split(' ')[1]);
    assert.match(
      await failure([
        'import-key-pair',
        '--key-pair-name',
        'bad',
        '--public-key-base64',
        'not a key',
      ]),
      /InvalidInputException/,
    );
  });

  test('the default key pair: downloaded, listed only when asked for', async () => {
    const d = await lightsail(ep, ['download-default-key-pair']);
    assert.match(d.privateKeyBase64 as string, /PRIVATE KEY/);
    const again = await lightsail(ep, ['download-default-key-pair']);
    assert.equal(again.privateKeyBase64, d.privateKeyBase64);
    const names = async (args: string[]) =>
      ((await lightsail(ep, ['get-key-pairs', ...args])).keyPairs as { name: string }[]).map(
        (k) => k.name,
      );
    assert.ok(!(await names([])).includes('LightsailDefaultKeyPair'));
    assert.ok((await names(['--include-default-key-pair'])).includes('LightsailDefaultKeyPair'));
  });

  test("AWS's errors: unknown resources, bad input, no runc", async () => {
    assert.match(await failure(['get-instance', '--instance-name', 'nope']), /NotFoundException/);
    assert.match(await failure(['get-key-pair', '--key-pair-name', 'nope']), /NotFoundException/);
    assert.match(await failure(['get-static-ip', '--static-ip-name', 'nope']), /NotFoundException/);
    assert.match(
      await failure(['delete-instance-snapshot', '--instance-snapshot-name', 'nope']),
      /NotFoundException/,
    );
    const create = (extra: string[]) =>
      failure([
        'create-instances',
        '--instance-names',
        'x',
        '--availability-zone',
        'us-east-1a',
        '--blueprint-id',
        'nginx',
        '--bundle-id',
        'nano_3_0',
        ...extra,
      ]);
    // The process driver cannot run instances: said, not faked.
    assert.match(await create([]), /OperationFailureException.*--driver runc/s);
  });

  test('boto3 sees the same catalog and key pairs', async () => {
    const script = `
import boto3, json
c = boto3.client('lightsail', endpoint_url='${ep}')
print(json.dumps({
  'bundles': [b['bundleId'] for b in c.get_bundles()['bundles']],
  'keys': sorted(k['name'] for k in c.get_key_pairs()['keyPairs']),
}))
`;
    const r = await run('python3', ['-c', script], cliEnv());
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { bundles: string[]; keys: string[] };
    assert.ok(out.bundles.includes('micro_3_0'));
    assert.deepEqual(out.keys, ['imported', 'mine']);
  });
});
