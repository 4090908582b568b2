/**
 * X-Amz-Client-Context → Lambda-Runtime-Client-Context. The caller sends base64 of a JSON
 * object; AWS refuses anything else at Invoke ("Client context must be a valid
 * Base64-encoded JSON object.", InvalidRequestContentException) and hands the object to
 * the runtime, whose interface clients JSON-parse the header value (Node's
 * `JSON.parse(headers['lambda-runtime-client-context'])`, Python's `json.loads`).
 *
 * A header value cannot carry the decoded text as it is: pretty-printed JSON has line
 * breaks, and characters above U+00FF (or control characters) are not header bytes. So the
 * object is re-serialised compactly with every character outside printable ASCII written as
 * a \uXXXX escape: the runtime's JSON parser gives back the same object.
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The header value for a base64 client context; undefined when it is not a JSON object. */
export function clientContextHeader(base64: string): string | undefined {
  if (!BASE64.test(base64) || base64.length % 4 === 1) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(base64, 'base64')));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return asciiJson(value);
}

/** JSON text in printable ASCII only (outside strings JSON.stringify writes none other). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    NOT_PRINTABLE_ASCII,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}
