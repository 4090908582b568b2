import type { ServerResponse } from 'node:http';

/**
 * CORS for browser SDKs: every origin is allowed (Stratus listens on loopback by default),
 * and the headers the SDKs read from responses are exposed.
 */
const EXPOSED =
  'x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, x-amz-id-2, x-amzn-Remapped-Content-Length, ' +
  'X-Amz-Function-Error, X-Amz-Log-Result, X-Amz-Executed-Version, ETag, Date';

export function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': EXPOSED,
    vary: 'Origin',
  };
}

/** Answers a preflight (OPTIONS with Access-Control-Request-Method). */
export function answerPreflight(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(204, {
    ...corsHeaders(headers.origin ?? '*'),
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS',
    'access-control-allow-headers': headers['access-control-request-headers'] ?? '*',
    'access-control-max-age': '86400',
    'content-length': '0',
  });
  res.end();
}
