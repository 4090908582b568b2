/**
 * `stratus [--port N] [--host H] [--state-dir D] [--ephemeral] [--auth permissive|strict]
 *          [--account 123456789012] [--region us-east-1] [--log-level info]`
 */
import { parseArgs } from 'node:util';
import { defaultConfig, type StratusConfig } from './config.js';
import { startServer } from './gateway/server.js';
import { createLogger } from './shared/log.js';
import { DRIVER_CHOICES } from './runtime/select.js';

const USAGE = `Usage: stratus [options]

  --port N            port to listen on (default 4566, env STRATUS_PORT)
  --host H            address to bind (default 127.0.0.1, env STRATUS_HOST)
  --state-dir D       where state is kept (default $XDG_DATA_HOME/stratus or
                      ~/.local/share/stratus, env STRATUS_STATE_DIR)
  --ephemeral         keep nothing: state lives in memory and a temp dir
  --auth MODE         permissive (default) or strict (env STRATUS_AUTH)
  --account ID        default account id (default 000000000000)
  --region R          default region (default us-east-1)
  --log-level L       debug | info | warn | error (default info)
  --driver D          auto | process | runc | docker: where containers run
                      (default auto, env STRATUS_DRIVER)
  -h, --help          this text
`;

export function parseCli(argv: string[], env = process.env): StratusConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'state-dir': { type: 'string' },
      ephemeral: { type: 'boolean' },
      auth: { type: 'string' },
      account: { type: 'string' },
      region: { type: 'string' },
      'log-level': { type: 'string' },
      driver: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
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
  if (values.driver) config.driver = values.driver as StratusConfig['driver'];
  if (!DRIVER_CHOICES.includes(config.driver))
    throw new Error(`--driver must be one of ${DRIVER_CHOICES.join(', ')}, not ${config.driver}`);
  return config;
}

export async function main(argv: string[]): Promise<void> {
  let config: StratusConfig;
  try {
    config = parseCli(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(config, log);
  } catch (err) {
    log.error('Stratus could not start', { error: (err as Error).message });
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
}
