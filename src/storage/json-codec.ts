/**
 * How documents are stored as text by every MetadataStore backend: plain JSON, except that
 * two value types JSON cannot carry are tagged so they round-trip:
 *
 *   Date                    → {"$date": <epoch ms>}
 *   Buffer / any Uint8Array → {"$b64": "<base64>"}   (decoded as a Buffer)
 *
 * Objects whose only key is `$date` (a number) or `$b64` (a string) are therefore reserved:
 * such a plain object is read back as a Date / Buffer. Map, Set, BigInt, undefined-valued
 * keys and class prototypes are not preserved (same as JSON.stringify); an invalid Date
 * is stored as null.
 *
 * Speed: most documents hold neither type, so encoding first scans the value (no
 * allocation) and only copies it with tags when needed; V8's fast JSON.stringify path is
 * lost as soon as a replacer function is passed, which would cost ~3x on every write.
 * Decoding parses plainly and only walks the result when the text contains `{"$`, which
 * every tag must (JSON.stringify emits no whitespace and escapes quotes inside strings).
 * A reviver function would cost ~4x on every read.
 */

const TAG_HINT = '{"$';

/** Serializes a document. Throws TypeError for `undefined` (nothing to store). */
export function encodeDocument(value: unknown): string {
  const text = JSON.stringify(needsTags(value) ? withTags(value) : value);
  if (text === undefined) throw new TypeError('cannot store undefined (or a function/symbol)');
  return text;
}

export function decodeDocument<T>(text: string): T {
  const value: unknown = JSON.parse(text);
  if (text.includes(TAG_HINT) && typeof value === 'object' && value !== null) {
    return revive(value as Record<string, unknown>) as T;
  }
  return value as T;
}

function needsTags(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (value instanceof Date || ArrayBuffer.isView(value)) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsTags(value[i])) return true;
    return false;
  }
  // for-in also visits inherited enumerables: a harmless false positive at worst.
  const record = value as Record<string, unknown>;
  for (const k in record) if (needsTags(record[k])) return true;
  return false;
}

function withTags(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) {
    const time = value.getTime();
    return Number.isNaN(time) ? null : { $date: time };
  }
  if (value instanceof Uint8Array) {
    return {
      $b64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'),
    };
  }
  if (Array.isArray(value)) return value.map(withTags);
  const record = value as Record<string, unknown>;
  // Objects with their own toJSON (other than Date, handled above) keep their semantics.
  if (typeof record.toJSON === 'function') return value;
  // Null prototype: a "__proto__" key stays an ordinary property.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(record)) out[k] = withTags(record[k]);
  return out;
}

function revive(value: Record<string, unknown> | unknown[]): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === 'object' && item !== null)
        value[i] = revive(item as Record<string, unknown>);
    }
    return value;
  }
  const date = value.$date;
  if (typeof date === 'number' && isSingleKey(value)) return new Date(date);
  const b64 = value.$b64;
  if (typeof b64 === 'string' && isSingleKey(value)) return Buffer.from(b64, 'base64');
  for (const k in value) {
    const item = value[k];
    if (typeof item === 'object' && item !== null)
      value[k] = revive(item as Record<string, unknown>);
  }
  return value;
}

function isSingleKey(record: Record<string, unknown>): boolean {
  let n = 0;
  for (const _k in record) if (++n > 1) return false;
  return n === 1;
}
