/**
 * Keys sort by their UTF-8 bytes (SQLite's BINARY collation is memcmp of UTF-8, and
 * PostgreSQL's "C" collation does the same), which is Unicode code point order. JavaScript's
 * `<` compares UTF-16 code units instead and disagrees for characters above U+FFFF versus
 * U+E000..U+FFFF, so bounds are computed with these helpers. Keys must be well-formed
 * Unicode (a lone surrogate is encoded as U+FFFD and may sort unexpectedly).
 */

/** Code point (= UTF-8 byte) order: negative when a < b, 0 when equal, positive when a > b. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (part of a code point >= U+10000) outranks every BMP unit above it.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (xs ? y : x) >= 0xe000) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const MAX_CODE_POINT = 0x10ffff;

/**
 * The smallest string greater than every string that starts with `prefix` (exclusive upper
 * bound of a prefix range scan), or undefined when no such string exists (empty prefix, or
 * one made only of U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0) {
    const lastUnit = prefix.charCodeAt(end - 1);
    const paired =
      end >= 2 && lastUnit >= 0xdc00 && lastUnit <= 0xdfff && isHighSurrogate(prefix, end - 2);
    const start = paired ? end - 2 : end - 1;
    const codePoint = paired ? (prefix.codePointAt(start) as number) : lastUnit;
    if (codePoint === MAX_CODE_POINT) {
      end = start;
      continue;
    }
    // Skip the surrogate block, which is not a code point of its own.
    const next = codePoint + 1 === 0xd800 ? 0xe000 : codePoint + 1;
    return prefix.slice(0, start) + String.fromCodePoint(next);
  }
  return undefined;
}

function isHighSurrogate(s: string, i: number): boolean {
  const unit = s.charCodeAt(i);
  return unit >= 0xd800 && unit <= 0xdbff;
}
