import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DriverChoice } from './runtime/select.js';

export type AuthMode = 'permissive' | 'strict';
/**
 * IAM policy enforcement: `enforce` refuses what AWS would refuse, `soft` only records it
 * (GET /_stratus/iam/denied), `off` decides nothing. Default: enforce with strict auth.
 */
export type IamMode = 'enforce' | 'soft' | 'off';

export interface StratusConfig {
  host: string;
  port: number;
  /** Where SQLite and blobs live; ignored when ephemeral. */
  stateDir: string;
  ephemeral: boolean;
  auth: AuthMode;
  /** Unset: `enforce` with strict auth, `off` with permissive (see iamMode). */
  iam?: IamMode;
  defaultAccount: string;
  defaultRegion: string;
  /** Root credentials of the default account (strict mode accepts them). */
  rootAccessKeyId: string;
  rootSecretAccessKey: string;
  /** Largest request body the gateway reads for API operations. */
  maxBodyBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** `auto`: pretty on a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'pretty' | 'json';
  /** Which container driver runs containers (runtime/select.ts). */
  driver: DriverChoice;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATUS_STATE_DIR) return env.STRATUS_STATE_DIR;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'stratus');
}

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): StratusConfig {
  return {
    host: env.STRATUS_HOST ?? '127.0.0.1',
    port: env.STRATUS_PORT ? Number(env.STRATUS_PORT) : 4566,
    stateDir: defaultStateDir(env),
    ephemeral: env.STRATUS_EPHEMERAL === '1',
    auth: env.STRATUS_AUTH === 'strict' ? 'strict' : 'permissive',
    ...(env.STRATUS_IAM === 'enforce' || env.STRATUS_IAM === 'soft' || env.STRATUS_IAM === 'off'
      ? { iam: env.STRATUS_IAM }
      : {}),
    defaultAccount: env.STRATUS_ACCOUNT ?? '000000000000',
    defaultRegion: env.STRATUS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    rootAccessKeyId: env.STRATUS_ROOT_ACCESS_KEY_ID ?? 'test',
    rootSecretAccessKey: env.STRATUS_ROOT_SECRET_ACCESS_KEY ?? 'test',
    maxBodyBytes: 20 * 1024 * 1024,
    logLevel: (env.STRATUS_LOG_LEVEL as StratusConfig['logLevel'] | undefined) ?? 'info',
    logFormat:
      env.STRATUS_LOG_FORMAT === 'pretty' || env.STRATUS_LOG_FORMAT === 'json'
        ? env.STRATUS_LOG_FORMAT
        : 'auto',
    driver: (env.STRATUS_DRIVER as DriverChoice | undefined) ?? 'auto',
  };
}

/** The IAM mode in force: the configured one, else enforce with strict auth and off without. */
export function iamMode(config: Pick<StratusConfig, 'auth' | 'iam'>): IamMode {
  return config.iam ?? (config.auth === 'strict' ? 'enforce' : 'off');
}
