/**
 * The vocabulary of the policy evaluation cases (policy-cases.ts): their types and the
 * builders of policy documents, request context values and groups of cases.
 */
export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export interface ContextValue {
  key: string;
  values: string[];
  type: 'string' | 'stringList' | 'numeric' | 'boolean' | 'ip' | 'date' | 'binary';
}

export interface PolicyCase {
  name: string;
  policies: string[];
  boundary?: string;
  resourcePolicy?: string;
  resourceOwner?: string;
  callerArn?: string;
  action: string;
  resource?: string;
  context?: ContextValue[];
  expect: Decision;
}

export const ACCOUNT = '123456789012';
export const doc = (...Statement: object[]) => JSON.stringify({ Version: '2012-10-17', Statement });
export const allow = (
  Action: string | string[],
  Resource: string | string[] = '*',
  extra = {},
) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra,
});
export const deny = (Action: string | string[], Resource: string | string[] = '*', extra = {}) => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra,
});
export const s = (key: string, ...values: string[]): ContextValue => ({
  key,
  values,
  type: 'string',
});
export const list = (key: string, ...values: string[]): ContextValue => ({
  key,
  values,
  type: 'stringList',
});
export const typed = (type: ContextValue['type'], key: string, value: string): ContextValue => ({
  key,
  values: [value],
  type,
});

/** `group(name, policies, requests)`: one policy, several requests against it, added to `cases`. */
export function grouper(cases: PolicyCase[]) {
  return (
    name: string,
    policies: string[],
    requests: Omit<PolicyCase, 'name' | 'policies'>[],
    extra: Partial<PolicyCase> = {},
  ): void => {
    requests.forEach((r, i) => cases.push({ name: `${name} #${i + 1}`, policies, ...extra, ...r }));
  };
}
