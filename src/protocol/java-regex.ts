/**
 * Model `pattern` constraints are Java regular expressions (AWS validates with
 * java.util.regex, whole-value `matches()`). This translates the subset botocore models
 * use into a JS RegExp with the `u` flag; anything it cannot translate faithfully yields
 * `null` and the caller skips that constraint rather than reject valid input.
 */

const cache = new Map<string, RegExp | null>();

/** A compiled whole-value matcher for a Java pattern, or null when untranslatable. */
export function compileJavaPattern(pattern: string): RegExp | null {
  let re = cache.get(pattern);
  if (re !== undefined) return re;
  re = null;
  try {
    const js = translate(pattern);
    if (js !== null) re = new RegExp(`^(?:${js.source})$`, js.flags);
  } catch {
    re = null;
  }
  cache.set(pattern, re);
  return re;
}

/** POSIX classes (ASCII-only in Java unless UNICODE_CHARACTER_CLASS), as class contents. */
const POSIX: Record<string, string> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r',
};

const HSPACE = ' \\t\\xA0\\u1680\\u180E\\u2000-\\u200A\\u202F\\u205F\\u3000';
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

function unicodeProperty(name: string): string | null {
  const n = name.startsWith('Is') ? name.slice(2) : name;
  for (const candidate of [n, `Script=${n}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  return null;
}

function translate(p: string): { source: string; flags: string } | null {
  let out = '';
  let flags = 'u';
  let i = 0;
  let inClass = false;
  /** Whether the previous class item was a class escape (\w, \p{..}): `-` after it is literal. */
  let prevWasClassEscape = false;
  if (p.startsWith('(?i)')) {
    flags += 'i';
    i = 4;
  }
  while (i < p.length) {
    const c = p[i];
    if (c === '\\') {
      const n = p[i + 1];
      if (n === undefined) return null;
      i += 2;
      let classEscape = false;
      if (n === 'p' || n === 'P') {
        let name: string;
        if (p[i] === '{') {
          const end = p.indexOf('}', i);
          if (end < 0) return null;
          name = p.slice(i + 1, end);
          i = end + 1;
        } else {
          name = p[i++];
        }
        const posix = POSIX[name.startsWith('Is') ? name.slice(2) : name];
        if (posix !== undefined) {
          if (inClass) {
            if (n === 'P') return null;
            out += posix;
          } else out += `[${n === 'P' ? '^' : ''}${posix}]`;
        } else {
          const prop = unicodeProperty(name);
          if (prop === null) return null;
          out += `\\${n}{${prop}}`;
        }
        classEscape = true;
      } else if (n === 'Q') {
        const end = p.indexOf('\\E', i);
        const lit = end < 0 ? p.slice(i) : p.slice(i, end);
        i = end < 0 ? p.length : end + 2;
        for (const ch of lit) out += SYNTAX.has(ch) || ch === '-' ? `\\${ch}` : ch;
      } else if (n === 'A') out += '^';
      else if (n === 'z' || n === 'Z') out += '$';
      else if (n === 'h') {
        out += inClass ? HSPACE : `[${HSPACE}]`;
        classEscape = true;
      } else if (n === 'e') out += '\\x1B';
      else if (n === 'a') out += '\\x07';
      else if (n === 'x' && p[i] === '{') {
        const end = p.indexOf('}', i);
        if (end < 0) return null;
        out += `\\u{${p.slice(i + 1, end)}}`;
        i = end + 1;
      } else if ('dDwWsS'.includes(n)) {
        out += `\\${n}`;
        classEscape = true;
      } else if ('bBtnrfvux0123456789k'.includes(n)) out += `\\${n}`;
      else if (n === '-') out += inClass ? '\\-' : '-';
      else if (SYNTAX.has(n)) out += `\\${n}`;
      else if (/[A-Za-z]/.test(n)) return null;
      else out += n; // Java allows escaping any punctuation; JS `u` mode does not.
      prevWasClassEscape = inClass && classEscape;
      continue;
    }
    if (inClass) {
      if (c === '[' || (c === '&' && p[i + 1] === '&')) return null; // unions/intersections
      if (c === ']') inClass = false;
      if (c === '-' && prevWasClassEscape) {
        out += '\\-';
        i++;
        prevWasClassEscape = false;
        continue;
      }
      out += c;
      i++;
      prevWasClassEscape = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      i++;
      if (p[i] === '^') {
        out += '^';
        i++;
      }
      // A leading `]` is a literal in Java.
      if (p[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '{') {
      const m = /^\{\d+(,\d*)?\}/.exec(p.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length;
        if (p[i] === '+') i++; // possessive → greedy
      } else {
        out += '\\{';
        i++;
      }
      continue;
    }
    if (c === '}' || c === ']') {
      out += `\\${c}`;
      i++;
      continue;
    }
    if ((c === '*' || c === '+' || c === '?') && p[i + 1] === '+') {
      out += c;
      i += 2; // possessive → greedy
      continue;
    }
    if (c === '(' && p[i + 1] === '?' && /[a-zA-Z-]/.test(p[i + 2] ?? '') && p[i + 2] !== '<') {
      return null; // embedded flags mid-pattern
    }
    out += c;
    i++;
  }
  if (inClass) return null;
  return { source: out, flags };
}
