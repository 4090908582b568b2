/**
 * The listener's connection timeouts, one value for both paths (the raw relay and Node's
 * HTTP server with its undici pools behind it).
 */

/** ALB keeps a quiet client connection this long; Node's 5 s default would make clients race a closing socket. */
export const CLIENT_IDLE_MS = 65_000;
/** A request not all here this long after it began is refused (node:http's headersTimeout). */
export const REQUEST_MS = 66_000;
/** A target connection unused this long is closed. */
export const TARGET_IDLE_MS = 60_000;
