/**
 * JWT authorizers of HTTP APIs: the token from the identity source is verified against
 * the issuer's keys (found through `<issuer>/.well-known/openid-configuration`'s
 * `jwks_uri`), then `iss`, `aud` or `client_id`, `exp`, `nbf`, `iat` and the route's
 * scopes are checked, as AWS documents:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 * The issuer may be any URL this machine reaches (Stratus itself, a local server).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthorizerRecord } from '../store.js';

export type JwtOutcome =
  | { ok: true; claims: Record<string, string>; scopes: string[] | null }
  | { ok: false; status: 401 | 403; wwwAuthenticate: string };

/** "API Gateway supports only RSA-based algorithms" (RS256, RS384, RS512). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512'];

export class JwtAuthorizers {
  /** One key set per issuer, found once (jose refreshes keys on an unknown `kid`). */
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();

  async verify(
    authorizer: AuthorizerRecord,
    token: string | undefined,
    routeScopes: readonly string[] | undefined,
  ): Promise<JwtOutcome> {
    const issuer = authorizer.jwtConfiguration?.Issuer ?? '';
    if (!token) return refuse(401, '', 'invalid_token', 'no token was supplied');
    const raw = token.replace(/^Bearer\s+/i, '');
    let payload: JWTPayload;
    try {
      const keys = await this.keysOf(issuer);
      ({ payload } = await jwtVerify(raw, keys, { issuer, algorithms: ALGORITHMS }));
    } catch (err) {
      return refuse(401, '', 'invalid_token', describe(err));
    }
    const audiences = authorizer.jwtConfiguration?.Audience ?? [];
    if (audiences.length > 0) {
      const aud = payload.aud === undefined ? [] : [payload.aud].flat();
      const clientId = typeof payload.client_id === 'string' ? [payload.client_id] : [];
      if (![...aud, ...clientId].some((a) => audiences.includes(a))) {
        return refuse(401, '', 'invalid_token', 'token does not have a valid audience');
      }
    }
    const scopes = tokenScopes(payload);
    if (routeScopes && routeScopes.length > 0) {
      if (!routeScopes.some((s) => scopes?.includes(s))) {
        return refuse(
          403,
          routeScopes.join(' '),
          'insufficient_scope',
          `expected scopes: [${routeScopes.join(' ')}]`,
        );
      }
    }
    return { ok: true, claims: claimStrings(payload), scopes };
  }

  /** Forgets every issuer's keys (a reset). */
  clear(): void {
    this.keySets.clear();
  }

  private keysOf(issuer: string): Promise<JWTVerifyGetKey> {
    let keys = this.keySets.get(issuer);
    if (!keys) {
      keys = discover(issuer);
      this.keySets.set(issuer, keys);
      // An issuer that did not answer is asked again next time.
      keys.catch(() => this.keySets.delete(issuer));
    }
    return keys;
  }
}

async function discover(issuer: string): Promise<JWTVerifyGetKey> {
  const base = issuer.replace(/\/+$/, '');
  let jwksUri = `${base}/.well-known/jwks.json`;
  try {
    const res = await fetch(`${base}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5000),
    });
    if (res.ok) {
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri === 'string') jwksUri = doc.jwks_uri;
    } else {
      await res.body?.cancel();
    }
  } catch {
    // No discovery document: the conventional jwks.json location.
  }
  return createRemoteJWKSet(new URL(jwksUri));
}

/** `scope` (space-separated) or `scp` (a list or a string), as AWS reads them. */
function tokenScopes(payload: JWTPayload): string[] | null {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === 'string') return raw.split(' ').filter(Boolean);
  if (Array.isArray(raw)) return raw.map(String);
  return null;
}

/** Claims as the event carries them: strings, lists as `[a b]`. */
function claimStrings(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v)) out[k] = `[${v.map(String).join(' ')}]`;
    else if (typeof v === 'object' && v !== null) out[k] = JSON.stringify(v);
    else out[k] = String(v);
  }
  return out;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    return err.claim === 'iss' ? 'token does not have a valid issuer' : err.message;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'signing method is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no matching key was found in the JWKS';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature is invalid';
  if (err instanceof errors.JOSEError) return 'token is malformed';
  return 'unable to get the signing keys of the issuer';
}

function refuse(status: 401 | 403, scope: string, error: string, description: string): JwtOutcome {
  return {
    ok: false,
    status,
    wwwAuthenticate: `Bearer scope="${scope}" error="${error}" error_description="${description}"`,
  };
}
