/**
 * The access details' SSH certificate. GetInstanceAccessDetails returns "a temporary SSH
 * private key and certificate" for the instance's user, as Lightsail's browser client
 * uses: here an RSA key made with ssh-keygen and signed for 12 hours by the region's
 * Lightsail CA, whose public key every instance's sshd trusts (TrustedUserCAKeys in the
 * instance init's sshd configuration). The CA's key stays in Stratus's store.
 * https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_InstanceAccessDetails.html
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetadataStore } from '../../storage/types.js';
import { T, keyOf, type Scope } from './store.js';

/** How long an access key's certificate is valid. */
export const ACCESS_VALID_MS = 12 * 3600 * 1000;

export interface SshCa {
  privateKey: string;
  publicKey: string;
}

function sshKeygen(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ssh-keygen failed (${code}): ${err.trim()}`)),
    );
  });
}

async function inTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-lightsail-key-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The region's CA (made on first use). */
export async function ensureCa(store: MetadataStore, scope: Scope): Promise<SshCa> {
  const key = keyOf(scope, 'ca');
  const have = await store.get<SshCa>(T.sshCa, key);
  if (have) return have;
  const made = await inTemp(async (dir) => {
    const file = join(dir, 'ca');
    await sshKeygen([
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      `lightsail-ca-${scope.region}`,
      '-f',
      file,
    ]);
    return {
      privateKey: await readFile(file, 'utf8'),
      publicKey: (await readFile(`${file}.pub`, 'utf8')).trim(),
    };
  });
  await store.insert(T.sshCa, key, made);
  return (await store.get<SshCa>(T.sshCa, key))!;
}

/** A fresh RSA key (PEM) and its certificate for `username`, valid ACCESS_VALID_MS. */
export function issueAccessKey(
  ca: SshCa,
  username: string,
  identity: string,
): Promise<{ privateKey: string; certKey: string }> {
  return inTemp(async (dir) => {
    const caFile = join(dir, 'ca');
    await writeFile(caFile, ca.privateKey, { mode: 0o600 });
    const file = join(dir, 'key');
    await sshKeygen(['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', '', '-f', file]);
    const hours = Math.round(ACCESS_VALID_MS / 3600_000);
    await sshKeygen([
      '-q',
      '-s',
      caFile,
      '-I',
      identity,
      '-n',
      username,
      '-V',
      `-5m:+${hours}h`,
      `${file}.pub`,
    ]);
    return {
      privateKey: await readFile(file, 'utf8'),
      certKey: (await readFile(`${file}-cert.pub`, 'utf8')).trim(),
    };
  });
}
