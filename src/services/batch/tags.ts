/**
 * Tags on compute environments, job queues, scheduling policies, job definitions and jobs,
 * by ARN. https://docs.aws.amazon.com/batch/latest/APIReference/API_TagResource.html
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { clientError, scopeOf, type BatchDeps } from './common.js';
import { T, definitionKey, resourceKey, type Scope } from './store.js';

type Ops = Pick<BatchOperations, 'TagResource' | 'UntagResource' | 'ListTagsForResource'>;

/** Where a taggable resource is stored; undefined for an ARN that names none of ours. */
function locate(scope: Scope, ref: string): { table: string; key: string } | undefined {
  const arn = parseArn(ref);
  if (arn?.service !== 'batch' || arn.account !== scope.account || arn.region !== scope.region) {
    return undefined;
  }
  const slash = arn.resource.indexOf('/');
  const kind = arn.resource.slice(0, slash);
  const name = arn.resource.slice(slash + 1);
  switch (kind) {
    case 'compute-environment':
      return { table: T.environments, key: resourceKey(scope, name) };
    case 'job-queue':
      return { table: T.queues, key: resourceKey(scope, name) };
    case 'scheduling-policy':
      return { table: T.policies, key: resourceKey(scope, name) };
    case 'job-definition': {
      const colon = name.lastIndexOf(':');
      const revision = Number(name.slice(colon + 1));
      if (colon < 0 || !Number.isInteger(revision)) return undefined;
      return { table: T.definitions, key: definitionKey(scope, name.slice(0, colon), revision) };
    }
    case 'job':
      return { table: T.jobs, key: name };
    default:
      return undefined;
  }
}

type Tagged = { tags?: Record<string, string> };

export function tagOperations(deps: BatchDeps): Ops {
  const { store } = deps;

  async function change(
    scope: Scope,
    ref: string,
    edit: (tags: Record<string, string>) => void,
  ): Promise<void> {
    const at = locate(scope, ref);
    if (!at) throw clientError(`Resource ${ref} does not exist`);
    await store.transaction(async (tx: MetadataOps) => {
      const record = await tx.get<Tagged>(at.table, at.key);
      if (!record) throw clientError(`Resource ${ref} does not exist`);
      const tags = { ...record.tags };
      edit(tags);
      if (Object.keys(tags).length > 50) throw clientError('A resource can have at most 50 tags');
      record.tags = tags;
      await tx.put(at.table, at.key, record);
    });
  }

  return {
    async TagResource(input, ctx) {
      await change(scopeOf(ctx), input.resourceArn, (tags) => Object.assign(tags, input.tags));
      return {};
    },
    async UntagResource(input, ctx) {
      await change(scopeOf(ctx), input.resourceArn, (tags) => {
        for (const k of input.tagKeys) delete tags[k];
      });
      return {};
    },
    async ListTagsForResource(input, ctx) {
      const at = locate(scopeOf(ctx), input.resourceArn);
      const record = at && (await store.get<Tagged>(at.table, at.key));
      if (!record) throw clientError(`Resource ${input.resourceArn} does not exist`);
      return { tags: record.tags ?? {} };
    },
  };
}
