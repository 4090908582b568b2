/**
 * Encoded authorization messages and sts:DecodeAuthorizationMessage. AWS encodes the
 * details of a refusal only for some services (EC2 and a few others: "Some AWS operations
 * additionally return an encoded message …"); the services Stratus has answer with plain
 * messages as AWS does, so this codec is what a service that encodes would use, and what
 * DecodeAuthorizationMessage opens. Messages are sealed (HMAC, key kept in the store), so
 * a forged or altered one is refused as AWS refuses it.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_DecodeAuthorizationMessage.html
 */
import { InvalidAuthorizationMessageException } from '../../api/sts/errors.js';
import type { StsOperations } from '../../api/sts/operations.js';
import { TokenSigner, storedSecret } from '../../shared/signed-token.js';
import type { MetadataStore } from '../../storage/types.js';

const SECRETS_TABLE = 'sts_secrets';

/** The decoded message's shape, as AWS documents it (fields Stratus knows). */
export interface AuthorizationMessage {
  allowed: boolean;
  explicitDeny: boolean;
  matchedStatements: { items: unknown[] };
  failures: { items: unknown[] };
  context: {
    principal: { id: string; arn: string };
    action: string;
    resource: string;
    conditions: { items: { key: string; values: { items: { value: string }[] } }[] };
  };
}

export class AuthorizationMessages {
  private readonly signer: TokenSigner;

  constructor(store: MetadataStore) {
    this.signer = new TokenSigner(storedSecret(store, SECRETS_TABLE, 'authorization-messages'));
  }

  encode(message: AuthorizationMessage): Promise<string> {
    return this.signer.seal({ m: message });
  }

  /** The message as JSON text, or undefined when the token is not one this server sealed. */
  async decode(encoded: string): Promise<string | undefined> {
    const opened = await this.signer.open(encoded.trim());
    return opened.ok && opened.claims.m !== undefined ? JSON.stringify(opened.claims.m) : undefined;
  }
}

export function authorizationMessageOperations(
  messages: AuthorizationMessages,
): Pick<StsOperations, 'DecodeAuthorizationMessage'> {
  return {
    async DecodeAuthorizationMessage(input) {
      const decoded = await messages.decode(input.EncodedMessage);
      if (decoded === undefined) {
        throw new InvalidAuthorizationMessageException(
          'The encoded authorization message is invalid.',
        );
      }
      return { DecodedMessage: decoded };
    },
  };
}
