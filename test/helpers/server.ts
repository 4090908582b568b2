/**
 * Starts a real Stratus server for a test file: ephemeral state, a free port, quiet logs.
 * Tests talk to it only through real clients (SDK v3, the AWS CLI, boto3, skopeo).
 */
import { defaultConfig, type StratusConfig } from '../../src/config.js';
import { startServer } from '../../src/gateway/server.js';
import { createLogger } from '../../src/shared/log.js';

export interface TestServer {
  endpoint: string;
  port: number;
  config: StratusConfig;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<StratusConfig> = {}): Promise<TestServer> {
  const config: StratusConfig = {
    ...defaultConfig({}),
    port: 0,
    ephemeral: true,
    logLevel: 'warn',
    // Host processes unless a test asks for containers (runc builds runtime images first).
    driver: 'process',
    ...overrides,
  };
  const server = await startServer(config, createLogger(config.logLevel));
  return { endpoint: server.endpoint, port: server.port, config, stop: () => server.close() };
}

/** Credentials and region the real clients use against the test server. */
export const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** Environment for the AWS CLI and boto3 child processes. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}
