/**
 * Tags on log groups: TagResource & co. take the log group ARN (without `:*`); the legacy
 * TagLogGroup & co. take its name.
 */
import { TooManyTagsException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  ListTagsLogGroupRequest,
  ListTagsLogGroupResponse,
  TagLogGroupRequest,
  TagResourceRequest,
  UntagLogGroupRequest,
  UntagResourceRequest,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import {
  groupArn,
  groupNotFound,
  invalid,
  type LogsDeps,
  logsArn,
  parseGroupArn,
  scopeOf,
} from './common.js';
import { updateGroup } from './groups.js';
import { GROUPS, type GroupRecord, groupKey, type Scope } from './store.js';

type TagOps = Pick<
  LogsOperations,
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource'
  | 'TagLogGroup'
  | 'UntagLogGroup'
  | 'ListTagsLogGroup'
>;

const MAX_TAGS = 50;

export function tagOperations(deps: LogsDeps): TagOps {
  const { store } = deps;

  function taggedGroup(resourceArn: string, ctx: RequestContext): string {
    const arn = parseGroupArn(resourceArn);
    if (!arn) {
      // Destinations are the only other taggable resource; Stratus has none.
      if (logsArn(resourceArn)?.resource.startsWith('destination:')) {
        throw groupNotFound();
      }
      throw invalid(`Invalid resource ARN: ${resourceArn}`);
    }
    if (arn.account !== ctx.account || arn.region !== ctx.region) throw groupNotFound();
    return arn.name;
  }

  async function tag(scope: Scope, group: string, tags: Record<string, string>): Promise<void> {
    await updateGroup(store, scope, group, (g) => {
      const merged = { ...g.tags, ...tags };
      if (Object.keys(merged).length > MAX_TAGS) {
        throw new TooManyTagsException('A resource can have no more than 50 tags.', {
          resourceName: groupArn(scope, group),
        });
      }
      g.tags = merged;
    });
  }

  async function untag(scope: Scope, group: string, keys: string[]): Promise<void> {
    await updateGroup(store, scope, group, (g) => {
      for (const k of keys) delete g.tags[k];
    });
  }

  async function tagsOf(scope: Scope, group: string): Promise<Record<string, string>> {
    const g = await store.get<GroupRecord>(GROUPS, groupKey(scope, group));
    if (!g) throw groupNotFound();
    return g.tags;
  }

  return {
    async TagResource(input: TagResourceRequest, ctx: RequestContext): Promise<void> {
      await tag(scopeOf(ctx), taggedGroup(input.resourceArn, ctx), input.tags);
    },

    async UntagResource(input: UntagResourceRequest, ctx: RequestContext): Promise<void> {
      await untag(scopeOf(ctx), taggedGroup(input.resourceArn, ctx), input.tagKeys);
    },

    async ListTagsForResource(
      input: ListTagsForResourceRequest,
      ctx: RequestContext,
    ): Promise<ListTagsForResourceResponse> {
      return { tags: await tagsOf(scopeOf(ctx), taggedGroup(input.resourceArn, ctx)) };
    },

    async TagLogGroup(input: TagLogGroupRequest, ctx: RequestContext): Promise<void> {
      await tag(scopeOf(ctx), input.logGroupName, input.tags);
    },

    async UntagLogGroup(input: UntagLogGroupRequest, ctx: RequestContext): Promise<void> {
      await untag(scopeOf(ctx), input.logGroupName, input.tags);
    },

    async ListTagsLogGroup(
      input: ListTagsLogGroupRequest,
      ctx: RequestContext,
    ): Promise<ListTagsLogGroupResponse> {
      return { tags: await tagsOf(scopeOf(ctx), input.logGroupName) };
    },
  };
}
