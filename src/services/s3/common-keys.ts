/** Key encodings S3 answers with. */

/** S3's `encoding-type=url`: keys percent-encoded as a form (space → '+'), '/' kept. */
export function urlEncodeKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%2F/g, '/')
    .replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
