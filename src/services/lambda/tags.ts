/**
 * Tags on functions (by unqualified function ARN; "Tags on function aliases and versions
 * are not supported"). A change bumps $LATEST's RevisionId, as AWS does.
 * https://docs.aws.amazon.com/lambda/latest/dg/tagging.html
 */
import { isAccountId, parseArn } from '../../shared/arn.js';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  ListTagsRequest,
  ListTagsResponse,
  TagResourceRequest,
  UntagResourceRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import { LATEST } from './arns.js';
import { editCodeSigningTags, parseCodeSigningConfigArn } from './code-signing.js';
import { locate, newRevisionId, requireFunction, type LambdaDeps, type Located } from './common.js';
import { invalidParameter, resourceMissing, validationException } from './errors.js';
import { T, versionKey, type FunctionRecord, type VersionRecord } from './store.js';
import { checkTagCount } from './validation.js';
import { editMappingTags, parseMappingArn } from './event-source-mappings.js';
import { editCapacityProviderTags, isCapacityProviderArn } from './capacity-providers.js';

type TagOps = Pick<LambdaOperations, 'TagResource' | 'UntagResource' | 'ListTags'>;

/** Only function ARNs name taggable resources Stratus has. */
function functionOf(ctx: RequestContext, resource: string, action: string): Located {
  const arn = parseArn(resource);
  if (
    arn?.service !== 'lambda' ||
    arn.region === '' ||
    !isAccountId(arn.account) ||
    !arn.resource.startsWith('function:')
  ) {
    throw resourceMissing();
  }
  const at = locate(ctx, resource, undefined, { action });
  if (at.qualifier !== undefined) {
    throw invalidParameter(
      'Tags on function aliases and versions are not supported. Please specify a function ARN.',
    );
  }
  return at;
}

/** Code signing configurations are taggable too (by their ARN). */
const isCodeSigningConfig = (arn: string): boolean => parseCodeSigningConfigArn(arn) !== undefined;

export function tagOperations(deps: LambdaDeps): TagOps {
  const { store } = deps;

  async function change(at: Located, edit: (tags: Record<string, string>) => void): Promise<void> {
    await store.transaction(async (tx) => {
      const fn: FunctionRecord = await requireFunction(tx, at);
      edit(fn.tags);
      checkTagCount(fn.tags);
      await tx.put(T.functions, at.key, fn);
      const key = versionKey(at.key, LATEST);
      const latest = await tx.get<VersionRecord>(T.versions, key);
      if (latest) {
        latest.revisionId = newRevisionId();
        await tx.put(T.versions, key, latest);
      }
    });
  }

  return {
    async TagResource(input: TagResourceRequest, ctx: RequestContext): Promise<void> {
      if (isCodeSigningConfig(input.Resource)) {
        await store.transaction((tx) =>
          editCodeSigningTags(tx, ctx, input.Resource, (tags) => Object.assign(tags, input.Tags)),
        );
        return;
      }
      if (parseMappingArn(input.Resource)) {
        await store.transaction((tx) =>
          editMappingTags(tx, ctx, input.Resource, (tags) => Object.assign(tags, input.Tags)),
        );
        return;
      }
      if (isCapacityProviderArn(input.Resource)) {
        await store.transaction((tx) =>
          editCapacityProviderTags(tx, ctx, input.Resource, (tags) =>
            Object.assign(tags, input.Tags),
          ),
        );
        return;
      }
      const at = functionOf(ctx, input.Resource, 'TagResource');
      if (!Object.keys(input.Tags).length) {
        throw invalidParameter('An error occurred and the request cannot be processed.');
      }
      await change(at, (tags) => Object.assign(tags, input.Tags));
    },

    async UntagResource(input: UntagResourceRequest, ctx: RequestContext): Promise<void> {
      if (isCodeSigningConfig(input.Resource)) {
        await store.transaction((tx) =>
          editCodeSigningTags(tx, ctx, input.Resource, (tags) => {
            for (const k of input.TagKeys) delete tags[k];
          }),
        );
        return;
      }
      if (parseMappingArn(input.Resource)) {
        await store.transaction((tx) =>
          editMappingTags(tx, ctx, input.Resource, (tags) => {
            for (const k of input.TagKeys) delete tags[k];
          }),
        );
        return;
      }
      if (isCapacityProviderArn(input.Resource)) {
        await store.transaction((tx) =>
          editCapacityProviderTags(tx, ctx, input.Resource, (tags) => {
            for (const k of input.TagKeys) delete tags[k];
          }),
        );
        return;
      }
      const at = functionOf(ctx, input.Resource, 'UntagResource');
      if (!input.TagKeys.length) {
        throw validationException([
          "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        ]);
      }
      await change(at, (tags) => {
        for (const k of input.TagKeys) delete tags[k];
      });
    },

    async ListTags(input: ListTagsRequest, ctx: RequestContext): Promise<ListTagsResponse> {
      if (isCodeSigningConfig(input.Resource)) {
        return { Tags: await editCodeSigningTags(store, ctx, input.Resource) };
      }
      if (parseMappingArn(input.Resource)) {
        return { Tags: await editMappingTags(store, ctx, input.Resource) };
      }
      if (isCapacityProviderArn(input.Resource)) {
        return { Tags: await editCapacityProviderTags(store, ctx, input.Resource) };
      }
      const at = functionOf(ctx, input.Resource, 'ListTags');
      const fn = await requireFunction(store, at);
      return { Tags: fn.tags };
    },
  };
}
