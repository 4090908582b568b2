import { createHash, createHmac, hash } from 'node:crypto';

/** Hex SHA-256 of the empty string: the payload hash of every body-less request. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * One-shot crypto.hash (Node >= 20.12) is about twice as fast as createHash for the small
 * inputs of request signing; older Nodes take the classic path.
 */
const sha256HexOf: (data: Buffer | string) => string =
  typeof hash === 'function'
    ? (data) => hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

export function sha256Hex(data: Buffer | string): string {
  if (data.length === 0) return EMPTY_SHA256;
  return sha256HexOf(data);
}

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * HMAC-SHA256 (RFC 2104) as two plain SHA-256 passes over precomputed key pads:
 * H((K ^ opad) || H((K ^ ipad) || m)). createHmac builds a key object on every call and
 * costs more than the hashing itself; the pads of a (cached) signing key are computed once.
 */
const BLOCK = 64;
interface HmacPads {
  /** K ^ ipad. */
  inner: Buffer;
  /** K ^ opad followed by room for the inner digest. */
  outer: Buffer;
}
const padsByKey = new WeakMap<Buffer, HmacPads>();
/** Holds K ^ ipad || message; signing is synchronous, so one buffer serves every call. */
const scratch = Buffer.allocUnsafe(4096);

function padsOf(key: Buffer): HmacPads {
  let pads = padsByKey.get(key);
  if (pads === undefined) {
    const inner = Buffer.alloc(BLOCK, 0x36);
    const outer = Buffer.alloc(BLOCK + 32, 0x5c);
    for (let i = 0; i < key.length; i++) {
      inner[i] ^= key[i];
      outer[i] ^= key[i];
    }
    pads = { inner, outer };
    padsByKey.set(key, pads);
  }
  return pads;
}

export function hmacSha256Hex(key: Buffer, data: string): string {
  // Long keys are hashed first by RFC 2104, and long messages do not fit the scratch
  // buffer: both are rare enough for the general path (signing keys are 32 bytes).
  if (key.length > BLOCK || data.length * 3 > scratch.length - BLOCK) {
    return createHmac('sha256', key).update(data).digest('hex');
  }
  const pads = padsOf(key);
  pads.inner.copy(scratch, 0);
  const length = BLOCK + scratch.write(data, BLOCK, 'utf8');
  pads.outer.write(sha256HexOf(scratch.subarray(0, length)), BLOCK, 'hex');
  return sha256HexOf(pads.outer);
}

/**
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
 * Four HMACs per request would dominate verification, and a client signs thousands of
 * requests with one key on one day, so derived keys are cached, per secret and then per
 * credential scope (both strings the request already has: no key string is built). The
 * cache is bounded: when full, the secret seen first (Map keeps insertion order) goes.
 */
const SIGNING_KEY_SECRETS_LIMIT = 256;
const SIGNING_KEY_SCOPES_LIMIT = 16;
const signingKeys = new Map<string, Map<string, Buffer>>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return signingKeyForScope(secret, {
    date,
    region,
    service,
    scope: `${date}/${region}/${service}/aws4_request`,
  });
}

/** `scope` must be `date/region/service/aws4_request` of the other three. */
export function signingKeyForScope(
  secret: string,
  s: { scope: string; date: string; region: string; service: string },
): Buffer {
  let scopes = signingKeys.get(secret);
  const cached = scopes?.get(s.scope);
  if (cached !== undefined) return cached;
  let key = hmacSha256(`AWS4${secret}`, s.date);
  key = hmacSha256(key, s.region);
  key = hmacSha256(key, s.service);
  key = hmacSha256(key, 'aws4_request');
  if (scopes === undefined) {
    if (signingKeys.size >= SIGNING_KEY_SECRETS_LIMIT) {
      const oldest = signingKeys.keys().next();
      if (oldest.done !== true) signingKeys.delete(oldest.value);
    }
    scopes = new Map();
    signingKeys.set(secret, scopes);
  } else if (scopes.size >= SIGNING_KEY_SCOPES_LIMIT) {
    const oldest = scopes.keys().next();
    if (oldest.done !== true) scopes.delete(oldest.value);
  }
  scopes.set(s.scope, key);
  return key;
}

/**
 * Compares two signatures without an early exit, so response timing does not reveal how
 * many leading characters of a forged signature were right. Provided signatures are
 * matched as given: AWS signatures are lower-case hex and an upper-case one does not match.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const length = a.length;
  let diff = length ^ b.length;
  for (let i = 0; i < length; i++) {
    // charCodeAt past the end of b is NaN, which `| 0` turns into 0; the length xor
    // above has already recorded the mismatch.
    diff |= (a.charCodeAt(i) ^ b.charCodeAt(i)) | 0;
  }
  return diff === 0;
}
