/**
 * The Stratus server: one HTTP port for every service. Opens the state, creates the
 * plugins in plugins.ts, and routes each request to a data plane or the API chain.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { StratusConfig } from '../config.js';
import { plugins } from '../plugins.js';
import type { LogSink } from '../events/logs.js';
import type { IamDirectory } from '../services/iam/directory.js';
import type { SessionIssuer } from '../services/sts/issuer.js';
import type { PluginDeps, RequestAuthenticator, ServiceInstance } from '../services/plugin.js';
import { parseSignature, sigV4Error, sigV4ErrorStyle } from '../protocol/sigv4.js';
import type { CredentialSource } from '../shared/context.js';
import { clientEndpoint } from '../shared/endpoint.js';
import { createLogger, type Logger } from '../shared/log.js';
import { openStorage } from '../storage/index.js';
import type { ContainerDriver } from '../runtime/container.js';
import { RuncDriver } from '../runtime/runc/driver.js';
import { openContainers } from '../runtime/select.js';
import { handleAdmin } from './admin.js';
import { Authenticator } from './auth.js';
import { handleApiRequest, type GatewayDeps } from './chain.js';
import { answerPreflight } from './cors.js';
import { ServiceRegistry } from './services.js';

export interface StratusServer {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:4566 */
  endpoint: string;
  /** Stops accepting, finishes in-flight requests, stops plugins, closes the state. */
  close(): Promise<void>;
}

const VERSION = readVersion();

/** package.json sits two levels up from src/ and three from dist/src/. */
function readVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'stratus' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
}

/** How long shutdown waits for in-flight requests before cutting connections. */
const DRAIN_MS = 10_000;

export async function startServer(
  config: StratusConfig,
  log: Logger = createLogger(config.logLevel),
): Promise<StratusServer> {
  const storage = await openStorage({ stateDir: config.stateDir, ephemeral: config.ephemeral });
  const registry = new ServiceRegistry();
  // Data planes authenticate with the same Authenticator, created once every credential
  // source exists; nothing is served before that.
  const authRef: { current?: Authenticator } = {};
  const signatures = dataPlaneAuthenticator(() => {
    if (!authRef.current) throw new Error('authentication is not ready');
    return authRef.current;
  });
  const containers = await openContainers(config, log);
  const instances = await createPlugins(config, storage, registry, signatures, containers.driver);
  const sources = instances
    .map((i) => i.credentials)
    .filter((c): c is CredentialSource => c !== undefined);
  const auth = (authRef.current = new Authenticator(config, sources));
  const deps: GatewayDeps = { config, registry, auth, log };
  let ready = false;
  const admin = {
    registry,
    store: storage.store,
    blobs: storage.blobs,
    version: VERSION,
    isReady: () => ready,
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      log.error('request failed outside the API chain', { error: String(err) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal server error' }));
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const dataPlanes = instances.flatMap((i) => i.dataPlanes ?? []);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    for (const plane of dataPlanes) if (url.startsWith(plane.prefix)) return plane.handle(req, res);
    if (url.startsWith('/_stratus/')) {
      req.resume();
      return handleAdmin(req.method ?? 'GET', url.split('?')[0], res, admin);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      req.resume();
      return answerPreflight(res, {
        origin: req.headers.origin ?? '*',
        'access-control-request-headers': String(
          req.headers['access-control-request-headers'] ?? '*',
        ),
      });
    }
    return handleApiRequest(req, res, url, deps);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = clientEndpoint(config.host, port);
  // Private containers reach this endpoint at the bridge's gateway address.
  if (containers.driver instanceof RuncDriver) await containers.driver.exposeHostPort(port);
  for (const instance of instances) await instance.start?.({ endpoint });
  ready = true;
  log.info(`Stratus ${VERSION} ready`, {
    endpoint,
    state: config.ephemeral ? 'ephemeral' : config.stateDir,
    auth: config.auth,
    services: plugins.map((p) => p.name).join(','),
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
      await drained;
      clearTimeout(timer);
      for (const instance of instances) await instance.stop?.();
      await containers.close();
      await storage.close();
      log.info('Stratus stopped');
    })());
  return { host: config.host, port, endpoint, close };
}

/**
 * Creates every plugin instance. Cross-service interfaces (CloudWatch Logs' sink, IAM's
 * directory) are handed out as forwarders, so creation order does not matter.
 */
async function createPlugins(
  config: StratusConfig,
  storage: Awaited<ReturnType<typeof openStorage>>,
  registry: ServiceRegistry,
  signatures: RequestAuthenticator,
  containers: ContainerDriver,
): Promise<ServiceInstance[]> {
  const created: ServiceInstance[] = [];
  const need = <T>(pick: (i: ServiceInstance) => T | undefined, what: string): T => {
    for (const i of created) {
      const found = pick(i);
      if (found) return found;
    }
    throw new Error(`no plugin provides ${what}`);
  };
  const logs: LogSink = {
    append: (...args) => need((i) => i.logSink, 'a log sink').append(...args),
  };
  const iam: IamDirectory = {
    findRole: (...args) => need((i) => i.iamDirectory, 'the IAM directory').findRole(...args),
  };
  const sts: SessionIssuer = {
    assumeRoleForService: (...args) =>
      need((i) => i.sessionIssuer, 'the STS session issuer').assumeRoleForService(...args),
  };
  const deps: PluginDeps = {
    config,
    store: storage.store,
    blobs: storage.blobs,
    blobNamespace: (name) => storage.namespace(name),
    logs,
    iam,
    sts,
    signatures,
    containers,
  };
  for (const plugin of plugins) {
    const instance = await plugin.create(deps);
    registry.register(plugin, instance);
    created.push(instance);
  }
  return created;
}

/** SigV4 for data planes (function URLs, Lambda's event-stream invoke), as the chain does it. */
function dataPlaneAuthenticator(auth: () => Authenticator): RequestAuthenticator {
  return {
    async authenticate(req, body, service) {
      const sig = parseSignature(req);
      if (!sig) return undefined;
      const info = ServiceRegistry.all().find((s) => s.name === service);
      if (!info) throw new Error(`unknown service ${service}`);
      if ('reason' in sig) return sigV4Error(sig, sigV4ErrorStyle(info.protocol, info.signingName));
      return auth().authenticate(req, body, sig, info, false, Date.now());
    },
  };
}
