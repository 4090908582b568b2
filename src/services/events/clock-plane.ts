/**
 * Stratus's own control of the scheduling clock (src/events/clock.ts), outside AWS's API:
 *   GET  /_stratus/clock                      {"now": ISO time, "offsetSeconds": n}
 *   POST /_stratus/clock {"advanceSeconds": n} moves time forward, firing what fell due
 *   POST /_stratus/clock {"to": ISO time}      moves time forward to that instant
 *   POST /_stratus/clock {"fire": ARN}         fires a rule, schedule or scheduled query now
 * POST answers {"now", "offsetSeconds", "fired"} once every firing is on the event bus.
 * `stratus clock …` (src/cli.ts) calls it. Open in permissive mode; in strict mode the
 * request must be signed, like the other /_stratus/ controls.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StratusConfig } from '../../config.js';
import type { SchedulingClock } from '../../events/clock.js';
import { AwsError } from '../../shared/errors.js';
import type { DataPlane, RequestAuthenticator } from '../plugin.js';

export const CLOCK_PATH = '/_stratus/clock';

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export function clockPlane(deps: {
  config: StratusConfig;
  clock: SchedulingClock;
  signatures: RequestAuthenticator;
}): DataPlane {
  const state = () => ({
    now: new Date(deps.clock.now()).toISOString(),
    offsetSeconds: deps.clock.offsetMs() / 1000,
  });
  return {
    name: 'events-clock',
    title: 'The scheduling clock of EventBridge rules and Scheduler (GET/POST /_stratus/clock)',
    paths: [CLOCK_PATH],
    async handle(req: IncomingMessage, res: ServerResponse) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of req) {
        size += (c as Buffer).length;
        if (size <= 64 * 1024) chunks.push(c as Buffer);
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== CLOCK_PATH) return answer(res, 404, { message: 'not found' });
      if (req.method === 'GET') return answer(res, 200, state());
      if (req.method !== 'POST') return answer(res, 405, { message: 'GET or POST only' });
      if (size > 64 * 1024) return answer(res, 413, { message: 'body too large' });
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const who = await deps.signatures.authenticate(
        { method: 'POST', path: url.pathname, rawQuery: url.search.slice(1), headers },
        body,
        'events',
      );
      if (who instanceof AwsError || (who === undefined && deps.config.auth === 'strict')) {
        return answer(res, 403, { message: 'a signed request is needed in strict mode' });
      }
      let input: { advanceSeconds?: unknown; to?: unknown; fire?: unknown };
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as typeof input;
      } catch {
        return answer(res, 400, { message: 'the body is not JSON' });
      }
      if (typeof input.fire === 'string') {
        if (!(await deps.clock.fireNow(input.fire))) {
          return answer(res, 404, {
            message: `${input.fire} is no enabled scheduled rule, schedule or scheduled query`,
          });
        }
        return answer(res, 200, { ...state(), fired: 1 });
      }
      let ms: number;
      if (typeof input.advanceSeconds === 'number' && input.advanceSeconds >= 0) {
        ms = input.advanceSeconds * 1000;
      } else if (typeof input.to === 'string' && !Number.isNaN(Date.parse(input.to))) {
        ms = Date.parse(input.to) - deps.clock.now();
        if (ms < 0) return answer(res, 400, { message: 'the clock only moves forward' });
      } else {
        return answer(res, 400, {
          message: 'expected {"advanceSeconds": n}, {"to": "<ISO time>"} or {"fire": "<ARN>"}',
        });
      }
      const fired = await deps.clock.advance(ms);
      answer(res, 200, { ...state(), fired });
    },
  };
}
