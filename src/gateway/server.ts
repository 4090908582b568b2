/**
 * The Stratus server: one HTTP port for every service. Opens the state, creates the
 * plugins in plugins.ts, and routes each request to a data plane or the API chain.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { readFileSync } from 'node:fs';
import { iamMode, type StratusConfig } from '../config.js';
import { plugins } from '../plugins.js';
import type { RequestAuthenticator, ServiceInstance, ServicePlugin } from '../services/plugin.js';
import { parseSignature, sigV4Error, sigV4ErrorStyle } from '../protocol/sigv4.js';
import { answerHalfClosedClients, clientGone } from '../shared/client-gone.js';
import { clientEndpoint } from '../shared/endpoint.js';
import { createLogger, type Logger } from '../shared/log.js';
import { openStorage } from '../storage/index.js';
import type { ContainerDriver } from '../runtime/container.js';
import { RuncDriver } from '../runtime/runc/driver.js';
import { DockerDriver } from '../runtime/docker/driver.js';
import { openContainers } from '../runtime/select.js';
import { DurableBus } from '../events/bus.js';
import { meteringEnabled, UsageLedger } from '../billing/meter.js';
import { handleAdmin, type AdminDeps } from './admin.js';
import { Authenticator } from './auth.js';
import { Authorizer } from './authorize.js';
import { handleApiRequest, type GatewayDeps } from './chain.js';
import { answerPreflight } from './cors.js';
import { RouteTable, s3VirtualHosts } from './routes.js';
import { ExecuteApis, refuseUpgrade } from './execute-api.js';
import { IdleTrimmer, loadMallocTrim } from './malloc-trim.js';
import { ServiceRegistry } from './services.js';
import { wire, type WireNode } from './wiring.js';

export interface StratusServer {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:4566 */
  endpoint: string;
  /** Stops accepting, finishes in-flight requests, stops plugins, closes the state. */
  close(): Promise<void>;
}

export const VERSION = readVersion();

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
  log: Logger = createLogger(config.logLevel, config.logFormat),
): Promise<StratusServer> {
  const storage = await openStorage({ stateDir: config.stateDir, ephemeral: config.ephemeral });
  const registry = new ServiceRegistry();
  const containers = await openContainers(config, log);
  const bus = new DurableBus(storage.store, (subscriber, event, err) =>
    log.warn('event not handled', {
      subscriber,
      event: event.id,
      source: event.source,
      error: err instanceof Error ? err.message : String(err),
    }),
  );
  const ledger = new UsageLedger(
    storage.store,
    (err) =>
      log.error('could not record usage for the bill', {
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      }),
    meteringEnabled(),
  );
  const { instances, auth, authorizer, executeApis } = await createPlugins(
    config,
    storage,
    registry,
    { containers: containers.driver, bus, ledger },
    log,
  );
  const routes = new RouteTable([
    ...instances.flatMap((i) => i.dataPlanes ?? []),
    executeApis.plane(),
    s3VirtualHosts((req, res, url, bucket) => handleApiRequest(req, res, url, deps, bucket)),
  ]);
  // Known once the server listens (port 0 picks one).
  let endpoint = clientEndpoint(config.host, config.port);
  const deps: GatewayDeps = {
    config,
    registry,
    auth,
    authorizer,
    log,
    unclaimed: () => routes.unclaimed(endpoint),
  };
  executeApis.apiChain = (req, res, url, operationUrl) =>
    handleApiRequest(req, res, url, deps, undefined, operationUrl);
  let ready = false;
  const trimmer = new IdleTrimmer(loadMallocTrim(log));
  // V8 flushes the bytecode of a function that has not run for a while, but not once the
  // function was baseline-compiled (Sparkplug): its code, bytecode and feedback then stay
  // for the process's life. A server reaches many paths once (an error branch a malformed
  // request hit): flushed too, they give their memory back (the long fuzz run, settled:
  // RSS +10.7% → +8.7%; bench/README.md, "Fuzz (long run)"). The flag is read at each
  // collection, so setting it now is in time.
  setFlagsFromString('--flush-baseline-code');
  const admin: AdminDeps = {
    config,
    registry,
    routes,
    store: storage.store,
    blobs: storage.blobs,
    version: VERSION,
    endpoint: () => endpoint,
    isReady: () => ready,
    denials: authorizer.denials,
    ledger,
    trimMemory: () => trimmer.now(),
  };

  const server = createServer({ keepAlive: true }, (req, res) => {
    trimmer.request();
    route(req, res).catch((err: unknown) => {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      if (clientGone(req, err)) {
        log.debug('client closed the request', { url: req.url, error });
        res.destroy();
        return;
      }
      log.error('request failed outside the API chain', { url: req.url, error });
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Internal server error' }));
    });
  });
  // WebSocket handshakes: only a data plane that declares `upgrade` takes one. The server
  // counts upgraded sockets as open connections: shutdown ends them (see close).
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', (err) => log.debug('upgrade socket error', { error: err.message }));
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const chosen = routes.route(req.method ?? 'GET', req.url ?? '/', req.headers);
    if (chosen.kind !== 'plane' || !chosen.plane.upgrade) return refuseUpgrade(socket, 404);
    try {
      chosen.plane.upgrade(req, socket, head, chosen.match);
    } catch (err) {
      log.error('upgrade failed', { url: req.url, error: err instanceof Error ? err.stack : err });
      refuseUpgrade(socket, 500);
    }
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  answerHalfClosedClients(server);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const chosen = routes.route(method, url, req.headers);
    switch (chosen.kind) {
      case 'api':
        if (method === 'OPTIONS' && req.headers['access-control-request-method']) {
          req.resume();
          return answerPreflight(res, {
            origin: req.headers.origin ?? '*',
            'access-control-request-headers': String(
              req.headers['access-control-request-headers'] ?? '*',
            ),
          });
        }
        return handleApiRequest(req, res, url, deps);
      case 'plane':
        if (!chosen.plane.apiCalls) accessLogOnClose(log, chosen.plane.name, req, res);
        return chosen.plane.handle(req, res, chosen.match);
      case 'admin':
      case 'home':
        accessLogOnClose(log, 'stratus', req, res);
        return handleAdmin(req, res, admin);
      default:
        return assertNever(chosen);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  endpoint = clientEndpoint(config.host, port);
  // Private containers reach this endpoint at the bridge's gateway address.
  if (containers.driver instanceof RuncDriver || containers.driver instanceof DockerDriver) {
    await containers.driver.exposeHostPort(port);
  }
  for (const instance of instances) await instance.start?.({ endpoint });
  // Subscribers are all registered (plugins subscribe in create) and started.
  await bus.start();
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
      trimmer.stop();
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      executeApis.shutdown();
      for (const socket of upgraded) socket.destroy();
      const timer = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
      await drained;
      clearTimeout(timer);
      await bus.stop();
      for (const instance of instances) await instance.stop?.();
      await ledger.flush();
      await containers.close();
      await storage.close();
      log.info('Stratus stopped');
    })());
  return { host: config.host, port, endpoint, close };
}

/** The gateway's place among the links: what it needs and what it hands plugins. */
export const GATEWAY_LINKS = {
  name: 'gateway',
  needs: ['credentials'],
  provides: ['signatures', 'containers', 'executeApis', 'bus', 'meter', 'usage'],
} as const satisfies Omit<WireNode, 'create'>;

/**
 * The gateway's authoriser, a node of its own: it reads every service's resource policies,
 * and those services (Lambda) take the `signatures` link from the gateway, so it is created
 * last; the data planes' `authorize` reaches it once it exists.
 */
export const AUTHORIZER_LINKS = {
  name: 'authorizer',
  needs: ['principals', 'resourcePolicies', 'serviceAccess'],
  provides: [],
} as const satisfies Omit<WireNode, 'create'>;

/**
 * Creates every plugin instance, wired by the links each declares (services/links.ts):
 * providers first, each plugin handed exactly the links it needs. The gateway takes part
 * as a node of its own: it needs every credential source (strict-mode SigV4) and provides
 * data planes their signature authentication, and services the container driver.
 */
async function createPlugins(
  config: StratusConfig,
  storage: Awaited<ReturnType<typeof openStorage>>,
  registry: ServiceRegistry,
  core: { containers: ContainerDriver; bus: DurableBus; ledger: UsageLedger },
  log: Logger,
): Promise<{
  instances: ServiceInstance[];
  auth: Authenticator;
  authorizer: Authorizer;
  executeApis: ExecuteApis;
}> {
  const created = new Map<ServicePlugin, ServiceInstance>();
  const executeApis = new ExecuteApis();
  let auth: Authenticator | undefined;
  let authorizer: Authorizer | undefined;
  const gateway: WireNode = {
    ...GATEWAY_LINKS,
    async create(links) {
      auth = new Authenticator(config, links.credentials);
      const decide = () => {
        if (!authorizer) throw new Error('a data plane authorised before the server started');
        return authorizer;
      };
      return {
        signatures: dataPlaneAuthenticator(auth, decide),
        containers: core.containers,
        executeApis,
        bus: core.bus,
        meter: core.ledger,
        usage: core.ledger,
      };
    },
  };
  const authorizerNode: WireNode = {
    ...AUTHORIZER_LINKS,
    async create(links) {
      authorizer = new Authorizer(
        iamMode(config),
        links.principals,
        links.resourcePolicies,
        log,
        links.serviceAccess,
      );
      return undefined;
    },
  };
  const nodes = plugins.map((plugin): WireNode => ({
    name: plugin.name,
    needs: plugin.needs,
    provides: plugin.provides,
    async create(links) {
      const instance = await plugin.create({
        config,
        store: storage.store,
        blobs: storage.blobs,
        blobNamespace: (name) => storage.namespace(name),
        links,
      });
      created.set(plugin, instance);
      return instance.provides;
    },
  }));
  await wire([...nodes, gateway, authorizerNode]);
  if (!auth || !authorizer) throw new Error('the gateway node was not created');
  const instances: ServiceInstance[] = [];
  for (const plugin of plugins) {
    const instance = created.get(plugin);
    if (!instance) throw new Error(`plugin ${plugin.name} was not created`);
    registry.register(plugin, instance);
    instances.push(instance);
  }
  return { instances, auth, authorizer, executeApis };
}

/** SigV4 for data planes (function URLs, Lambda's event-stream invoke), as the chain does it. */
function dataPlaneAuthenticator(
  auth: Authenticator,
  authorizer: () => Authorizer,
): RequestAuthenticator {
  return {
    authorize: async (call, protocol) => authorizer().refusal(call, protocol),
    async callerOf(accessKeyId) {
      const c = await auth.findCredential(accessKeyId);
      return c && { account: c.account, region: '', accessKeyId, principal: c.principal };
    },
    async authenticate(req, body, service) {
      const sig = parseSignature(req);
      if (!sig) return undefined;
      const info = ServiceRegistry.all().find((s) => s.name === service);
      if (!info) throw new Error(`unknown service ${service}`);
      if ('reason' in sig) return sigV4Error(sig, sigV4ErrorStyle(info.protocol, info.signingName));
      return auth.authenticate(req, body, sig, info, false, Date.now());
    },
  };
}

/** Data-plane and admin requests: one access-log line once the answer is out (or cut off). */
function accessLogOnClose(
  log: Logger,
  plane: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (!log.enabled('info')) return;
  const started = performance.now();
  res.once('close', () =>
    log.planeAccess(
      plane,
      req.method ?? 'GET',
      req.url ?? '/',
      res.writableFinished ? res.statusCode : 0,
      performance.now() - started,
    ),
  );
}

function assertNever(x: never): never {
  throw new Error(`unexpected route ${JSON.stringify(x)}`);
}
