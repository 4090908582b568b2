/**
 * Plain Node HTTP servers on 127.0.0.1 to put behind a load balancer: each answers JSON
 * naming itself, with the path and headers it received; its health check path answers
 * whatever status the test sets; `/slow?ms=N` answers late and `/hang` never does; an
 * Upgrade request is switched and echoed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

export interface Backend {
  name: string;
  port: number;
  /** Status its `/health` answers (200 until changed). */
  healthStatus: number;
  /** Requests it served (health checks excluded). */
  hits: number;
  close(): Promise<void>;
}

export interface Echo {
  backend: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export async function startBackend(name: string): Promise<Backend> {
  const sockets = new Set<import('node:net').Socket>();
  const backend: Backend = {
    name,
    port: 0,
    healthStatus: 200,
    hits: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      req.resume();
      res.writeHead(backend.healthStatus).end();
      return;
    }
    backend.hits++;
    // `/hang` never answers; `/slow?ms=N` answers after N ms.
    if (req.url === '/hang') return;
    const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
    const delay = slow ? Number(slow[1]) : 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const echo: Echo = {
        backend: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const body = JSON.stringify(echo);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
        res.end(body);
      }, delay);
    });
  });
  // An Upgrade (WebSocket-style): 101, then it echoes every byte back.
  server.on('upgrade', (req, socket) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n' +
        `X-Seen-Forwarded-For: ${String(req.headers['x-forwarded-for'])}\r\nX-Backend: ${name}\r\n\r\n`,
    );
    socket.pipe(socket);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as AddressInfo).port;
  return backend;
}

/**
 * A port nothing listens on right now (for listeners that must get a fixed port). Taken
 * below the kernel's ephemeral range: a port from listen(0) is free again once closed, and
 * with test files running side by side another file's listen(0), or any outgoing
 * connection's source port, could take it before the test binds it; below that range
 * only an explicit bind can.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let tries = 0; low > 11_000 && tries < 50; tries++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await canListen(port)) return port;
  }
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** The first port of the kernel's ephemeral range (Linux's default when unreadable). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
