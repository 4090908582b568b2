/**
 * CORS of HTTP APIs: "If you configure CORS for an API, API Gateway automatically sends a
 * response to preflight OPTIONS requests, even if there isn't an OPTIONS route configured
 * for your API. For a CORS request, API Gateway adds the configured CORS headers to the
 * response from an integration." and "API Gateway ignores CORS headers returned from your
 * backend integration."
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
 */
import type { Cors } from '../../../api/apigatewayv2/types.js';

/** The origin to echo for `origin`, or undefined when the configuration does not allow it. */
function allowedOrigin(cors: Cors, origin: string | undefined): string | undefined {
  if (origin === undefined) return undefined;
  for (const allowed of cors.AllowOrigins ?? []) {
    if (allowed === '*') return '*';
    if (allowed.toLowerCase() === origin.toLowerCase()) return origin;
    const star = allowed.indexOf('*');
    if (star >= 0) {
      const [head, tail] = [allowed.slice(0, star), allowed.slice(star + 1)];
      if (origin.startsWith(head) && origin.endsWith(tail) && origin.length > allowed.length - 1) {
        return origin;
      }
    }
  }
  return undefined;
}

export function isPreflight(method: string, headers: Record<string, string>): boolean {
  return (
    method === 'OPTIONS' &&
    headers.origin !== undefined &&
    headers['access-control-request-method'] !== undefined
  );
}

/** The headers of the automatic 204 answer to a preflight ({} when refused). */
export function preflightHeaders(
  cors: Cors,
  headers: Record<string, string>,
): Record<string, string> {
  const origin = allowedOrigin(cors, headers.origin);
  if (origin === undefined) return {};
  const requested = headers['access-control-request-method'] ?? '';
  const methods = cors.AllowMethods ?? [];
  if (!methods.includes('*') && !methods.some((m) => m.toUpperCase() === requested.toUpperCase())) {
    return {};
  }
  const out: Record<string, string> = { 'access-control-allow-origin': origin };
  out['access-control-allow-methods'] = methods.includes('*') ? requested : methods.join(',');
  const allowHeaders = cors.AllowHeaders ?? [];
  const requestedHeaders = headers['access-control-request-headers'];
  if (allowHeaders.includes('*')) {
    if (requestedHeaders) out['access-control-allow-headers'] = requestedHeaders;
  } else if (allowHeaders.length > 0) {
    out['access-control-allow-headers'] = allowHeaders.join(',');
  }
  if (cors.MaxAge !== undefined) out['access-control-max-age'] = String(cors.MaxAge);
  if (cors.AllowCredentials) out['access-control-allow-credentials'] = 'true';
  return out;
}

/**
 * Puts the configured CORS headers on an integration's response (dropping the
 * integration's own access-control-* headers).
 */
export function applyCors(
  cors: Cors,
  origin: string | undefined,
  headers: Record<string, string | string[]>,
): void {
  for (const name of Object.keys(headers)) {
    if (name.startsWith('access-control-')) delete headers[name];
  }
  const allowed = allowedOrigin(cors, origin);
  if (allowed === undefined) return;
  headers['access-control-allow-origin'] = allowed;
  if (cors.ExposeHeaders?.length) {
    headers['access-control-expose-headers'] = cors.ExposeHeaders.join(',');
  }
  if (cors.AllowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (allowed !== '*') headers.vary = 'Origin';
}
