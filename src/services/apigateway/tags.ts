/**
 * Tags on REST APIs, stages, API keys and usage plans, by their ARNs
 * (`arn:aws:apigateway:<region>::/restapis/<id>[/stages/<name>]`, `…::/apikeys/<id>`,
 * `…::/usageplans/<id>`).
 * https://docs.aws.amazon.com/apigateway/latest/api/API_TagResource.html
 */
import { BadRequestException, NotFoundException } from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import { parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { type ApigwDeps, scopeOf } from './common.js';
import { apiKey, childKey, scopeKey, T } from './store.js';

type TagOps = Pick<ApigatewayOperations, 'TagResource' | 'UntagResource' | 'GetTags'>;

/** The table and key of the resource an ARN names. */
function locate(arn: string, ctx: RequestContext): { table: string; key: string } {
  const p = parseArn(arn);
  if (p?.service !== 'apigateway') throw new BadRequestException(`Invalid ARN specified: ${arn}`);
  const scope = { ...scopeOf(ctx), region: p.region || ctx.region };
  const parts = p.resource.split('/');
  if (parts[1] === 'restapis' && parts[2] && parts.length === 3) {
    return { table: T.apis, key: apiKey(scope, parts[2]) };
  }
  if (parts[1] === 'restapis' && parts[2] && parts[3] === 'stages' && parts[4]) {
    return { table: T.stages, key: childKey(scope, parts[2], parts[4]) };
  }
  if (parts[1] === 'apikeys' && parts[2])
    return { table: T.apiKeys, key: `${scopeKey(scope)}:${parts[2]}` };
  if (parts[1] === 'usageplans' && parts[2]) {
    return { table: T.usagePlans, key: `${scopeKey(scope)}:${parts[2]}` };
  }
  throw new BadRequestException(`Invalid ARN specified: ${arn}`);
}

async function withTags(
  tx: MetadataOps,
  where: { table: string; key: string },
  fn: (tags: Record<string, string>) => void,
): Promise<Record<string, string>> {
  const row = await tx.get<{ tags?: Record<string, string> }>(where.table, where.key);
  if (!row) throw new NotFoundException('Invalid resource identifier specified');
  row.tags ??= {};
  fn(row.tags);
  await tx.put(where.table, where.key, row);
  return row.tags;
}

export function tagOperations(deps: ApigwDeps): TagOps {
  return {
    async TagResource(input, ctx) {
      const where = locate(input.resourceArn, ctx);
      await deps.store.transaction((tx) =>
        withTags(tx, where, (t) => Object.assign(t, input.tags)),
      );
    },
    async UntagResource(input, ctx) {
      const where = locate(input.resourceArn, ctx);
      await deps.store.transaction((tx) =>
        withTags(tx, where, (t) => {
          for (const k of input.tagKeys) delete t[k];
        }),
      );
    },
    async GetTags(input, ctx) {
      const where = locate(input.resourceArn, ctx);
      const row = await deps.store.get<{ tags?: Record<string, string> }>(where.table, where.key);
      if (!row) throw new NotFoundException('Invalid resource identifier specified');
      return { tags: row.tags ?? {} };
    },
  };
}
