/**
 * Stratus's own Batch control, outside AWS's API: `POST /_stratus/batch/reclaim-spot/<compute
 * environment ARN>` interrupts every job running on a SPOT (or FARGATE_SPOT) environment, as
 * when EC2 reclaims spot capacity, so spot interruptions and their retries can be tested.
 * Answers `{"interrupted": n}`. Like /_stratus/reset it is open in permissive mode and must
 * be signed (any service) in strict mode.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StratusConfig } from '../../config.js';
import { AwsError } from '../../shared/errors.js';
import type { RequestAuthenticator, DataPlane } from '../plugin.js';
import { findEnvironment } from './common.js';
import type { JobEngine } from './engine.js';
import type { MetadataStore } from '../../storage/types.js';
import { parseArn } from '../../shared/arn.js';

export const RECLAIM_PREFIX = '/_stratus/batch/reclaim-spot/';

export interface AdminPlaneDeps {
  config: StratusConfig;
  store: MetadataStore;
  engine: JobEngine;
  signatures: RequestAuthenticator;
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function adminPlane(deps: AdminPlaneDeps): DataPlane {
  return {
    name: 'batch-admin',
    title: 'Batch spot interruptions (POST /_stratus/batch/reclaim-spot/<compute environment ARN>)',
    paths: [`${RECLAIM_PREFIX}{computeEnvironmentArn}`],
    async handle(req: IncomingMessage, res: ServerResponse) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (req.method !== 'POST') return answer(res, 405, { message: 'POST only' });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const who = await deps.signatures.authenticate(
        { method: 'POST', path: url.pathname, rawQuery: url.search.slice(1), headers },
        Buffer.concat(chunks),
        'batch',
      );
      if (who instanceof AwsError || (who === undefined && deps.config.auth === 'strict')) {
        return answer(res, 403, { message: 'a signed request is needed in strict mode' });
      }
      const arn = decodeURIComponent(url.pathname.slice(RECLAIM_PREFIX.length));
      const parsed = parseArn(arn);
      const env = parsed
        ? await findEnvironment(deps.store, { account: parsed.account, region: parsed.region }, arn)
        : undefined;
      if (!env) return answer(res, 404, { message: `compute environment ${arn} not found` });
      const type = env.computeResources?.type;
      if (type !== 'SPOT' && type !== 'FARGATE_SPOT') {
        return answer(res, 400, { message: `${arn} is not a SPOT compute environment` });
      }
      answer(res, 200, { interrupted: await deps.engine.reclaim(env.computeEnvironmentArn) });
    },
  };
}
