/**
 * IAM's part in authorisation: the policies of a principal (a user, or a role through its
 * sessions) and the trust policies of roles, which are the resource-based policies
 * `sts:AssumeRole` is decided by. Answers are cached per principal until the next IAM
 * write (any mutating operation calls `invalidate`), so a policy change takes effect on
 * the next call while an unchanged principal costs a map look-up.
 */
import { compiledPolicy, type CompiledPolicy } from '../../policy/document.js';
import type { PrincipalPolicies } from '../../policy/evaluate.js';
import type {
  PrincipalDirectory,
  PrincipalInfo,
  ResourceInfo,
  ResourcePolicySource,
} from '../../policy/sources.js';
import { parseArn } from '../../shared/arn.js';
import type { Principal } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { awsPolicyDocument } from './aws-managed.js';
import { parseIamArn } from './arns.js';
import { groupsOf } from './groups.js';
import {
  nameKey,
  ownerPrefix,
  T,
  type AttachmentRecord,
  type InlinePolicyRecord,
  type OwnerKind,
  type PolicyRecord,
  type RoleRecord,
  type UserRecord,
} from './store.js';
import { BoundedMap } from '../../shared/bounded-map.js';

interface Cached<T> {
  generation: number;
  value: T;
}

export class IamAuthority implements PrincipalDirectory, ResourcePolicySource {
  readonly prefix = 'iam';
  private generation = 0;
  private readonly principals = new WeakMap<Principal, Cached<PrincipalInfo | undefined>>();
  private readonly roles = new BoundedMap<string, Cached<ResourceInfo | undefined>>(10_000);

  constructor(private readonly store: MetadataOps) {}

  /** Forgets every cached answer: IAM changed. */
  invalidate(): void {
    this.generation++;
    this.roles.clear();
  }

  principal(
    principal: Principal,
    account: string,
  ): PrincipalInfo | undefined | Promise<PrincipalInfo | undefined> {
    const cached = this.principals.get(principal);
    if (cached && cached.generation === this.generation) return cached.value;
    const generation = this.generation;
    return this.load(principal, account).then((value) => {
      this.principals.set(principal, { generation, value });
      return value;
    });
  }

  /** The trust policy and tags of a role, by ARN. */
  async resource(arn: string): Promise<ResourceInfo | undefined> {
    const cached = this.roles.get(arn);
    if (cached && cached.generation === this.generation) return cached.value;
    const generation = this.generation;
    let value: ResourceInfo | undefined;
    const parsed = parseIamArn(arn, 'role');
    if (parsed && parsed.account !== 'aws') {
      const role = await this.store.get<RoleRecord>(T.roles, nameKey(parsed.account, parsed.name));
      if (role && role.arn === arn) {
        value = {
          policy: this.compile(role.trustPolicy, `${arn}#trust`),
          tags: tagMap(role.tags),
          requiredFor: trustGoverned,
        };
      }
    }
    if (generation === this.generation) {
      // Unknown ARNs are remembered too (any call can name one): bounded.
      this.roles.set(arn, { generation, value });
    }
    return value;
  }

  /** Policies of a user or role (SimulatePrincipalPolicy's PolicySourceArn). */
  async identityPolicies(
    kind: Exclude<OwnerKind, 'group'>,
    account: string,
    name: string,
  ): Promise<PrincipalPolicies> {
    const record = await this.store.get<RoleRecord | UserRecord>(
      kind === 'role' ? T.roles : T.users,
      nameKey(account, name),
    );
    const identity = await this.ownerPolicies(account, kind, name);
    if (kind === 'user') {
      for (const group of await groupsOf(this.store, account, name)) {
        identity.push(...(await this.ownerPolicies(account, 'group', group)));
      }
    }
    const boundary = record?.permissionsBoundary
      ? await this.managed(record.permissionsBoundary, account)
      : undefined;
    return { identity, ...(boundary && { boundary }) };
  }

  private async load(principal: Principal, account: string): Promise<PrincipalInfo | undefined> {
    const arn = parseArn(principal.arn);
    if (!arn) return undefined;
    if (arn.service === 'iam' && arn.resource === 'root') {
      return {
        caller: { self: principal.arn, account: arn.account },
        isRoot: arn.account === account,
        tags: {},
        principalArn: principal.arn,
        type: 'Account',
      };
    }
    if (arn.service === 'iam' && arn.resource.startsWith('user/')) {
      const name = arn.resource.slice(arn.resource.lastIndexOf('/') + 1);
      const user = await this.store.get<UserRecord>(T.users, nameKey(arn.account, name));
      if (!user || user.arn !== principal.arn) return undefined;
      return {
        caller: { self: user.arn, account: arn.account },
        isRoot: false,
        policies: await this.withSession(
          await this.identityPolicies('user', arn.account, user.name),
          principal,
          arn.account,
        ),
        tags: tagMap(user.tags),
        principalArn: user.arn,
        username: user.name,
        type: 'User',
      };
    }
    if (arn.service === 'sts' && arn.resource.startsWith('assumed-role/')) {
      const roleName = arn.resource.split('/')[1] ?? '';
      const role = await this.store.get<RoleRecord>(T.roles, nameKey(arn.account, roleName));
      if (!role) return undefined;
      return {
        caller: { self: principal.arn, role: role.arn, account: arn.account },
        isRoot: false,
        policies: await this.withSession(
          await this.identityPolicies('role', arn.account, role.name),
          principal,
          arn.account,
        ),
        tags: { ...tagMap(role.tags), ...principal.session?.tags },
        principalArn: role.arn,
        type: 'AssumedRole',
      };
    }
    if (arn.service === 'sts' && arn.resource.startsWith('federated-user/')) {
      const source = principal.session?.sourceUser;
      const user = source ? parseIamArn(source, 'user') : undefined;
      const identity = user
        ? await this.identityPolicies('user', arn.account, user.name)
        : { identity: [] };
      // "If you don't pass a policy … the resulting federated user session has no permissions."
      return {
        caller: { self: principal.arn, account: arn.account },
        isRoot: false,
        policies: {
          ...identity,
          session: (await this.withSession(identity, principal, arn.account)).session ?? [],
        },
        tags: principal.session?.tags ?? {},
        principalArn: principal.arn,
        type: 'FederatedUser',
      };
    }
    return undefined;
  }

  /** Adds the session policies a session was given (none: the identity's permissions). */
  private async withSession(
    policies: PrincipalPolicies,
    principal: Principal,
    account: string,
  ): Promise<PrincipalPolicies> {
    const s = principal.session;
    if (!s || (s.policy === undefined && !s.policyArns?.length)) return policies;
    const session: CompiledPolicy[] = [];
    if (s.policy !== undefined) session.push(this.compile(s.policy, 'session policy'));
    for (const arn of s.policyArns ?? []) {
      const p = await this.managed(arn, account);
      if (p) session.push(p);
    }
    return { ...policies, session };
  }

  private async ownerPolicies(
    account: string,
    kind: OwnerKind,
    name: string,
  ): Promise<CompiledPolicy[]> {
    const prefix = ownerPrefix(account, kind, name);
    const out: CompiledPolicy[] = [];
    for (const { value } of await this.store.list<InlinePolicyRecord>(T.inline, { prefix })) {
      out.push(this.compile(value.document, value.name));
    }
    for (const { value } of await this.store.list<AttachmentRecord>(T.attached, { prefix })) {
      const p = await this.managed(value.policyArn, account);
      if (p) out.push(p);
    }
    return out;
  }

  /** A managed policy's default version, compiled (AWS managed: the documents Stratus carries). */
  private async managed(arn: string, account: string): Promise<CompiledPolicy | undefined> {
    const parsed = parseIamArn(arn, 'policy');
    if (!parsed) return undefined;
    if (parsed.account === 'aws') {
      const doc = awsPolicyDocument(arn);
      return doc === undefined ? undefined : this.compile(doc, arn);
    }
    if (parsed.account !== account) return undefined;
    const record = await this.store.get<PolicyRecord>(T.policies, nameKey(account, parsed.name));
    if (!record || record.arn !== arn) return undefined;
    const version = record.versions.find((v) => v.id === record.defaultVersionId);
    return version ? this.compile(version.document, arn) : undefined;
  }

  private compile(document: string, id: string): CompiledPolicy {
    return compiledPolicy(document, id);
  }
}

function tagMap(tags: readonly { Key: string; Value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) out[t.Key] = t.Value;
  return out;
}

/**
 * The STS actions a role's trust policy governs: without its Allow nobody assumes the role
 * (or tags the session, sets a source identity), whatever their identity policies say.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
function trustGoverned(action: string): boolean {
  return action.startsWith('sts:');
}
