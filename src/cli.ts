/**
 * `stratus [--port N] [--host H] [--state-dir D] [--ephemeral] [--auth permissive|strict]
 *          [--iam enforce|soft|off]
 *          [--account 123456789012] [--region us-east-1] [--log-level info]
 *          [--log-format pretty|json]`
 * Every setting, the STRATUS_* environment variables included, is listed in USAGE (a test
 * checks it against the code).
 */
import { parseArgs } from 'node:util';
import { defaultConfig, type StratusConfig } from './config.js';
import { startServer, VERSION } from './gateway/server.js';
import { createLogger } from './shared/log.js';
import { DRIVER_CHOICES } from './runtime/select.js';

const USAGE = `Usage: stratus [options]
       stratus image build <name> | list    (stratus image --help)
       stratus iam denied    what --iam soft would have refused, per principal, as
                             policies to paste (asks STRATUS_ENDPOINT)
       stratus clock [advance 3h | to <ISO time> | fire <rule or schedule ARN>]
                             the scheduling clock of EventBridge rules and Scheduler
                             schedules: show it, move it forward (firing what falls
                             due), or fire one now (asks STRATUS_ENDPOINT)
       stratus cost [--what-if] [--json]
                             what the workload would cost on AWS, the month so far
                             (asks STRATUS_ENDPOINT; stratus cost --help)

Options (a flag wins over its environment variable):
  --port N            port to listen on (default 4566, env STRATUS_PORT)
  --host H            address to bind (default 127.0.0.1, env STRATUS_HOST)
  --state-dir D       where state is kept (default $XDG_DATA_HOME/stratus or
                      ~/.local/share/stratus, env STRATUS_STATE_DIR)
  --ephemeral         keep nothing: state lives in a temporary directory, deleted at
                      exit (env STRATUS_EPHEMERAL=1)
  --auth MODE         permissive (default) or strict (env STRATUS_AUTH)
  --iam MODE          enforce | soft | off: IAM policy decisions (default enforce with
                      --auth strict, off otherwise; env STRATUS_IAM). soft refuses
                      nothing and lists what it would refuse: stratus iam denied
  --account ID        default account id (default 000000000000, env STRATUS_ACCOUNT)
  --region R          default region (default us-east-1, env STRATUS_REGION, else
                      AWS_DEFAULT_REGION)
  --log-level L       debug | info | warn | error (default info, env STRATUS_LOG_LEVEL)
  --log-format F      pretty | json (default: pretty on a terminal, else json;
                      env STRATUS_LOG_FORMAT)
  --driver D          auto | process | runc | docker: where containers run
                      (default auto, env STRATUS_DRIVER)
  --version           print the version
  -h, --help          this text

Environment only:
  STRATUS_ROOT_ACCESS_KEY_ID, STRATUS_ROOT_SECRET_ACCESS_KEY
                      root keys of the default account, which --auth strict accepts
                      (default test / test)
  STRATUS_LAMBDA_CONCURRENT_EXECUTIONS
                      Lambda's account concurrency limit (default 1000)
  STRATUS_LAMBDA_KEEP_ALIVE_MS
                      idle execution environments stop after this (default 300000)
  STRATUS_LAMBDA_MAX_LIFETIME_MS
                      execution environments stop at this age, however busy, once
                      their invocation ends (default 7200000)
  STRATUS_LAMBDA_RETRY_DELAYS_MS
                      delays between async invoke retries (default 60000,120000)
  STRATUS_LAMBDA_THROTTLE_BACKOFF_MS
                      first retry of a throttled async invoke (default 1000)
  STRATUS_ECR_BLOB_GRACE_SECONDS
                      how long an uploaded layer no image references yet is kept
                      (default 3600)
  STRATUS_ECR_UPLOAD_LIFETIME_SECONDS
                      idle layer uploads are discarded after this (default 86400)
  STRATUS_ECR_REPOSITORY_URI
                      local: repositoryUri is 127.0.0.1:<port>/<acct>.dkr.ecr.<region>/<repo>,
                      which docker and skopeo reach with no configuration (default);
                      aws: AWS's <acct>.dkr.ecr.<region>.amazonaws.com/<repo>
  STRATUS_BATCH_VCPUS, STRATUS_BATCH_MEMORY_MIB
                      the share of this machine Batch's compute environments draw
                      from (default every CPU and 80% of memory)
  STRATUS_LIGHTSAIL_METRIC_SECONDS
                      seconds between Lightsail instance metric samples and alarm
                      evaluations (default 60)
  STRATUS_S3_BLOB_GRACE_SECONDS
                      how long an S3 blob no object references is kept (default 3600)
  STRATUS_S3_LIFECYCLE_INTERVAL_SECONDS
                      how often S3 lifecycle rules are applied (default 3600)
  STRATUS_METRICS     off: services publish no CloudWatch metrics (AWS/Lambda…);
                      PutMetricData still works (default on)
  STRATUS_CLOUDWATCH_EVALUATION_SECONDS
                      how often CloudWatch alarms are evaluated (default 5)
  STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS
                      how often expired DynamoDB items are deleted (default 60)
  STRATUS_METERING    off: record no usage for the bill (default on)
  STRATUS_FREE_TIER   always | all | none: the free tiers the bill applies (default
                      always: the offers every account has every month)
  STRATUS_ENDPOINT    the server \`stratus image build\`, \`stratus clock\`,
                      \`stratus cost\` and \`stratus iam denied\` talk to
                      (default http://127.0.0.1:4566)
  STRATUS_IMAGE_CACHE image build cache (default ~/.cache/stratus/images)
  STRATUS_DEBIAN_MIRROR, STRATUS_DEBIAN_SECURITY_MIRROR
                      Debian mirrors for image builds (default: the ones apt uses)

Start clean: --ephemeral, or POST /_stratus/reset to wipe a running server.
`;

export const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'state-dir': { type: 'string' },
  ephemeral: { type: 'boolean' },
  auth: { type: 'string' },
  iam: { type: 'string' },
  account: { type: 'string' },
  region: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  driver: { type: 'string' },
  version: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseCli(argv: string[], env = process.env): StratusConfig {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (values.version) {
    process.stdout.write(`stratus ${VERSION}\n`);
    process.exit(0);
  }
  const config = defaultConfig(env);
  if (values.port !== undefined) config.port = Number(values.port);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535)
    throw new Error(`invalid --port ${values.port}`);
  if (values.host) config.host = values.host;
  if (values['state-dir']) config.stateDir = values['state-dir'];
  if (values.ephemeral) config.ephemeral = true;
  if (values.auth) {
    if (values.auth !== 'permissive' && values.auth !== 'strict')
      throw new Error(`--auth must be permissive or strict, not ${values.auth}`);
    config.auth = values.auth;
  }
  if (values.iam) {
    if (values.iam !== 'enforce' && values.iam !== 'soft' && values.iam !== 'off')
      throw new Error(`--iam must be enforce, soft or off, not ${values.iam}`);
    config.iam = values.iam;
  }
  if (values.account) {
    if (!/^\d{12}$/.test(values.account)) throw new Error('--account must be 12 digits');
    config.defaultAccount = values.account;
  }
  if (values.region) config.defaultRegion = values.region;
  const level = values['log-level'];
  if (level) {
    if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error')
      throw new Error(`invalid --log-level ${level}`);
    config.logLevel = level;
  }
  const format = values['log-format'];
  if (format) {
    if (format !== 'pretty' && format !== 'json') throw new Error(`invalid --log-format ${format}`);
    config.logFormat = format;
  }
  if (values.driver) config.driver = values.driver as StratusConfig['driver'];
  if (!DRIVER_CHOICES.includes(config.driver))
    throw new Error(`--driver must be one of ${DRIVER_CHOICES.join(', ')}, not ${config.driver}`);
  return config;
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'image') {
    // Loaded only for this subcommand: the server's start-up does not pay for it.
    const { imageCommand } = await import('./images/cli.js');
    process.exit(await imageCommand(argv.slice(1)));
  }
  if (argv[0] === 'cost') {
    const { costCommand } = await import('./billing/cli.js');
    process.exit(await costCommand(argv.slice(1)));
  }
  if (argv[0] === 'iam' && argv[1] === 'denied') {
    process.exit(await iamDenied(process.env.STRATUS_ENDPOINT ?? 'http://127.0.0.1:4566'));
  }
  if (argv[0] === 'clock') {
    process.exit(
      await clockCommand(argv.slice(1), process.env.STRATUS_ENDPOINT ?? 'http://127.0.0.1:4566'),
    );
  }
  let config: StratusConfig;
  try {
    config = parseCli(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel, config.logFormat);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, log);
  } catch (err) {
    const hint = listenHint(err, config);
    if (hint) process.stderr.write(`stratus: ${hint}\n`);
    else log.error('Stratus could not start', { error: (err as Error).message });
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing in-flight requests`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Defence in depth only: every socket, stream and timer callback contains its own errors
  // (the one request gets its protocol's error). Should one still escape, it is a bug to
  // log with its stack, not a reason to end every other request and function.
  const lastResort = (what: string) => (err: unknown) =>
    log.error(`${what} (a Stratus bug: please report it)`, {
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  process.on('uncaughtException', lastResort('uncaught exception'));
  process.on('unhandledRejection', lastResort('unhandled promise rejection'));
}

/** What to do about the port, when listening failed for a reason a person can fix. */
export function listenHint(err: unknown, config: StratusConfig): string | undefined {
  const code = (err as { code?: unknown }).code;
  const where = `port ${config.port} on ${config.host}`;
  const next = config.port >= 65535 ? 4567 : config.port + 1;
  const other = `pick another with --port N (or STRATUS_PORT=N), e.g. --port ${next}`;
  if (code === 'EADDRINUSE')
    return `${where} is already in use (another Stratus, or another local AWS emulator?): stop it, or ${other}`;
  if (code === 'EACCES')
    return `${where} needs privileges to bind (ports below 1024 usually do): ${other}`;
  if (code === 'EADDRNOTAVAIL')
    return `${config.host} is not an address of this machine: pick another with --host (or STRATUS_HOST)`;
  return undefined;
}

/** `stratus iam denied`: the running server's soft-mode report, as JSON. */
async function iamDenied(endpoint: string): Promise<number> {
  try {
    const res = await fetch(`${endpoint}/_stratus/iam/denied`);
    process.stdout.write(JSON.stringify(await res.json(), null, 2) + '\n');
    return res.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(
      `stratus iam denied: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
}

/** `1h30m`, `3h`, `90s`, `2d` in seconds; undefined when it is no duration. */
export function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  const re = /(\d+(?:\.\d+)?)([smhd])/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  return at === text.length && at > 0 ? total : undefined;
}

/** `stratus clock …`: GET or POST /_stratus/clock of the running server. */
async function clockCommand(args: string[], endpoint: string): Promise<number> {
  let body: Record<string, unknown> | undefined;
  const [verb, arg] = args;
  if (verb === 'advance' && arg !== undefined && parseDuration(arg) !== undefined) {
    body = { advanceSeconds: parseDuration(arg) };
  } else if (verb === 'to' && arg !== undefined) {
    body = { to: arg };
  } else if (verb === 'fire' && arg !== undefined) {
    body = { fire: arg };
  } else if (verb !== undefined) {
    process.stderr.write('usage: stratus clock [advance 1h30m | to <ISO time> | fire <ARN>]\n');
    return 2;
  }
  try {
    const res = await fetch(`${endpoint}/_stratus/clock`, {
      method: body ? 'POST' : 'GET',
      ...(body && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    process.stdout.write(JSON.stringify(await res.json(), null, 2) + '\n');
    return res.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`stratus clock: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
