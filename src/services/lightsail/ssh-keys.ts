/**
 * SSH key material as Lightsail hands it out: CreateKeyPair's private key is a PEM RSA key
 * (`-----BEGIN RSA PRIVATE KEY-----`, which `ssh -i` reads) and its public key the OpenSSH
 * line (`ssh-rsa AAAA…`). Fingerprints follow EC2's rule, which Lightsail shares: SHA-1 of
 * the DER private key for keys AWS made, MD5 of the DER public key for imported ones.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-keys.html
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface MadeKey {
  privateKeyPem: string;
  publicKeyOpenSsh: string;
  fingerprint: string;
}

const colons = (hex: string) => hex.match(/../g)!.join(':');

export function makeRsaKey(comment: string): MadeKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  return {
    privateKeyPem: pem,
    publicKeyOpenSsh: `${openSshRsa(publicKey)} ${comment}`,
    fingerprint: colons(createHash('sha1').update(der).digest('hex')),
  };
}

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** An mpint: big-endian, with a leading zero byte when the top bit is set. */
function mpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, 'base64url');
  while (b.length > 1 && b[0] === 0 && !(b[1] & 0x80)) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function openSshRsa(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), mpint(jwk.e!), mpint(jwk.n!)]);
  return `ssh-rsa ${blob.toString('base64')}`;
}

const OPENSSH_TYPES =
  /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-dss) [A-Za-z0-9+/=]+( .*)?$/;

/**
 * ImportKeyPair's `publicKeyBase64`: the OpenSSH line itself (what the CLI reads from a
 * .pub file) or that line base64-encoded. Undefined when it is neither.
 */
export function parsePublicKey(input: string): { line: string; fingerprint: string } | undefined {
  let line = input.trim();
  if (!OPENSSH_TYPES.test(line)) {
    const decoded = Buffer.from(line, 'base64').toString('utf8').trim();
    if (!OPENSSH_TYPES.test(decoded)) return undefined;
    line = decoded;
  }
  // MD5 of the key blob: what `ssh-keygen -l -E md5` prints for it.
  const blob = Buffer.from(line.split(' ')[1], 'base64');
  const fingerprint = colons(createHash('md5').update(blob).digest('hex'));
  return { line, fingerprint };
}
