/**
 * Tags on APIs and stages, by ARN (`arn:aws:apigateway:<region>::/apis/<id>[/stages/<name>]`).
 * https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/tags-resource-arn.html
 */
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import { parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { type ApiGatewayV2Deps, badRequest, loadApi, loadChild, notFound } from './common.js';
import { APIS, type ApiRecord, childKey, STAGES, type StageRecord } from './store.js';

type TagOps = Pick<Apigatewayv2Operations, 'TagResource' | 'UntagResource' | 'GetTags'>;

const RESOURCE = /^\/apis\/([a-z0-9]+)(?:\/stages\/([^/]+))?$/;

type Tagged = { kind: 'api'; apiId: string } | { kind: 'stage'; apiId: string; stage: string };

function target(ctx: RequestContext, arn: string): Tagged {
  const parsed = parseArn(arn);
  const m = parsed && parsed.service === 'apigateway' ? RESOURCE.exec(parsed.resource) : null;
  if (!parsed || !m) throw badRequest(`Invalid resource ARN: ${arn}`);
  if (parsed.region !== ctx.region) throw notFound('Resource', ctx.account, arn);
  return m[2] === undefined
    ? { kind: 'api', apiId: m[1] }
    : { kind: 'stage', apiId: m[1], stage: decodeURIComponent(m[2]) };
}

export function tagOperations(deps: ApiGatewayV2Deps): TagOps {
  /** Reads and rewrites the tags of what the ARN names, in one transaction. */
  const edit = (
    ctx: RequestContext,
    arn: string,
    change: (tags: Record<string, string>) => Record<string, string>,
  ) =>
    deps.store.transaction(async (tx) => {
      const t = target(ctx, arn);
      const api = await loadApi(tx, ctx, t.apiId);
      if (t.kind === 'api') {
        await tx.put<ApiRecord>(APIS, api.apiId, { ...api, tags: change(api.tags) });
        return;
      }
      const stage = await loadChild<StageRecord>(tx, STAGES, ctx, api.apiId, t.stage, 'Stage');
      await tx.put<StageRecord>(STAGES, childKey(api.apiId, t.stage), {
        ...stage,
        tags: change(stage.tags),
      });
    });
  return {
    async TagResource(input, ctx) {
      await edit(ctx, input.ResourceArn, (tags) => {
        const next = { ...tags, ...input.Tags };
        if (Object.keys(next).length > 50) throw badRequest('A resource can have at most 50 tags.');
        return next;
      });
      return {};
    },

    async UntagResource(input, ctx) {
      await edit(ctx, input.ResourceArn, (tags) => {
        const next = { ...tags };
        for (const key of input.TagKeys) delete next[key];
        return next;
      });
    },

    async GetTags(input, ctx) {
      const t = target(ctx, input.ResourceArn);
      const api = await loadApi(deps.store, ctx, t.apiId);
      if (t.kind === 'api') return { Tags: api.tags };
      const stage = await loadChild<StageRecord>(
        deps.store,
        STAGES,
        ctx,
        api.apiId,
        t.stage,
        'Stage',
      );
      return { Tags: stage.tags };
    },
  };
}
