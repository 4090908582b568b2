/**
 * GetWebIdentityToken (outbound identity federation): a JWT naming the caller, signed with
 * a per-account key (RS256 or ES384, as asked) kept in the store, and the OIDC discovery
 * documents external services verify it with, served at the account's issuer URL
 * (`<issuer>/.well-known/openid-configuration` and `/.well-known/jwks.json`). IAM's
 * EnableOutboundWebIdentityFederation turns it on and names the issuer.
 * Claims, per "Understanding token claims": iss, aud, sub (the user or role ARN), iat, exp,
 * jti, and under "https://sts.amazonaws.com/" aws_account, source_region, principal_tags
 * (the session's tags) and request_tags (the call's Tags).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_outbound_token_claims.html
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import {
  OutboundWebIdentityFederationDisabledException,
  SessionDurationEscalationException,
} from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import type { MetadataStore } from '../../storage/types.js';
import type { DataPlane } from '../plugin.js';
import { OUTBOUND_ISSUER_PATH, outboundIssuerUrl, type IamDirectory } from '../iam/directory.js';
import { validationError } from './common.js';
import type { SessionIndex } from './sessions.js';

const KEYS_TABLE = 'sts_outbound_keys';
const ALGORITHMS = ['RS256', 'ES384'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
const DEFAULT_DURATION = 300;
const CLAIMS_NAMESPACE = 'https://sts.amazonaws.com/';

interface StoredKey {
  kid: string;
  alg: Algorithm;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface OutboundTokenDeps {
  store: MetadataStore;
  iam: IamDirectory;
  sessions: SessionIndex;
  endpoint(): string;
  now?: () => number;
}

export class OutboundTokens {
  private readonly keys = new Map<string, Promise<StoredKey>>();

  constructor(private readonly deps: OutboundTokenDeps) {}

  operations(): Pick<StsOperations, 'GetWebIdentityToken'> {
    return {
      GetWebIdentityToken: async (input, ctx) => {
        const issuerId = await this.deps.iam.outboundIssuer(ctx.account);
        if (!issuerId) {
          throw new OutboundWebIdentityFederationDisabledException(
            'The outbound web identity federation feature is not enabled for this account. To use this feature, you must first enable it through the AWS Management Console or API.',
          );
        }
        const alg = ALGORITHMS.find((a) => a === input.SigningAlgorithm);
        if (!alg) {
          throw validationError(
            `1 validation error detected: Value '${input.SigningAlgorithm}' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]`,
          );
        }
        const now = (this.deps.now ?? Date.now)();
        const duration = input.DurationSeconds ?? DEFAULT_DURATION;
        const expiresAt = Math.floor(now / 1000) * 1000 + duration * 1000;
        const session = await this.deps.sessions.findCredential(ctx.accessKeyId);
        if (session?.expiresAt !== undefined && session.expiresAt < expiresAt) {
          throw new SessionDurationEscalationException(
            'The requested token duration would extend the session beyond its original expiration time.',
          );
        }
        const key = await this.key(ctx.account, alg);
        const audience = input.Audience.length === 1 ? input.Audience[0] : input.Audience;
        const principalTags = ctx.principal.session?.tags;
        const requestTags = Object.fromEntries((input.Tags ?? []).map((t) => [t.Key, t.Value]));
        const token = await new SignJWT({
          [CLAIMS_NAMESPACE]: {
            aws_account: ctx.account,
            source_region: ctx.region,
            ...(principalTags && Object.keys(principalTags).length > 0
              ? { principal_tags: principalTags }
              : {}),
            ...(Object.keys(requestTags).length > 0 ? { request_tags: requestTags } : {}),
          },
        })
          .setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' })
          .setIssuer(outboundIssuerUrl(this.deps.endpoint(), issuerId))
          .setAudience(audience ?? '')
          .setSubject(await this.subject(ctx.account, ctx.principal.arn))
          .setIssuedAt(Math.floor(now / 1000))
          .setExpirationTime(expiresAt / 1000)
          .setJti(randomUUID())
          .sign(await importJWK(key.privateJwk, alg));
        return { WebIdentityToken: token, Expiration: new Date(expiresAt) };
      },
    };
  }

  /** The discovery documents under each enabled account's issuer URL. */
  dataPlane(): DataPlane {
    return {
      name: 'sts-outbound-issuer',
      title: 'Outbound web identity federation issuers (OIDC discovery and JWKS)',
      paths: [`${OUTBOUND_ISSUER_PATH}{issuer-id}/.well-known/`],
      handle: (req, res) => this.serve(req, res),
    };
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const rest = path.slice(OUTBOUND_ISSUER_PATH.length);
    const [issuerId = '', ...tail] = rest.split('/');
    const document = tail.join('/');
    const account = await this.deps.iam.outboundAccount(issuerId);
    if (!account || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    const issuer = outboundIssuerUrl(this.deps.endpoint(), issuerId);
    let body: unknown;
    if (document === '.well-known/openid-configuration') {
      body = {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [...ALGORITHMS],
      };
    } else if (document === '.well-known/jwks.json') {
      const keys = await Promise.all(ALGORITHMS.map((alg) => this.key(account, alg)));
      body = { keys: keys.map((k) => ({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' })) };
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** "sub": the user, or the role behind a session (with its path). */
  private async subject(account: string, arn: string): Promise<string> {
    const m = /^arn:([\w-]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
    if (!m) return arn;
    const role = await this.deps.iam.findRole(account, m[3] ?? '');
    return role?.arn ?? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`;
  }

  /** The account's signing key for `alg`, made and stored on first use. */
  private key(account: string, alg: Algorithm): Promise<StoredKey> {
    const id = `${account}/${alg}`;
    let found = this.keys.get(id);
    if (!found) {
      found = this.loadKey(id, alg);
      this.keys.set(id, found);
      found.catch(() => this.keys.delete(id));
    }
    return found;
  }

  private async loadKey(id: string, alg: Algorithm): Promise<StoredKey> {
    const stored = await this.deps.store.get<StoredKey>(KEYS_TABLE, id);
    if (stored) return stored;
    const pair = await generateKeyPair(alg, { extractable: true });
    const key: StoredKey = {
      kid: randomUUID(),
      alg,
      privateJwk: await exportJWK(pair.privateKey),
      publicJwk: await exportJWK(pair.publicKey),
    };
    // insert: two first uses racing keep the one stored first.
    const inserted = await this.deps.store.transaction((tx) => tx.insert(KEYS_TABLE, id, key));
    return inserted ? key : ((await this.deps.store.get<StoredKey>(KEYS_TABLE, id)) ?? key);
  }

  /** Forgets the cached keys (the store was reset). */
  reset(): void {
    this.keys.clear();
  }
}
