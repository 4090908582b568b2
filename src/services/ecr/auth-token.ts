/**
 * ECR's registry credentials. GetAuthorizationToken returns base64("AWS:<password>"),
 * valid for 12 hours; docker and skopeo send it back as HTTP Basic auth. Here the password
 * is `<payload>.<signature>`: the payload says which account, region and caller the token
 * is for and when it expires, the signature is an HMAC with a per-installation secret kept
 * in the metadata store, so tokens stay valid across restarts and cannot be forged.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../../storage/types.js';
import { T } from './store.js';

/** "The authorization token is valid for 12 hours." */
export const TOKEN_TTL_MS = 12 * 60 * 60 * 1000;

export interface TokenClaims {
  account: string;
  region: string;
  accessKeyId: string;
  expiresAt: number;
}

export type TokenCheck =
  { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

export class RegistryTokens {
  private secret: Promise<Buffer> | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number,
  ) {}

  /** The `authorizationToken` value: base64 of `AWS:<password>`. */
  async issue(
    claims: Omit<TokenClaims, 'expiresAt'>,
  ): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = this.now() + TOKEN_TTL_MS;
    const payload = Buffer.from(
      JSON.stringify({ a: claims.account, r: claims.region, k: claims.accessKeyId, x: expiresAt }),
    ).toString('base64url');
    const password = `${payload}.${await this.sign(payload)}`;
    return { token: Buffer.from(`AWS:${password}`).toString('base64'), expiresAt };
  }

  /** Checks the password half of Basic credentials. */
  async verify(password: string): Promise<TokenCheck> {
    const dot = password.indexOf('.');
    if (dot <= 0 || password.length > 4096) return { ok: false, reason: 'malformed' };
    const payload = password.slice(0, dot);
    const given = Buffer.from(password.slice(dot + 1), 'base64url');
    const expected = Buffer.from(await this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'forged' };
    }
    let claims: TokenClaims;
    try {
      const raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      claims = {
        account: String(raw.a),
        region: String(raw.r),
        accessKeyId: String(raw.k),
        expiresAt: Number(raw.x),
      };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!(claims.expiresAt > this.now())) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
  }

  /** Forgets the cached secret (after POST /_stratus/reset wiped the store). */
  reset(): void {
    this.secret = undefined;
  }

  private async sign(payload: string): Promise<string> {
    return createHmac('sha256', await this.key())
      .update(payload)
      .digest('base64url');
  }

  private key(): Promise<Buffer> {
    this.secret ??= this.store.transaction(async (tx) => {
      const stored = await tx.get<string>(T.settings, 'token-secret');
      if (stored !== undefined) return Buffer.from(stored, 'hex');
      const fresh = randomBytes(32);
      await tx.put(T.settings, 'token-secret', fresh.toString('hex'));
      return fresh;
    });
    return this.secret;
  }
}

/** Splits `Authorization: Basic …` into user and password; undefined for anything else. */
export function parseBasicAuth(
  header: string | undefined,
): { user: string; password: string } | undefined {
  if (header === undefined || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
