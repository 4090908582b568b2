/**
 * Rule conditions as an ALB evaluates them: every condition of a rule must match, and a
 * condition matches when any of its values does. Wildcards `*` (any run) and `?` (one
 * character); path patterns are case-sensitive, host names, header values and query
 * strings are not.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
 */
import { BlockList, isIPv4 } from 'node:net';
import type { RuleCondition } from '../../../api/elbv2/types.js';
import { BoundedMap } from '../../../shared/bounded-map.js';

/** What conditions look at, taken once per request. */
export interface RequestFacts {
  method: string;
  /** The path without the query string. */
  path: string;
  /** The Host header without its port, lower-cased. */
  host: string;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Decoded query pairs in order. */
  query: readonly [string, string][];
  sourceIp: string;
}

const wildcardCache = new BoundedMap<string, RegExp>(10_000);

/** A compiled wildcard pattern (`*`, `?`), anchored. */
function wildcard(pattern: string, caseless: boolean): RegExp {
  const cacheKey = `${caseless ? 'i' : 's'}${pattern}`;
  let re = wildcardCache.get(cacheKey);
  if (!re) {
    const source = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${source}$`, caseless ? 'is' : 's');
    wildcardCache.set(cacheKey, re);
  }
  return re;
}

const anyOf = (values: readonly string[], subject: string, caseless: boolean): boolean =>
  values.some((v) => wildcard(v, caseless).test(subject));

const anyRegex = (values: readonly string[] | undefined, subject: string): boolean =>
  values !== undefined && values.some((v) => safeRegex(v)?.test(subject) === true);

function safeRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

function inCidrs(cidrs: readonly string[], ip: string): boolean {
  const list = new BlockList();
  const addr = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  const family = isIPv4(addr) ? 'ipv4' : 'ipv6';
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const fam = isIPv4(net) ? 'ipv4' : 'ipv6';
    try {
      list.addSubnet(net, Number(bits ?? (fam === 'ipv4' ? 32 : 128)), fam);
    } catch {
      // A malformed CIDR matches nothing (CreateRule refuses them).
    }
  }
  return list.check(addr, family);
}

function headerValues(facts: RequestFacts, name: string): string[] {
  const v = facts.headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function conditionMatches(c: RuleCondition, facts: RequestFacts): boolean {
  switch (c.Field) {
    case 'path-pattern': {
      const values = c.PathPatternConfig?.Values ?? c.Values ?? [];
      return (
        anyOf(values, facts.path, false) ||
        anyRegex(c.PathPatternConfig?.RegexValues ?? c.RegexValues, facts.path)
      );
    }
    case 'host-header': {
      const values = c.HostHeaderConfig?.Values ?? c.Values ?? [];
      return (
        anyOf(values, facts.host, true) ||
        anyRegex(c.HostHeaderConfig?.RegexValues ?? c.RegexValues, facts.host)
      );
    }
    case 'http-header': {
      const cfg = c.HttpHeaderConfig;
      if (!cfg?.HttpHeaderName) return false;
      return headerValues(facts, cfg.HttpHeaderName).some(
        (v) => anyOf(cfg.Values ?? [], v, true) || anyRegex(cfg.RegexValues, v),
      );
    }
    case 'http-request-method':
      return (c.HttpRequestMethodConfig?.Values ?? c.Values ?? []).includes(facts.method);
    case 'query-string':
      return (c.QueryStringConfig?.Values ?? []).some(({ Key, Value }) =>
        facts.query.some(
          ([k, v]) =>
            (Key === undefined || wildcard(Key, true).test(k)) &&
            (Value === undefined || wildcard(Value, true).test(v)),
        ),
      );
    case 'source-ip':
      return inCidrs(c.SourceIpConfig?.Values ?? c.Values ?? [], facts.sourceIp);
    default:
      return false;
  }
}

export const ruleMatches = (conditions: readonly RuleCondition[], facts: RequestFacts): boolean =>
  conditions.every((c) => conditionMatches(c, facts));
