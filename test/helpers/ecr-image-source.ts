/**
 * ECR's ImageSource for tests and benchmarks: the image source is a member of the ECR
 * plugin, not an HTTP API, so the state a (stopped) test server wrote is opened again by
 * the ECR plugin alone, which serves its own /v2/ data plane on a port of its own: the pull
 * references and credentials it hands out then really work (in strict mode by default, so
 * a pull without the credentials is refused).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultConfig, type StratusConfig } from '../../src/config.js';
import { RouteTable } from '../../src/gateway/routes.js';
import type { ImageSource } from '../../src/runtime/container.js';
import { createEcr } from '../../src/services/ecr/plugin.js';
import type { PluginDeps } from '../../src/services/plugin.js';
import { openStorage } from '../../src/storage/index.js';

export interface OpenedImageSource {
  imageSource: ImageSource;
  /** Where its registry data plane listens, `http://127.0.0.1:<port>`. */
  endpoint: string;
  close(): Promise<void>;
}

export async function openImageSource(
  stateDir: string,
  auth: StratusConfig['auth'] = 'strict',
): Promise<OpenedImageSource> {
  const storage = await openStorage({ stateDir, ephemeral: false });
  const deps: PluginDeps = {
    config: { ...defaultConfig({}), stateDir, port: 0, auth, logLevel: 'warn' },
    store: storage.store,
    blobs: storage.blobs,
    blobNamespace: (name) => storage.namespace(name),
    links: {},
  };
  const ecr = await createEcr(deps, {});
  const routes = new RouteTable(ecr.dataPlanes ?? []);
  const plane = createServer((req, res) => {
    const found = routes.route(req.method ?? 'GET', req.url ?? '/', req.headers);
    if (found.kind === 'plane') void found.plane.handle(req, res, found.match);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => plane.listen(0, '127.0.0.1', ok));
  const endpoint = `http://127.0.0.1:${(plane.address() as AddressInfo).port}`;
  await ecr.start?.({ endpoint });
  return {
    imageSource: ecr.imageSource,
    endpoint,
    async close() {
      await ecr.stop?.();
      plane.closeAllConnections();
      await new Promise<void>((ok) => plane.close(() => ok()));
      await storage.close();
    },
  };
}
