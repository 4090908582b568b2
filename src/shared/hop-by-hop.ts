/**
 * Headers that describe one HTTP hop and are never forwarded by a proxy (RFC 9110 §7.6.1,
 * plus the legacy `keep-alive` and `proxy-connection`): the load balancer and API
 * Gateway's HTTP integrations drop them both ways.
 * https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * What an integration that builds a new request does not copy from the one it received:
 * the hop's own headers, and `host` and `content-length`, which the new request sets.
 */
export const NOT_COPIED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'content-length']);
