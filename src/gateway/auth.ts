/**
 * Who is calling. Permissive mode (the default) accepts any well-formed SigV4 request and
 * only reads the access key id: a 12-digit key id selects that account. Strict mode checks
 * the signature against the root keys, IAM user keys and STS sessions.
 */
import { rootPrincipal } from '../shared/arn.js';
import type { StratusConfig } from '../config.js';
import type { ProtocolName } from '../protocol/model.js';
import type { Credential, CredentialSource, KeyUse, Principal } from '../shared/context.js';
import { AwsError } from '../shared/errors.js';
import { verifySignature, type ParsedSignature, type SigV4Request } from '../protocol/sigv4.js';
import { sigV4Error, sigV4ErrorStyle } from '../protocol/sigv4-errors.js';
import type { ServiceInfo } from '../api/services.js';

export interface Identity {
  account: string;
  region: string;
  accessKeyId: string;
  principal: Principal;
}

const TWELVE_DIGITS = /^\d{12}$/;

/** json-style services name auth errors `…Exception`; query, ec2 and rest-xml do not. */
function jsonStyle(protocol: ProtocolName): boolean {
  return protocol === 'json' || protocol === 'rest-json' || protocol === 'smithy-rpc-v2-cbor';
}

export const AuthErrors = {
  missing: (p: ProtocolName) =>
    jsonStyle(p)
      ? new AwsError(
          'MissingAuthenticationTokenException',
          403,
          true,
          'Missing Authentication Token',
        )
      : new AwsError(
          'MissingAuthenticationToken',
          403,
          true,
          'Request is missing Authentication Token',
        ),
  unknownKey: (p: ProtocolName) =>
    p === 'rest-xml'
      ? new AwsError(
          'InvalidAccessKeyId',
          403,
          true,
          'The AWS Access Key Id you provided does not exist in our records.',
        )
      : jsonStyle(p)
        ? new AwsError(
            'UnrecognizedClientException',
            400,
            true,
            'The security token included in the request is invalid.',
          )
        : new AwsError(
            'InvalidClientTokenId',
            403,
            true,
            'The security token included in the request is invalid.',
          ),
  expiredToken: (p: ProtocolName) =>
    jsonStyle(p)
      ? new AwsError(
          'ExpiredTokenException',
          400,
          true,
          'The security token included in the request is expired',
        )
      : new AwsError(
          'ExpiredToken',
          400,
          true,
          'The security token included in the request is expired',
        ),
} as const;

export class Authenticator {
  private readonly root: Credential;

  constructor(
    private readonly config: StratusConfig,
    private readonly sources: readonly CredentialSource[],
  ) {
    this.root = {
      accessKeyId: config.rootAccessKeyId,
      secretAccessKey: config.rootSecretAccessKey,
      account: config.defaultAccount,
      principal: rootPrincipal(config.defaultAccount),
    };
  }

  /**
   * The stored credential for a key id: root keys first, then each plugin's source. A
   * 12-digit key id signed with the root secret is the root user of that account, so
   * strict mode can play several accounts (cross-account access) with one secret.
   */
  async findCredential(accessKeyId: string): Promise<Credential | undefined> {
    if (accessKeyId === this.root.accessKeyId) return this.root;
    for (const source of this.sources) {
      const found = await source.findCredential(accessKeyId);
      if (found) return found;
    }
    if (TWELVE_DIGITS.test(accessKeyId)) {
      return {
        accessKeyId,
        secretAccessKey: this.root.secretAccessKey,
        account: accessKeyId,
        principal: rootPrincipal(accessKeyId),
      };
    }
    return undefined;
  }

  /**
   * Resolves the caller or returns the protocol's auth error. `allowUnsigned` is for
   * operations the model marks `authtype: none` (e.g. AssumeRoleWithWebIdentity).
   * `body` is undefined for a streamed payload, whose declared hash the stream checks.
   */
  async authenticate(
    req: SigV4Request,
    body: Buffer | undefined,
    sig: ParsedSignature | undefined,
    service: ServiceInfo,
    allowUnsigned: boolean,
    now: number,
  ): Promise<Identity | AwsError> {
    const strict = this.config.auth === 'strict';
    const protocol = service.protocol;
    if (!sig) {
      if (strict && !allowUnsigned) return AuthErrors.missing(protocol);
      return this.identity(this.root, this.config.defaultRegion);
    }
    const credential = await this.findCredential(sig.accessKeyId);
    const use = { service: service.signingName, region: sig.region, at: now };
    if (!strict) {
      if (credential) {
        this.recordUse(sig.accessKeyId, use);
        return this.identity(credential, sig.region, sig.accessKeyId);
      }
      const account = TWELVE_DIGITS.test(sig.accessKeyId)
        ? sig.accessKeyId
        : this.config.defaultAccount;
      return {
        account,
        region: sig.region,
        accessKeyId: sig.accessKeyId,
        principal: rootPrincipal(account),
      };
    }
    if (!credential) return AuthErrors.unknownKey(protocol);
    const failure = verifySignature(req, body, sig, credential.secretAccessKey, now);
    if (failure) return sigV4Error(failure, sigV4ErrorStyle(protocol, service.signingName));
    if (credential.sessionToken !== undefined) {
      if (sig.sessionToken !== credential.sessionToken) return AuthErrors.unknownKey(protocol);
      if (credential.expiresAt !== undefined && now >= credential.expiresAt)
        return AuthErrors.expiredToken(protocol);
    }
    this.recordUse(sig.accessKeyId, use);
    return this.identity(credential, sig.region, sig.accessKeyId);
  }

  private recordUse(accessKeyId: string, use: KeyUse): void {
    for (const source of this.sources) source.recordUse?.(accessKeyId, use);
  }

  private identity(c: Credential, region: string, accessKeyId = c.accessKeyId): Identity {
    return { account: c.account, region, accessKeyId, principal: c.principal };
  }
}
