/**
 * OpenID Connect identity providers: the issuers whose ID tokens STS's
 * AssumeRoleWithWebIdentity accepts for roles that trust them.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html
 *
 * The provider is named by its issuer URL without the scheme (`arn:aws:iam::<account>:
 * oidc-provider/<host>[/path]`), which is also the prefix of its condition keys
 * (`<host>:aud`, `<host>:sub`). AWS requires https; a local issuer on this machine
 * (127.0.0.1, localhost, ::1) may use http, since no certificate can be had for it.
 * Thumbprints are stored and returned: AWS itself no longer uses them for most issuers,
 * and Stratus verifies tokens against the issuer's JWKS.
 */
import {
  EntityAlreadyExistsException,
  InvalidInputException,
  LimitExceededException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { Tag } from '../../api/iam/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { timestamp, type IamDeps } from './common.js';
import { pageArray } from './paging.js';
import { tagPosition } from './roles.js';
import { T } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

/** IAM quotas: "Client IDs per OpenID Connect provider: 100", "Thumbprints …: 5". */
const MAX_CLIENT_IDS = 100;
const MAX_THUMBPRINTS = 5;

export interface OidcProviderRecord {
  arn: string;
  /** The issuer without its scheme, as GetOpenIDConnectProvider reports it. */
  url: string;
  /** http for a loopback issuer, else https. */
  scheme: 'https' | 'http';
  clientIds: string[];
  thumbprints: string[];
  created: string;
  tags: Tag[];
}

type OidcOps = Pick<
  IamOperations,
  | 'CreateOpenIDConnectProvider'
  | 'GetOpenIDConnectProvider'
  | 'ListOpenIDConnectProviders'
  | 'DeleteOpenIDConnectProvider'
  | 'AddClientIDToOpenIDConnectProvider'
  | 'RemoveClientIDFromOpenIDConnectProvider'
  | 'UpdateOpenIDConnectProviderThumbprint'
  | 'TagOpenIDConnectProvider'
  | 'UntagOpenIDConnectProvider'
  | 'ListOpenIDConnectProviderTags'
>;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The issuer without scheme or trailing slash, and its scheme; refused when not a URL. */
export function issuerKey(issuer: string): { url: string; scheme: 'https' | 'http' } {
  let parsed: URL;
  try {
    parsed = new URL(issuer);
  } catch {
    throw new InvalidInputException('Invalid Open ID Connect Provider URL');
  }
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http';
  if (
    (parsed.protocol !== 'https:' &&
      !(parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname))) ||
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== ''
  ) {
    throw new InvalidInputException('Invalid Open ID Connect Provider URL');
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  return { url: `${parsed.host}${path}`, scheme };
}

const providerKey = (account: string, url: string) => `${account}/${url}`;

/** The record behind a provider ARN in the caller's account. */
async function getProvider(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<OidcProviderRecord> {
  const parsed = parseArn(arn);
  const prefix = 'oidc-provider/';
  const found =
    parsed?.service === 'iam' && parsed.account === account && parsed.resource.startsWith(prefix)
      ? await ops.get<OidcProviderRecord>(
          T.oidcProviders,
          providerKey(account, parsed.resource.slice(prefix.length)),
        )
      : undefined;
  if (!found) throw new NoSuchEntityException(`OpenIDConnect Provider not found for arn ${arn}`);
  return found;
}

/** The provider a token's issuer names in `account` (STS AssumeRoleWithWebIdentity). */
export async function findOidcProvider(
  ops: MetadataOps,
  account: string,
  issuer: string,
): Promise<OidcProviderRecord | undefined> {
  let key;
  try {
    key = issuerKey(issuer);
  } catch {
    return undefined;
  }
  const found = await ops.get<OidcProviderRecord>(T.oidcProviders, providerKey(account, key.url));
  return found?.scheme === key.scheme ? found : undefined;
}

function checkThumbprints(list: readonly string[] | undefined): string[] {
  const out = [...(list ?? [])];
  if (out.length > MAX_THUMBPRINTS) {
    throw new LimitExceededException(
      `Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: ${MAX_THUMBPRINTS}`,
    );
  }
  return out;
}

function checkClientIds(list: readonly string[]): string[] {
  const out = [...new Set(list)];
  if (out.length > MAX_CLIENT_IDS) {
    throw new LimitExceededException(
      `Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: ${MAX_CLIENT_IDS}`,
    );
  }
  return out;
}

export function oidcProviderOperations(deps: IamDeps): OidcOps {
  const { store } = deps;
  const update = (
    account: string,
    arn: string,
    change: (p: OidcProviderRecord) => void,
  ): Promise<void> =>
    store.transaction(async (tx) => {
      const p = await getProvider(tx, account, arn);
      change(p);
      await tx.put(T.oidcProviders, providerKey(account, p.url), p);
    });

  return {
    async CreateOpenIDConnectProvider(input, ctx) {
      const { url, scheme } = issuerKey(input.Url);
      const p: OidcProviderRecord = {
        arn: buildArn('iam', '', ctx.account, `oidc-provider/${url}`),
        url,
        scheme,
        clientIds: checkClientIds(input.ClientIDList ?? []),
        thumbprints: checkThumbprints(input.ThumbprintList),
        created: timestamp(deps),
        tags: checkTags(input.Tags),
      };
      if (!(await store.insert(T.oidcProviders, providerKey(ctx.account, url), p))) {
        throw new EntityAlreadyExistsException(`Provider with url ${input.Url} already exists.`);
      }
      return {
        OpenIDConnectProviderArn: p.arn,
        ...(p.tags.length > 0 && { Tags: p.tags }),
      };
    },

    async GetOpenIDConnectProvider(input, ctx) {
      const p = await getProvider(store, ctx.account, input.OpenIDConnectProviderArn);
      return {
        Url: p.url,
        ClientIDList: p.clientIds,
        ThumbprintList: p.thumbprints,
        CreateDate: new Date(p.created),
        ...(p.tags.length > 0 && { Tags: p.tags }),
      };
    },

    async ListOpenIDConnectProviders(_input, ctx) {
      // Not paged: the API has no Marker (and an account may hold 100 providers).
      const all = await store.list<OidcProviderRecord>(T.oidcProviders, {
        prefix: `${ctx.account}/`,
      });
      return { OpenIDConnectProviderList: all.map((row) => ({ Arn: row.value.arn })) };
    },

    /** "This operation is idempotent; it does not fail … for a provider that does not exist." */
    async DeleteOpenIDConnectProvider(input, ctx) {
      await store.transaction(async (tx) => {
        const p = await getProvider(tx, ctx.account, input.OpenIDConnectProviderArn).catch(
          (err: unknown) => {
            if (err instanceof NoSuchEntityException) return undefined;
            throw err;
          },
        );
        if (p) await tx.delete(T.oidcProviders, providerKey(ctx.account, p.url));
      });
    },

    async AddClientIDToOpenIDConnectProvider(input, ctx) {
      await update(ctx.account, input.OpenIDConnectProviderArn, (p) => {
        p.clientIds = checkClientIds([...p.clientIds, input.ClientID]);
      });
    },

    async RemoveClientIDFromOpenIDConnectProvider(input, ctx) {
      await update(ctx.account, input.OpenIDConnectProviderArn, (p) => {
        p.clientIds = p.clientIds.filter((id) => id !== input.ClientID);
      });
    },

    async UpdateOpenIDConnectProviderThumbprint(input, ctx) {
      await update(ctx.account, input.OpenIDConnectProviderArn, (p) => {
        p.thumbprints = checkThumbprints(input.ThumbprintList);
      });
    },

    async TagOpenIDConnectProvider(input, ctx) {
      await update(ctx.account, input.OpenIDConnectProviderArn, (p) => {
        p.tags = mergeTags(p.tags, input.Tags, 'OpenIdConnectProvider');
      });
    },

    async UntagOpenIDConnectProvider(input, ctx) {
      await update(ctx.account, input.OpenIDConnectProviderArn, (p) => {
        p.tags = removeTags(p.tags, input.TagKeys);
      });
    },

    async ListOpenIDConnectProviderTags(input, ctx) {
      const p = await getProvider(store, ctx.account, input.OpenIDConnectProviderArn);
      const page = pageArray(p.tags, tagPosition(p.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
