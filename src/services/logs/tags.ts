/**
 * Tags on log groups: TagResource & co. take the log group ARN (without `:*`); the legacy
 * TagLogGroup & co. take its name. Destinations, delivery sources, delivery destinations,
 * deliveries and anomaly detectors are tagged by their ARN.
 */
import { ResourceNotFoundException, TooManyTagsException } from '../../api/logs/errors.js';
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
import {
  ANOMALY_DETECTORS,
  DELIVERIES,
  DELIVERY_DESTINATIONS,
  DELIVERY_SOURCES,
  DESTINATIONS,
  GROUPS,
  type GroupRecord,
  groupKey,
  type Scope,
  scopePrefix,
} from './store.js';

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

/** Taggable resources other than log groups, by the ARN's resource type. */
const TAGGABLE: Record<string, string | undefined> = {
  destination: DESTINATIONS,
  'delivery-source': DELIVERY_SOURCES,
  'delivery-destination': DELIVERY_DESTINATIONS,
  delivery: DELIVERIES,
  'anomaly-detector': ANOMALY_DETECTORS,
};

type Target = { group: string } | { table: string; key: string };

const resourceMissing = () =>
  new ResourceNotFoundException('The specified resource does not exist.');

export function tagOperations(deps: LogsDeps): TagOps {
  const { store } = deps;

  /** A log group by name, or another taggable resource's row. */
  function target(resourceArn: string, ctx: RequestContext): Target {
    const arn = parseGroupArn(resourceArn);
    if (arn) {
      if (arn.account !== ctx.account || arn.region !== ctx.region) throw groupNotFound();
      return { group: arn.name };
    }
    const other = logsArn(resourceArn);
    const m = /^([a-z-]+):(.+)$/.exec(other?.resource ?? '');
    const table = m ? TAGGABLE[m[1]] : undefined;
    if (!other || !m || table === undefined) throw invalid(`Invalid resource ARN: ${resourceArn}`);
    if (other.account !== ctx.account || other.region !== ctx.region) throw resourceMissing();
    return { table, key: scopePrefix(scopeOf(ctx)) + m[2] };
  }

  /** Read-modify-write of a non-group resource's tags. */
  async function editRow(
    t: { table: string; key: string },
    edit?: (tags: Record<string, string>) => void,
  ): Promise<Record<string, string>> {
    return store.transaction(async (tx) => {
      const rec = await tx.get<{ tags?: Record<string, string> }>(t.table, t.key);
      if (!rec) throw resourceMissing();
      rec.tags ??= {};
      if (edit) {
        edit(rec.tags);
        if (Object.keys(rec.tags).length > MAX_TAGS) {
          throw new TooManyTagsException('A resource can have no more than 50 tags.');
        }
        await tx.put(t.table, t.key, rec);
      }
      return rec.tags;
    });
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
      const t = target(input.resourceArn, ctx);
      if ('group' in t) await tag(scopeOf(ctx), t.group, input.tags);
      else await editRow(t, (tags) => Object.assign(tags, input.tags));
    },

    async UntagResource(input: UntagResourceRequest, ctx: RequestContext): Promise<void> {
      const t = target(input.resourceArn, ctx);
      if ('group' in t) await untag(scopeOf(ctx), t.group, input.tagKeys);
      else {
        await editRow(t, (tags) => {
          for (const k of input.tagKeys) delete tags[k];
        });
      }
    },

    async ListTagsForResource(
      input: ListTagsForResourceRequest,
      ctx: RequestContext,
    ): Promise<ListTagsForResourceResponse> {
      const t = target(input.resourceArn, ctx);
      return { tags: 'group' in t ? await tagsOf(scopeOf(ctx), t.group) : await editRow(t) };
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
