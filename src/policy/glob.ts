/**
 * Wildcard matching as IAM does it: `*` any run of characters, `?` one character, nothing
 * else special. Actions match without regard to case ("Action names are case-insensitive");
 * ARNs and string conditions with it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
 */

/** A compiled wildcard pattern: a plain comparison when it holds no wildcard. */
export type Glob = (value: string) => boolean;

export function compileGlob(pattern: string, ignoreCase = false): Glob {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*') && !pattern.includes('?')) {
    if (!ignoreCase) return (v) => v === pattern;
    const lower = pattern.toLowerCase();
    return (v) => v.length === lower.length && v.toLowerCase() === lower;
  }
  let source = '';
  for (const c of pattern) {
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else source += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
  // Most patterns start with literal text (`logs:Get*`): a prefix check rejects at once.
  const prefix = pattern.slice(0, firstWildcard(pattern));
  if (prefix === '' || ignoreCase) return (v) => re.test(v);
  return (v) => v.startsWith(prefix) && re.test(v);
}

/**
 * An Action pattern, matched against an action already lower-cased by the caller
 * ("action names are case-insensitive"): compared as text when it has no wildcard, and
 * rejected by its literal prefix before any regular expression runs.
 */
export function compileActionGlob(pattern: string): Glob {
  const lower = pattern.toLowerCase();
  if (lower === '*') return () => true;
  const at = firstWildcard(lower);
  if (at === lower.length) return (v) => v === lower;
  return compileGlob(lower);
}

function firstWildcard(pattern: string): number {
  const star = pattern.indexOf('*');
  const q = pattern.indexOf('?');
  if (star < 0) return q < 0 ? pattern.length : q;
  return q < 0 ? star : Math.min(star, q);
}

/**
 * ARN matching (Resource, ArnLike): "Each of the six colon-delimited components of the ARN
 * is checked separately and each can include multi-character match wildcards (*) or
 * single-character match wildcards (?)". The resource component is everything after the
 * fifth colon, so `function:*` matches `function:f:1`.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
 */
export function compileArnGlob(pattern: string): Glob {
  if (pattern === '*') return () => true;
  const parts = splitArn(pattern);
  if (!parts) {
    const whole = compileGlob(pattern);
    return whole;
  }
  const globs = parts.map((p) => compileGlob(p));
  return (value) => {
    const v = splitArn(value);
    if (!v) return false;
    for (let i = 0; i < 6; i++) if (!globs[i](v[i])) return false;
    return true;
  };
}

/** The six components, or undefined when `arn` has fewer than five colons. */
export function splitArn(arn: string): string[] | undefined {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < 5; i++) {
    const colon = arn.indexOf(':', from);
    if (colon < 0) return undefined;
    out.push(arn.slice(from, colon));
    from = colon + 1;
  }
  out.push(arn.slice(from));
  return out;
}
