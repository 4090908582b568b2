/**
 * HTTP/1.1 syntax shared by Stratus's own HTTP/1.1 code (the Lambda Runtime API's server,
 * the load balancer's relay): what a token and a field value may hold, and how large a
 * head may be, as node:http reads them (RFC 9110 §5.6.2, RFC 9112 §5).
 */

/** node:http's default --max-http-header-size. */
export const MAX_HEAD_BYTES = 16 * 1024;

/** A method or field name. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** What node:http refuses in a field value (ERR_INVALID_CHAR): controls other than tab. */
export const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** The blank line that ends a head. */
export const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Whether a comma-separated list (Connection, …) holds `token` (already lower-cased). */
export function hasToken(list: string, token: string): boolean {
  for (const t of list.split(',')) if (t.trim() === token) return true;
  return false;
}
