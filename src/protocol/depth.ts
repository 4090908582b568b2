/**
 * Nesting bounds for request documents, checked on the raw bytes before a parser builds a
 * tree: a 10,000-level document parses, but every later recursive walk (conversion,
 * validation, the writer that echoes it) would then overflow the stack. AWS's JSON front end
 * (Jackson) stops at 1,000 levels ("Document nesting depth (1001) exceeds the maximum
 * allowed"); the same bound serves XML. Both scans are one pass over the bytes.
 */
export const MAX_NESTING_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Whether JSON text nests objects and arrays deeper than `max` (strings skipped). */
export function jsonTooDeep(body: Uint8Array, max = MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** Whether XML text nests elements deeper than `max` (`<` cannot appear unescaped elsewhere). */
export function xmlTooDeep(text: string, max = MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  for (let i = text.indexOf('<'); i >= 0; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next === 0x2f /* / */) depth--;
    else if (next !== 0x3f /* ? */ && next !== 0x21 /* ! */) {
      const end = text.indexOf('>', i);
      // <a/> opens and closes.
      if (end > 0 && text.charCodeAt(end - 1) === 0x2f) continue;
      if (++depth > max) return true;
    }
  }
  return false;
}
