/**
 * A client that disconnects mid-request (closes or resets its connection before the body
 * ended, or before the answer went out) is not a server error: it is logged at debug and
 * recorded with nginx's 499 ("client closed request"), never as a 500.
 */
import type { IncomingMessage, Server } from 'node:http';

/** The status recorded for a request whose client went away. */
export const CLIENT_CLOSED_REQUEST = 499;

const GONE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED']);

/** Whether `err` (thrown while serving `req`) only says that the client is gone. */
export function clientGone(req: IncomingMessage, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && GONE_CODES.has(code)) return true;
  // node:http's IncomingMessage emits Error('aborted') when the socket closes early.
  if (err instanceof Error && err.message === 'aborted') return true;
  // Whatever failed, no answer can reach a client whose connection is gone.
  return req.socket.destroyed;
}

/**
 * A client that half-closes after its requests (an HTTP/1.0 client, `nc -N`, a script that
 * shuts its side once it has sent) still gets its answers; node:http's default aborts the
 * requests in flight at the client's FIN. A request cut short by the FIN is still a 400.
 * (`httpAllowHalfOpen`: a property of http.Server since 0.x that @types/node leaves out.)
 */
export function answerHalfClosedClients(server: Server): void {
  Object.assign(server, { httpAllowHalfOpen: true });
}
