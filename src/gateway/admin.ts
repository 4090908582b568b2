/**
 * Stratus's own endpoints under /_stratus/: health (for readiness checks) and reset (for
 * test suites that want a clean slate between cases).
 */
import type { ServerResponse } from 'node:http';
import type { ServiceRegistry } from './services.js';
import type { BlobStore, MetadataStore } from '../storage/types.js';

export interface AdminDeps {
  registry: ServiceRegistry;
  store: MetadataStore;
  blobs: BlobStore;
  version: string;
  isReady(): boolean;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export async function handleAdmin(
  method: string,
  path: string,
  res: ServerResponse,
  deps: AdminDeps,
): Promise<void> {
  if (path === '/_stratus/health' && (method === 'GET' || method === 'HEAD')) {
    const services: Record<string, string> = {};
    for (const { plugin } of deps.registry.implemented()) {
      services[plugin.name] = deps.isReady() ? 'running' : 'starting';
    }
    return json(res, deps.isReady() ? 200 : 503, {
      status: deps.isReady() ? 'running' : 'starting',
      version: deps.version,
      services,
    });
  }
  if (path === '/_stratus/reset' && method === 'POST') {
    await deps.store.reset();
    await deps.blobs.reset();
    for (const { instance } of deps.registry.implemented()) await instance.reset?.();
    return json(res, 200, { reset: true });
  }
  return json(res, 404, { message: `No Stratus admin endpoint ${method} ${path}` });
}
