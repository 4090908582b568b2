/**
 * Tags of clusters, task definitions, services and tasks (TagResource, UntagResource,
 * ListTagsForResource), kept in each resource's own record.
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html
 */
import { InvalidParameterException, ResourceNotFoundException } from '../../api/ecs/errors.js';
import type { EcsOperations } from '../../api/ecs/operations.js';
import type { Tag } from '../../api/ecs/types.js';
import { parseArn } from '../../shared/arn.js';
import { mergeTags, type EcsDeps } from './common.js';
import { T, clusterKey, revisionKey, serviceKey, taskKey, type Scope } from './store.js';

type TagOps = Pick<EcsOperations, 'TagResource' | 'UntagResource' | 'ListTagsForResource'>;

/** "A maximum number of 50 tags can be applied to a resource." */
const MAX_TAGS = 50;

/** The table and key of the resource an ARN names. */
function locate(arn: string): { table: string; key: string } {
  const parsed = parseArn(arn);
  if (!parsed || parsed.service !== 'ecs')
    throw new InvalidParameterException('The ARN provided is invalid.');
  const scope: Scope = { account: parsed.account, region: parsed.region };
  const [kind, ...rest] = parsed.resource.split('/');
  if (kind === 'cluster' && rest.length === 1)
    return { table: T.clusters, key: clusterKey(scope, rest[0]!) };
  if (kind === 'service' && rest.length === 2)
    return { table: T.services, key: serviceKey(scope, rest[0]!, rest[1]!) };
  if (kind === 'task' && rest.length === 2)
    return { table: T.tasks, key: taskKey(scope, rest[0]!, rest[1]!) };
  if (kind === 'task-definition' && rest.length === 1) {
    const [family, revision] = rest[0]!.split(':');
    const n = Number(revision);
    if (family && Number.isInteger(n) && n > 0)
      return { table: T.taskDefinitions, key: revisionKey(scope, family, n) };
  }
  throw new InvalidParameterException('The ARN provided is invalid.');
}

export function tagOperations(deps: EcsDeps): TagOps {
  const update = (arn: string, change: (tags: Tag[]) => Tag[]) =>
    deps.store.transaction(async (tx) => {
      const { table, key } = locate(arn);
      const record = await tx.get<{ tags: Tag[] }>(table, key);
      if (!record)
        throw new ResourceNotFoundException('The specified resource could not be found.');
      record.tags = change(record.tags ?? []);
      if (record.tags.length > MAX_TAGS)
        throw new InvalidParameterException(
          'A maximum number of 50 tags can be applied to a resource.',
        );
      await tx.put(table, key, record);
      return record.tags;
    });

  return {
    async TagResource(input) {
      await update(input.resourceArn, (tags) => mergeTags(tags, input.tags));
      return {};
    },
    async UntagResource(input) {
      await update(input.resourceArn, (tags) =>
        tags.filter((t) => !input.tagKeys.includes(t.key ?? '')),
      );
      return {};
    },
    async ListTagsForResource(input) {
      const { table, key } = locate(input.resourceArn);
      const record = await deps.store.get<{ tags: Tag[] }>(table, key);
      if (!record)
        throw new ResourceNotFoundException('The specified resource could not be found.');
      return { tags: record.tags ?? [] };
    },
  };
}
