/** URI percent-decoding that never throws (a URIError is not a client's error). */

/** Percent-decodes a URI component; malformed escapes and invalid UTF-8 never throw. */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        for (const b of Buffer.from(s[i])) bytes.push(b);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}
