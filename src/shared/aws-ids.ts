/**
 * Identifiers in AWS's own formats. Unique ids are a four-letter type prefix plus
 * base32 characters (AROA… roles, AIDA… users, ANPA… policies); access key ids are
 * AKIA… (long-term) or ASIA… (STS sessions) and, like AWS's since 2019, carry the
 * account id in their first bits, so `sts get-access-key-info` can decode it offline.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes
 */
import { randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export type UniqueIdPrefix = 'AROA' | 'AIDA' | 'ANPA' | 'AGPA' | 'AIPA' | 'ASCA' | 'APKA' | 'ACCA';

/** Prefix + 17 random base32 characters (21 in all, as AWS's unique ids). */
export function uniqueId(prefix: UniqueIdPrefix): string {
  const bytes = randomBytes(17);
  let out = prefix;
  for (let i = 0; i < 17; i++) out += BASE32[bytes[i] & 31];
  return out;
}

/**
 * AKIA/ASIA + 16 base32 characters encoding 10 bytes whose first 48 bits hold the account
 * in bits 7–46 (mask 0x7fffffffff80), the layout real key ids decode with.
 */
export function accessKeyId(prefix: 'AKIA' | 'ASIA', account: string): string {
  const bytes = randomBytes(10);
  const acct = Number(account);
  // account × 128 + 7 random low bits stays below 2^47, exact in a double.
  const head = acct * 128 + (bytes[5] & 0x7f);
  const hi = Math.floor(head / 2 ** 24);
  const lo = head % 2 ** 24;
  // The top bit is set, as in every key id AWS has issued since it began encoding accounts.
  bytes[0] = 0x80 | ((hi >>> 16) & 0x7f);
  bytes[1] = (hi >>> 8) & 0xff;
  bytes[2] = hi & 0xff;
  bytes[3] = (lo >>> 16) & 0xff;
  bytes[4] = (lo >>> 8) & 0xff;
  bytes[5] = lo & 0xff;
  return prefix + base32(bytes);
}

/** The account an AKIA/ASIA key id was minted for, or undefined when it has none. */
export function accountOfAccessKeyId(keyId: string): string | undefined {
  if (keyId.length !== 20 || !(keyId.startsWith('AKIA') || keyId.startsWith('ASIA'))) {
    return undefined;
  }
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (let i = 4; i < 20; i++) {
    const v = BASE32.indexOf(keyId[i]);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  const hi = ((bytes[0] & 0x7f) << 16) | (bytes[1] << 8) | bytes[2];
  const lo = (bytes[3] << 16) | (bytes[4] << 8) | bytes[5];
  const account = Math.floor((hi * 2 ** 24 + lo) / 128);
  return String(account).padStart(12, '0');
}

/** 40 characters of base64, the shape of every AWS secret access key. */
export function secretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

/** An opaque session token, as long as the ones STS hands out (several hundred chars). */
export function sessionToken(): string {
  return randomBytes(360).toString('base64');
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
