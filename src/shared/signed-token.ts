/**
 * Self-contained, tamper-proof tokens: `<payload>.<signature>`, the payload base64url JSON,
 * the signature an HMAC-SHA256 of the payload. Used where AWS hands out credentials or URLs
 * that a later request presents (ECR registry passwords, presigned layer URLs), so that
 * nothing needs remembering per token, and a token outlives a restart when its key does.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../storage/types.js';
import { ACCESS_DENIED, EXPIRED, SIGNATURE_MISMATCH, type S3Refusal } from './s3-errors.js';

export type Opened =
  { ok: true; claims: Record<string, unknown> } | { ok: false; reason: 'malformed' | 'forged' };

export class TokenSigner {
  constructor(private readonly key: () => Promise<Buffer>) {}

  async seal(claims: Record<string, unknown>): Promise<string> {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${await this.sign(payload)}`;
  }

  async open(token: string): Promise<Opened> {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined || token.length > 4096) {
      return { ok: false, reason: 'malformed' };
    }
    if (!sameString(signature, await this.sign(payload))) return { ok: false, reason: 'forged' };
    try {
      const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      if (typeof claims !== 'object' || claims === null) return { ok: false, reason: 'malformed' };
      return { ok: true, claims: claims as Record<string, unknown> };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
  }

  private async sign(payload: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(payload)
      .digest('base64url');
  }
}

/**
 * Compares signatures as written, in constant time. Strings, not decoded bytes: base64
 * strings differing only in a last character's unused bits decode alike, and such a
 * "forgery" must not pass.
 */
export function sameString(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A 32-byte secret kept in the metadata store under `table`/`name`, created on first use.
 * Read each time (one indexed lookup): POST /_stratus/reset wipes the store, and with it
 * the secret, so nothing cached may outlive it.
 */
export function storedSecret(
  store: MetadataStore,
  table: string,
  name: string,
): () => Promise<Buffer> {
  return async () => {
    const stored = await store.get<string>(table, name);
    if (stored !== undefined) return Buffer.from(stored, 'hex');
    return store.transaction(async (tx) => {
      const raced = await tx.get<string>(table, name);
      if (raced !== undefined) return Buffer.from(raced, 'hex');
      const fresh = randomBytes(32);
      await tx.put(table, name, fresh.toString('hex'));
      return fresh;
    });
  };
}

/**
 * Presigned URL tokens: claims sealed with an expiry (`x`, epoch seconds), opened with S3's
 * refusals as a presigned S3 URL gives them (a forged signature, a malformed token, an
 * expired one). Lambda's code downloads and ECR's layer URLs use it.
 */
export class PresignedTokens {
  private readonly signer: TokenSigner;

  constructor(
    key: () => Promise<Buffer>,
    private readonly now: () => number = Date.now,
  ) {
    this.signer = new TokenSigner(key);
  }

  /** A token for `claims`, valid for `ttlSeconds` from now. */
  seal(claims: Record<string, unknown>, ttlSeconds: number, now = this.now()): Promise<string> {
    return this.signer.seal({ ...claims, x: Math.floor(now / 1000) + ttlSeconds });
  }

  /**
   * The claims of a token; a refusal for a forged, malformed or expired one. `valid`
   * checks the claims' shape before the expiry (a token of the wrong shape is malformed).
   */
  async open(
    token: string,
    valid: (claims: Record<string, unknown>) => boolean,
    now = this.now(),
  ): Promise<{ ok: true; claims: Record<string, unknown> } | { ok: false; refusal: S3Refusal }> {
    const opened = await this.signer.open(token);
    const refuse = (refusal: S3Refusal) => ({ ok: false as const, refusal });
    if (!opened.ok) return refuse(opened.reason === 'forged' ? SIGNATURE_MISMATCH : ACCESS_DENIED);
    if (!valid(opened.claims)) return refuse(ACCESS_DENIED);
    if (!(Number(opened.claims.x) * 1000 > now)) return refuse(EXPIRED);
    return opened;
  }
}
