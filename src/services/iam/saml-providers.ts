/**
 * SAML 2.0 identity providers: the IdPs whose signed assertions STS's AssumeRoleWithSAML
 * accepts for roles that trust them (`arn:aws:iam::<account>:saml-provider/<Name>`).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html
 *
 * The metadata document is kept as given and read for its entity ID (assertions' Issuer
 * must name it) and signing certificates; metadata without them is refused as AWS refuses
 * it: "Could not parse metadata". ValidUntil is the metadata's own `validUntil`, else a
 * hundred years after creation, as AWS reports for metadata that sets none.
 */
import { randomUUID } from 'node:crypto';
import {
  EntityAlreadyExistsException,
  InvalidInputException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type { Tag } from '../../api/iam/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import { parseMetadata, type SamlMetadata } from '../../shared/saml.js';
import type { MetadataOps } from '../../storage/types.js';
import { timestamp, type IamDeps } from './common.js';
import { pageArray } from './paging.js';
import { tagPosition } from './roles.js';
import { nameKey, T } from './store.js';
import { checkTags, mergeTags, removeTags } from './tags.js';

export interface SamlProviderRecord {
  arn: string;
  name: string;
  uuid: string;
  metadata: string;
  created: string;
  validUntil: string;
  tags: Tag[];
}

type SamlOps = Pick<
  IamOperations,
  | 'CreateSAMLProvider'
  | 'GetSAMLProvider'
  | 'UpdateSAMLProvider'
  | 'DeleteSAMLProvider'
  | 'ListSAMLProviders'
  | 'TagSAMLProvider'
  | 'UntagSAMLProvider'
  | 'ListSAMLProviderTags'
>;

const HUNDRED_YEARS_MS = 100 * 365.25 * 24 * 3600 * 1000;

function checkMetadata(xml: string): SamlMetadata {
  const parsed = parseMetadata(xml);
  if (!parsed) throw new InvalidInputException('Could not parse metadata');
  return parsed;
}

function validUntil(meta: SamlMetadata, created: string): string {
  const at = meta.validUntil ?? new Date(new Date(created).getTime() + HUNDRED_YEARS_MS);
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The provider's name in an ARN of the caller's account, else undefined. */
function providerName(account: string, arn: string): string | undefined {
  const parsed = parseArn(arn);
  const prefix = 'saml-provider/';
  return parsed?.service === 'iam' &&
    parsed.account === account &&
    parsed.resource.startsWith(prefix)
    ? parsed.resource.slice(prefix.length)
    : undefined;
}

/** The provider behind an ARN (STS reads it through the directory). */
export async function findSamlProvider(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<SamlProviderRecord | undefined> {
  const name = providerName(account, arn);
  if (name === undefined) return undefined;
  const found = await ops.get<SamlProviderRecord>(T.samlProviders, nameKey(account, name));
  return found?.arn === arn ? found : undefined;
}

async function getProvider(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<SamlProviderRecord> {
  const found = await findSamlProvider(ops, account, arn);
  if (!found) throw new NoSuchEntityException(`Manifest not found for arn ${arn}`);
  return found;
}

export function samlProviderOperations(deps: IamDeps): SamlOps {
  const { store } = deps;
  const update = (account: string, arn: string, change: (p: SamlProviderRecord) => void) =>
    store.transaction(async (tx) => {
      const p = await getProvider(tx, account, arn);
      change(p);
      await tx.put(T.samlProviders, nameKey(account, p.name), p);
    });

  return {
    async CreateSAMLProvider(input, ctx) {
      const meta = checkMetadata(input.SAMLMetadataDocument);
      const created = timestamp(deps);
      const p: SamlProviderRecord = {
        arn: buildArn('iam', '', ctx.account, `saml-provider/${input.Name}`),
        name: input.Name,
        uuid: randomUUID(),
        metadata: input.SAMLMetadataDocument,
        created,
        validUntil: validUntil(meta, created),
        tags: checkTags(input.Tags),
      };
      if (!(await store.insert(T.samlProviders, nameKey(ctx.account, input.Name), p))) {
        throw new EntityAlreadyExistsException(`SAMLProvider ${input.Name} already exists`);
      }
      return { SAMLProviderArn: p.arn, ...(p.tags.length > 0 && { Tags: p.tags }) };
    },

    async GetSAMLProvider(input, ctx) {
      const p = await getProvider(store, ctx.account, input.SAMLProviderArn);
      return {
        SAMLProviderUUID: p.uuid,
        SAMLMetadataDocument: p.metadata,
        CreateDate: new Date(p.created),
        ValidUntil: new Date(p.validUntil),
        AssertionEncryptionMode: 'Allowed',
        ...(p.tags.length > 0 && { Tags: p.tags }),
      };
    },

    async UpdateSAMLProvider(input, ctx) {
      const metadata = input.SAMLMetadataDocument;
      if (metadata === undefined && input.AssertionEncryptionMode === undefined) {
        throw new InvalidInputException(
          'Unable to update identity provider. No updates are defined for metadata or encryption assertion.',
        );
      }
      let arn = '';
      await update(ctx.account, input.SAMLProviderArn, (p) => {
        arn = p.arn;
        if (metadata === undefined) return;
        p.metadata = metadata;
        p.validUntil = validUntil(checkMetadata(metadata), timestamp(deps));
      });
      return { SAMLProviderArn: arn };
    },

    async DeleteSAMLProvider(input, ctx) {
      await store.transaction(async (tx) => {
        const p = await getProvider(tx, ctx.account, input.SAMLProviderArn);
        await tx.delete(T.samlProviders, nameKey(ctx.account, p.name));
      });
    },

    async ListSAMLProviders(_input, ctx) {
      // Not paged: the API has no Marker.
      const all = await store.list<SamlProviderRecord>(T.samlProviders, {
        prefix: `${ctx.account}/`,
      });
      return {
        SAMLProviderList: all.map(({ value: p }) => ({
          Arn: p.arn,
          ValidUntil: new Date(p.validUntil),
          CreateDate: new Date(p.created),
        })),
      };
    },

    async TagSAMLProvider(input, ctx) {
      await update(ctx.account, input.SAMLProviderArn, (p) => {
        p.tags = mergeTags(p.tags, input.Tags, 'SAMLProvider');
      });
    },

    async UntagSAMLProvider(input, ctx) {
      await update(ctx.account, input.SAMLProviderArn, (p) => {
        p.tags = removeTags(p.tags, input.TagKeys);
      });
    },

    async ListSAMLProviderTags(input, ctx) {
      const p = await getProvider(store, ctx.account, input.SAMLProviderArn);
      const page = pageArray(p.tags, tagPosition(p.tags), input.Marker, input.MaxItems);
      return {
        Tags: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
