/**
 * `stratus cost [--json] [--what-if] [--from T] [--to T] [--account ID] [--free-tier M]`:
 * the running server's cost report (GET /_stratus/cost on STRATUS_ENDPOINT), printed with a
 * bar chart, or as JSON.
 */
import { parseArgs } from 'node:util';
import { renderText } from './render.js';
import type { CostReport } from './report.js';

export const COST_USAGE = `Usage: stratus cost [options]
  What the workload Stratus ran would cost on AWS: the month so far per service, usage
  type, function or task family, with the free tier used (asks STRATUS_ENDPOINT, default
  http://127.0.0.1:4566; the same report is the page GET /_stratus/cost).

  --what-if           also price the recorded Lambda workload for a month as Lambda, as
                      always-on Fargate tasks and as an always-on Lightsail or EC2 server,
                      with the break-even request rate
  --from T, --to T    the window (ISO 8601 times; default: the month so far). The what-if
                      projects the request rate seen in it (by default from the month's
                      first invocation)
  --account ID        whose bill (default: the server's default account)
  --free-tier M       always (default: Lambda's 1M requests and 400,000 GB-s a month, ...),
                      all (new-account offers too) or none
  --json              the report as JSON
  -h, --help          this text
`;

export async function costCommand(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (s: string) => void = (s) => void process.stdout.write(s),
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        'what-if': { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        account: { type: 'string' },
        'free-tier': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`stratus cost: ${(err as Error).message}\n\n${COST_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(COST_USAGE);
    return 0;
  }
  const endpoint = (env.STRATUS_ENDPOINT ?? 'http://127.0.0.1:4566').replace(/\/+$/, '');
  const q = new URLSearchParams({ format: 'json' });
  if (values.from) q.set('from', values.from);
  if (values.to) q.set('to', values.to);
  if (values.account) q.set('account', values.account);
  if (values['free-tier']) q.set('free-tier', values['free-tier']);
  if (values['what-if']) q.set('what-if', '1');
  try {
    const res = await fetch(`${endpoint}/_stratus/cost?${q}`);
    const body = (await res.json()) as CostReport & { message?: string };
    if (!res.ok) {
      process.stderr.write(`stratus cost: ${body.message ?? res.statusText}\n`);
      return 1;
    }
    out(values.json ? JSON.stringify(body, null, 2) + '\n' : renderText(body));
    return 0;
  } catch (err) {
    process.stderr.write(
      `stratus cost: cannot reach ${endpoint} (${err instanceof Error ? err.message : String(err)}): is Stratus running?\n`,
    );
    return 1;
  }
}
