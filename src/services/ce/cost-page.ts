/**
 * `GET /_stratus/cost`: the cost report (src/billing/report.ts) as a page for a browser,
 * as JSON for `Accept: application/json` or `?format=json` (what `stratus cost` reads).
 * Query: `account` (default: the server's), `from` / `to` (ISO times; default: the month
 * so far), `what-if=1`, `free-tier=always|all|none`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UsageReader } from '../../billing/meter.js';
import type { FreeTierMode } from '../../billing/pricing.js';
import { renderHtml } from '../../billing/render.js';
import { costReport } from '../../billing/report.js';
import type { Invocation } from '../../billing/what-if.js';
import type { DataPlane } from '../plugin.js';

export const COST_PATH = '/_stratus/cost';

export interface CostPageDeps {
  usage: UsageReader;
  defaultAccount: string;
  freeTier: FreeTierMode;
  invocations(account: string, from: number, to: number): Promise<Invocation[]>;
}

function fail(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
}

export function costPage(deps: CostPageDeps): DataPlane {
  return {
    name: 'cost',
    title: 'What the recorded workload would cost on AWS (stratus cost)',
    paths: [COST_PATH],
    async handle(req: IncomingMessage, res: ServerResponse) {
      req.resume();
      const url = new URL(req.url ?? '/', 'http://stratus');
      if (url.pathname !== COST_PATH && url.pathname !== `${COST_PATH}/`)
        return fail(res, 404, `No Stratus endpoint ${url.pathname}: see ${COST_PATH}`);
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return fail(res, 405, `${COST_PATH} answers GET`);
      const q = url.searchParams;
      const time = (name: string) => {
        const v = q.get(name);
        if (v === null || v === '') return undefined;
        const t = Date.parse(v);
        if (Number.isNaN(t)) throw new Error(`${name} must be an ISO 8601 time, not ${v}`);
        return t;
      };
      const account = q.get('account') || deps.defaultAccount;
      const freeTier = q.get('free-tier') ?? deps.freeTier;
      let from: number | undefined;
      let to: number | undefined;
      try {
        if (!/^\d{12}$/.test(account)) throw new Error('account must be 12 digits');
        if (freeTier !== 'always' && freeTier !== 'all' && freeTier !== 'none')
          throw new Error('free-tier must be always, all or none');
        from = time('from');
        to = time('to');
        if (from !== undefined && to !== undefined && from >= to)
          throw new Error('from must be before to');
      } catch (err) {
        return fail(res, 400, (err as Error).message);
      }
      const whatIf = q.get('what-if');
      const report = await costReport(deps.usage, {
        account,
        ...(from !== undefined && { from }),
        ...(to !== undefined && { to }),
        freeTier,
        ...(whatIf !== null &&
          whatIf !== '0' && {
            invocations: (a: number, b: number) => deps.invocations(account, a, b),
          }),
      });
      const json =
        q.get('format') === 'json' || (req.headers.accept ?? '').includes('application/json');
      const body = json ? JSON.stringify(report, null, 2) : renderHtml(report);
      res.writeHead(200, {
        'content-type': json ? 'application/json' : 'text/html; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}
