/**
 * What Invoke accepts as a payload, with AWS's limits and messages.
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 *   "Invocation payload (request and response): 6 MB each for request and response
 *    (synchronous), 1 MB (asynchronous)"
 * The errors, as AWS words them:
 *   RequestEntityTooLargeException (413) "Request must be smaller than 6291456 bytes for the
 *     InvokeFunction operation"
 *   RequestEntityTooLargeException (413) "1048577 byte payload is too large for the Event
 *     invocation type (limit 1048576 bytes)"
 *   InvalidRequestContentException (400) "Could not parse request body into json: Could not
 *     parse payload into json: <parser message>"
 */
import { InvalidRequestContentException } from '../../../api/lambda/errors.js';
import { clientContextHeader } from '../execution/client-context.js';
import { requestTooLarge } from '../errors.js';

export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
export const MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024;
/** InvokeAsync (deprecated) keeps the old 256 KB limit. */
export const MAX_INVOKE_ASYNC_BYTES = 256 * 1024;

/** An invocation without a payload hands the function `{}`. */
export const EMPTY_EVENT = Buffer.from('{}');

export const syncTooLarge = () =>
  requestTooLarge(
    `Request must be smaller than ${MAX_SYNC_PAYLOAD_BYTES} bytes for the InvokeFunction operation`,
  );

export function checkSyncSize(payload: Buffer): void {
  if (payload.length > MAX_SYNC_PAYLOAD_BYTES) throw syncTooLarge();
}

export function checkAsyncSize(payload: Buffer, limit = MAX_ASYNC_PAYLOAD_BYTES): void {
  if (payload.length > limit) {
    throw requestTooLarge(
      `${payload.length} byte payload is too large for the Event invocation type (limit ${limit} bytes)`,
    );
  }
}

/** Lambda refuses payloads that are not JSON before anything runs. */
export function checkJson(payload: Buffer): void {
  try {
    JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new InvalidRequestContentException(
      `Could not parse request body into json: Could not parse payload into json: ${
        err instanceof Error ? err.message : String(err)
      }`,
      { Type: 'User' },
    );
  }
}

const NOTHING = Buffer.alloc(0);

/** Blob members arrive as Buffers from the codec (typed Uint8Array by the model). */
export function toBuffer(payload: Uint8Array | undefined): Buffer {
  if (payload === undefined) return NOTHING;
  return Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** The payload to run: as given, `{}` when empty; JSON-checked. */
export function eventPayload(payload: Buffer): Buffer {
  if (payload.length === 0) return EMPTY_EVENT;
  checkJson(payload);
  return payload;
}

/** X-Amz-Client-Context: base64 of a JSON object, refused before anything runs. */
export function checkClientContext(base64: string | undefined): void {
  if (base64 === undefined || clientContextHeader(base64) !== undefined) return;
  throw new InvalidRequestContentException(
    'Client context must be a valid Base64-encoded JSON object.',
    { Type: 'User' },
  );
}
