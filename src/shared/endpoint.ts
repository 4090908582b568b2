/** The URL clients reach a server at: a wildcard bind address is reached on loopback. */
export function clientEndpoint(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}
