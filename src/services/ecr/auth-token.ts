/**
 * ECR's registry credentials. GetAuthorizationToken returns base64("AWS:<password>"),
 * valid for 12 hours; docker and skopeo send it back as HTTP Basic auth. Here the password
 * is `<payload>.<signature>`: the payload says which account, region and caller the token
 * is for and when it expires, the signature is an HMAC with a per-installation secret kept
 * in the metadata store (shared/signed-token.ts), so tokens stay valid across restarts and
 * cannot be forged.
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html
 */
import { storedSecret, TokenSigner } from '../../shared/signed-token.js';
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
  private readonly signer: TokenSigner;

  constructor(
    store: MetadataStore,
    private readonly now: () => number,
  ) {
    this.signer = new TokenSigner(storedSecret(store, T.settings, 'token-secret'));
  }

  /** The `authorizationToken` value: base64 of `AWS:<password>`. */
  async issue(
    claims: Omit<TokenClaims, 'expiresAt'>,
  ): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = this.now() + TOKEN_TTL_MS;
    const password = await this.signer.seal({
      a: claims.account,
      r: claims.region,
      k: claims.accessKeyId,
      x: expiresAt,
    });
    return { token: Buffer.from(`AWS:${password}`).toString('base64'), expiresAt };
  }

  /** Checks the password half of Basic credentials. */
  async verify(password: string): Promise<TokenCheck> {
    const opened = await this.signer.open(password);
    if (!opened.ok) return opened;
    const raw = opened.claims;
    const claims: TokenClaims = {
      account: String(raw.a),
      region: String(raw.r),
      accessKeyId: String(raw.k),
      expiresAt: Number(raw.x),
    };
    if (!(claims.expiresAt > this.now())) return { ok: false, reason: 'expired' };
    return { ok: true, claims };
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
