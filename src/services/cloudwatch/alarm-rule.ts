/**
 * Composite alarm rules: `ALARM("cpu-high") AND NOT (OK(db) OR INSUFFICIENT_DATA(db))`,
 * `TRUE`, `FALSE`; alarms named by name or ARN.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
 */
import type { StateValue } from '../../api/cloudwatch/types.js';

export type Rule =
  | { t: 'const'; v: boolean }
  | { t: 'state'; state: StateValue; alarm: string }
  | { t: 'not'; e: Rule }
  | { t: 'and' | 'or'; l: Rule; r: Rule };

export class RuleError extends Error {}

const STATES: Record<string, StateValue> = {
  ALARM: 'ALARM',
  OK: 'OK',
  INSUFFICIENT_DATA: 'INSUFFICIENT_DATA',
};

function tokenize(src: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')') {
      out.push(c);
      i++;
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      if (end < 0) throw new RuleError('Unterminated quoted alarm name');
      out.push(src.slice(i, end + 1));
      i = end + 1;
    } else {
      let j = i;
      while (j < src.length && !/[\s()"]/.test(src[j])) j++;
      out.push(src.slice(i, j));
      i = j;
    }
  }
  return out;
}

export function parseRule(src: string): Rule {
  const tokens = tokenize(src);
  let pos = 0;
  const or = (): Rule => {
    let l = and();
    while (tokens[pos] === 'OR') {
      pos++;
      l = { t: 'or', l, r: and() };
    }
    return l;
  };
  const and = (): Rule => {
    let l = not();
    while (tokens[pos] === 'AND') {
      pos++;
      l = { t: 'and', l, r: not() };
    }
    return l;
  };
  const not = (): Rule => {
    if (tokens[pos] === 'NOT') {
      pos++;
      return { t: 'not', e: not() };
    }
    return atom();
  };
  const atom = (): Rule => {
    const t = tokens[pos++];
    if (t === undefined) throw new RuleError('Unexpected end of alarm rule');
    if (t === 'TRUE' || t === 'FALSE') return { t: 'const', v: t === 'TRUE' };
    if (t === '(') {
      const e = or();
      if (tokens[pos++] !== ')') throw new RuleError('Unbalanced parentheses');
      return e;
    }
    const state = STATES[t];
    if (state === undefined) throw new RuleError(`Unexpected "${t}"`);
    if (tokens[pos++] !== '(') throw new RuleError(`Expected "(" after ${t}`);
    const name = tokens[pos++];
    if (name === undefined || name === ')') throw new RuleError(`${t} needs an alarm name`);
    if (tokens[pos++] !== ')') throw new RuleError(`Expected ")" after the alarm name`);
    return { t: 'state', state, alarm: name.startsWith('"') ? name.slice(1, -1) : name };
  };
  const rule = or();
  if (pos < tokens.length) throw new RuleError(`Unexpected "${tokens[pos]}"`);
  return rule;
}

/** The alarms a rule names (names or ARNs, as written). */
export function ruleAlarms(rule: Rule): string[] {
  switch (rule.t) {
    case 'const':
      return [];
    case 'state':
      return [rule.alarm];
    case 'not':
      return ruleAlarms(rule.e);
    default:
      return [...ruleAlarms(rule.l), ...ruleAlarms(rule.r)];
  }
}

export function evaluateRule(
  rule: Rule,
  stateOf: (alarm: string) => StateValue | undefined,
): boolean {
  switch (rule.t) {
    case 'const':
      return rule.v;
    case 'state':
      return stateOf(rule.alarm) === rule.state;
    case 'not':
      return !evaluateRule(rule.e, stateOf);
    case 'and':
      return evaluateRule(rule.l, stateOf) && evaluateRule(rule.r, stateOf);
    case 'or':
      return evaluateRule(rule.l, stateOf) || evaluateRule(rule.r, stateOf);
  }
}
