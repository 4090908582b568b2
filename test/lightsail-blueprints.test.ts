/**
 * Lightsail's application blueprints on the runc driver, through the AWS CLI v2, ssh and
 * curl: `wordpress` serves a WordPress site configured at first boot (database, admin user
 * `user`, the generated password in ~/bitnami_application_password), `lamp_8_bitnami`
 * answers a PHP page on port 80 (written by the launch script), `nodejs` runs
 * `node --version` over ssh. One server, one instance per blueprint, booted together;
 * a blueprint whose image cannot be built here is skipped with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IMAGE_CACHE,
  curl,
  lightsail,
  lightsailSkipReason,
  run,
  ssh,
  until,
  waitState,
} from './helpers/lightsail.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const BLUEPRINTS = ['wordpress', 'lamp_8_bitnami', 'nodejs'] as const;
type Blueprint = (typeof BLUEPRINTS)[number];
const skips = {} as Record<Blueprint, string | undefined>;
for (const b of BLUEPRINTS) {
  skips[b] = await lightsailSkipReason(b);
  if (skips[b]) console.log(`# skipped ${b}: ${skips[b]}`);
}
const none = BLUEPRINTS.every((b) => skips[b]);

/** The launch script of the LAMP instance: a PHP page Apache serves through mod_php. */
const PHP_PAGE = `printf '%s\\n' '<?php echo "php " . PHP_VERSION . " " . (1 + 2);' > /var/www/html/stratus.php`;

describe('Lightsail blueprints (runc, AWS CLI v2, ssh, curl)', { skip: none }, () => {
  let server: TestServer;
  let ep: string;
  let work: string;
  let key: string;
  const saved = { ...process.env };

  /** The instance's address and login, once it runs. */
  async function access(name: string): Promise<{ ip: string; user: string }> {
    await waitState(ep, name, 'running');
    const out = await lightsail(ep, ['get-instance-access-details', '--instance-name', name]);
    const d = out.accessDetails as { ipAddress: string; username: string };
    return { ip: d.ipAddress, user: d.username };
  }

  before(async () => {
    process.env.STRATUS_IMAGE_CACHE = IMAGE_CACHE;
    work = mkdtempSync(join(tmpdir(), 'stratus-lightsail-blueprints-'));
    server = await startTestServer({ driver: 'runc' });
    ep = server.endpoint;
    const pair = await lightsail(ep, ['create-key-pair', '--key-pair-name', 'apps']);
    key = join(work, 'apps.pem');
    writeFileSync(key, pair.privateKeyBase64 as string, { mode: 0o600 });
    for (const b of BLUEPRINTS) {
      if (skips[b]) continue;
      await lightsail(ep, [
        'create-instances',
        '--instance-names',
        b.replace(/_/g, '-'),
        '--availability-zone',
        'us-east-1a',
        '--blueprint-id',
        b,
        '--bundle-id',
        b === 'nodejs' ? 'nano_3_0' : 'micro_3_0',
        '--key-pair-name',
        'apps',
        ...(b === 'lamp_8_bitnami' ? ['--user-data', PHP_PAGE] : []),
      ]);
    }
  });

  after(async () => {
    for (const b of BLUEPRINTS) {
      const name = b.replace(/_/g, '-');
      await lightsail(ep, ['delete-instance', '--instance-name', name]).catch(() => undefined);
    }
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
    process.env = saved;
  });

  test(
    'wordpress serves the site installed at first boot',
    { skip: skips.wordpress ?? false, timeout: 600_000 },
    async () => {
      const { ip, user } = await access('wordpress');
      assert.equal(user, 'bitnami');
      const page = await until('WordPress to answer', () => curl(ip, '', true));
      assert.match(page, /My WordPress Site/);
      assert.match(page, /wp-content|wp-includes/);
      // The admin password where Bitnami's images keep it, readable by the login user only.
      const pw = await ssh(
        key,
        user,
        ip,
        'stat -c %a ~/bitnami_application_password && cat ~/bitnami_application_password',
      );
      assert.equal(pw.code, 0, pw.stderr);
      const [mode, password] = pw.stdout.trim().split('\n');
      assert.equal(mode, '600');
      assert.match(password, /^[A-Za-z0-9]{12}$/);
      // It logs in to WordPress as `user` (wp-login answers with its auth cookie).
      const login = await until('wp-login', async () => {
        const r = await run('curl', [
          '-s',
          '-o',
          '/dev/null',
          '-D',
          '-',
          '--max-time',
          '20',
          '-b',
          'wordpress_test_cookie=WP%20Cookie%20check',
          '--data-urlencode',
          'log=user',
          '--data-urlencode',
          `pwd=${password}`,
          '--data-urlencode',
          'testcookie=1',
          `http://${ip}/wp-login.php`,
        ]);
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.match(login, /wordpress_logged_in_/);
    },
  );

  test(
    'lamp_8_bitnami answers a PHP page on port 80',
    { skip: skips.lamp_8_bitnami ?? false, timeout: 600_000 },
    async () => {
      const { ip } = await access('lamp-8-bitnami');
      const page = await until('the PHP page', () => curl(ip, 'stratus.php'));
      assert.match(page, /^php 8\.\d+\.\d+ 3$/);
    },
  );

  test(
    'nodejs runs node --version over ssh',
    { skip: skips.nodejs ?? false, timeout: 600_000 },
    async () => {
      const { ip, user } = await access('nodejs');
      assert.equal(user, 'bitnami');
      const version = await until('ssh to answer', async () => {
        const r = await ssh(key, user, ip, 'node --version');
        return r.code === 0 ? r.stdout : undefined;
      });
      assert.match(version, /^v\d+\.\d+\.\d+\n$/);
    },
  );
});
