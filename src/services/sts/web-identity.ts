/**
 * AssumeRoleWithWebIdentity: credentials for the holder of an OpenID Connect ID token whose
 * issuer is an IAM OIDC provider in the role's account and whom the role's trust policy
 * allows. "Calling AssumeRoleWithWebIdentity does not require the use of AWS security
 * credentials": the token is the proof, so the call arrives unsigned and everything is
 * checked here.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
 *
 * The token is verified as AWS does: the issuer's discovery document
 * (`<iss>/.well-known/openid-configuration`) names its JWKS, whose key must verify the
 * signature; `exp` must not have passed; `aud` (or `azp`) must be one of the provider's
 * client IDs. The trust policy then sees the provider as the `Federated` principal and the
 * token's claims as `<issuer>:aud`, `<issuer>:sub`, `<issuer>:amr`, `<issuer>:oaud`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif
 */
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import {
  ExpiredTokenException,
  IDPCommunicationErrorException,
  InvalidIdentityTokenException,
} from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import { RequestFacts } from '../../policy/context.js';
import type { IamOidcProviderInfo } from '../iam/directory.js';
import {
  accessDenied,
  checkRoleDuration,
  roleArnAccount,
  roleSession,
  type StsDeps,
  trustAllowsFederated,
} from './common.js';
import { packedPolicySize, sessionContext } from './tokens.js';

const DEFAULT_DURATION = 3600;
/** How long an issuer's discovery document is trusted before it is fetched again. */
const DISCOVERY_TTL_MS = 10 * 60_000;
const FETCH_TIMEOUT_MS = 5000;

const NOT_A_JWT =
  'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)';
const NO_KEY =
  "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

type Jwks = ReturnType<typeof createRemoteJWKSet>;

/** Each issuer's JWKS, from its discovery document; jose caches the keys themselves. */
class IssuerKeys {
  private readonly byIssuer = new Map<string, { jwks: Jwks; until: number }>();

  async jwks(issuer: string): Promise<Jwks> {
    const cached = this.byIssuer.get(issuer);
    if (cached && cached.until > Date.now()) return cached.jwks;
    const discovery = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let jwksUri: string;
    try {
      const res = await fetch(discovery, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`${discovery}: HTTP ${res.status}`);
      const doc = (await res.json()) as { jwks_uri?: unknown };
      if (typeof doc.jwks_uri !== 'string') throw new Error(`${discovery}: no jwks_uri`);
      jwksUri = doc.jwks_uri;
    } catch {
      throw new InvalidIdentityTokenException(NO_KEY);
    }
    const jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: FETCH_TIMEOUT_MS });
    this.byIssuer.set(issuer, { jwks, until: Date.now() + DISCOVERY_TTL_MS });
    return jwks;
  }
}

/** The audience that names one of the provider's client IDs: `azp` first, as AWS reads it. */
function matchingAudience(claims: JWTPayload, provider: IamOidcProviderInfo): string | undefined {
  const candidates = [
    ...(typeof claims.azp === 'string' ? [claims.azp] : []),
    ...(Array.isArray(claims.aud) ? claims.aud : claims.aud !== undefined ? [claims.aud] : []),
  ];
  return candidates.find((aud) => provider.clientIds.includes(aud));
}

export function webIdentityOperations(
  deps: StsDeps,
): Pick<StsOperations, 'AssumeRoleWithWebIdentity'> {
  const keys = new IssuerKeys();
  const now = deps.now ?? Date.now;

  /** Verifies the token and returns its claims, or AWS's error for it. */
  async function verify(token: string, issuer: string): Promise<JWTPayload> {
    const jwks = await keys.jwks(issuer);
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        currentDate: new Date(now()),
      });
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        const exp = typeof err.payload.exp === 'number' ? err.payload.exp : 0;
        throw new ExpiredTokenException(
          `Token expired: current date/time ${Math.floor(now() / 1000)} must be before the expiration date/time ${exp}`,
        );
      }
      if (err instanceof joseErrors.JWKSTimeout) {
        throw new IDPCommunicationErrorException(NO_KEY);
      }
      if (
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWSSignatureVerificationFailed
      ) {
        throw new InvalidIdentityTokenException(NO_KEY);
      }
      throw new InvalidIdentityTokenException(NOT_A_JWT);
    }
  }

  return {
    async AssumeRoleWithWebIdentity(input) {
      const denied = () => accessDenied('Not authorized to perform sts:AssumeRoleWithWebIdentity');
      let unverified: JWTPayload;
      try {
        unverified = decodeJwt(input.WebIdentityToken);
      } catch {
        throw new InvalidIdentityTokenException(NOT_A_JWT);
      }
      const issuer = unverified.iss;
      if (typeof issuer !== 'string') throw new InvalidIdentityTokenException(NOT_A_JWT);

      const account = roleArnAccount(input.RoleArn);
      if (account === undefined) throw denied();
      const provider = await deps.iam.findOidcProvider(account, issuer);
      if (!provider) {
        throw new InvalidIdentityTokenException(
          `No OpenIDConnect provider found in your account for ${issuer}`,
        );
      }
      const claims = await verify(input.WebIdentityToken, issuer);
      const audience = matchingAudience(claims, provider);
      if (audience === undefined)
        throw new InvalidIdentityTokenException('Incorrect token audience');

      const role = await deps.iam.findRole(account, input.RoleArn);
      if (!role) throw denied();
      const facts = new RequestFacts([
        [`${provider.url}:aud`, audience],
        [`${provider.url}:sub`, typeof claims.sub === 'string' ? claims.sub : undefined],
        [`${provider.url}:oaud`, claims.aud],
        [`${provider.url}:amr`, stringsOf(claims.amr)],
        ['aws:FederatedProvider', provider.arn],
        ['sts:RoleSessionName', input.RoleSessionName],
      ]);
      if (!trustAllowsFederated(role, 'sts:AssumeRoleWithWebIdentity', facts, provider.arn))
        throw denied();

      const duration = input.DurationSeconds ?? DEFAULT_DURATION;
      checkRoleDuration(duration, role);
      const packed = packedPolicySize(input);
      const session = sessionContext(input);
      const minted = await roleSession(
        deps,
        account,
        role,
        input.RoleSessionName,
        session,
        duration,
      );
      return {
        ...minted,
        SubjectFromWebIdentityToken: typeof claims.sub === 'string' ? claims.sub : undefined,
        Provider: issuer,
        Audience: audience,
        ...(packed !== undefined && { PackedPolicySize: packed }),
      };
    },
  };
}

function stringsOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return undefined;
}
