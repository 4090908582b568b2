/**
 * The request context a policy is evaluated against: the condition keys of one request
 * (global `aws:*` keys and the service's own), by lower-cased name ("Condition key names
 * are not case-sensitive"), single- or multi-valued.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 */
export type ContextValue = string | readonly string[];

export class RequestFacts {
  /** Allocated on the first set: most calls set nothing (the authoriser's cost per call). */
  private values: Map<string, ContextValue> | undefined;
  /**
   * Keys worked out only when a condition asks (the global keys: most requests meet no
   * condition that reads them, and the authoriser's cost per call matters).
   */
  private fallback: ((lowerKey: string) => ContextValue | undefined) | undefined;

  constructor(entries?: Iterable<[string, ContextValue | undefined]>) {
    if (entries) for (const [k, v] of entries) this.set(k, v);
  }

  /** Answers keys that were not set; set keys win. */
  withFallback(fallback: (lowerKey: string) => ContextValue | undefined): this {
    this.fallback = fallback;
    return this;
  }

  /** The value of a lower-cased key as stored: one string or a list. */
  raw(lowerKey: string): ContextValue | undefined {
    const v = this.values?.get(lowerKey);
    return v !== undefined ? v : this.fallback?.(lowerKey);
  }

  set(key: string, value: ContextValue | undefined): this {
    if (value !== undefined) (this.values ??= new Map()).set(key.toLowerCase(), value);
    return this;
  }

  /** Tags as `<prefix>/<key>` entries (aws:PrincipalTag, aws:ResourceTag, aws:RequestTag). */
  setTags(prefix: string, tags: Readonly<Record<string, string>> | undefined): this {
    if (tags) for (const [k, v] of Object.entries(tags)) this.set(`${prefix}/${k}`, v);
    return this;
  }

  /** The values of `key` (lower-cased already), undefined when the request has none. */
  get(lowerKey: string): readonly string[] | undefined {
    const v = this.raw(lowerKey);
    if (v === undefined) return undefined;
    return typeof v === 'string' ? [v] : v;
  }

  /** No key was set (global keys from the fallback aside). */
  isEmpty(): boolean {
    return this.values === undefined || this.values.size === 0;
  }

  has(lowerKey: string): boolean {
    return this.raw(lowerKey) !== undefined;
  }

  /** One value of a single-valued key (policy variables). */
  single(lowerKey: string): string | undefined {
    const v = this.raw(lowerKey);
    return typeof v === 'string' ? v : v?.[0];
  }

  entries(): IterableIterator<[string, ContextValue]> {
    return (this.values ?? new Map<string, ContextValue>()).entries();
  }
}

/**
 * Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`) and the three
 * special characters `${*}`, `${?}`, `${$}`. Undefined when a variable has no value and no
 * default: "If the key is not present in the request context, the policy element that
 * contains it does not match".
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */
export function substitute(text: string, facts: RequestFacts): string | undefined {
  let missing = false;
  const out = text.replace(/\$\{([^}]*)\}/g, (_all, inner: string) => {
    if (inner === '*' || inner === '?' || inner === '$') return inner;
    const comma = inner.indexOf(',');
    const key = (comma < 0 ? inner : inner.slice(0, comma)).trim().toLowerCase();
    const value = facts.single(key);
    if (value !== undefined) return value;
    if (comma >= 0) {
      const fallback = /^\s*'([^']*)'\s*$/.exec(inner.slice(comma + 1));
      if (fallback) return fallback[1];
    }
    missing = true;
    return '';
  });
  return missing ? undefined : out;
}

export const hasVariable = (text: string): boolean => text.includes('${');
