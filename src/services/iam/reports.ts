/**
 * What IAM reports about the account as a whole: access key last use (recorded by the
 * gateway on each authenticated request), the credential report (CSV) and
 * GetAccountAuthorizationDetails (every identity with its policies, one paged listing).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
 */
import {
  CredentialReportExpiredException,
  CredentialReportNotPresentException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type {
  AttachedPolicy,
  GetAccountAuthorizationDetailsResponse,
  PolicyDetail,
} from '../../api/iam/types.js';
import { encodeDocument } from '../../shared/policy-documents.js';
import type { MetadataOps } from '../../storage/types.js';
import { awsPolicyOutput } from './aws-managed.js';
import { parseIamArn } from './arns.js';
import { timestamp, type IamDeps } from './common.js';
import type { LoginProfileRecord } from './login-profiles.js';
import type { MfaDeviceRecord } from './mfa.js';
import { pageArray } from './paging.js';
import { policyOutput } from './policies.js';
import {
  nameKey,
  ownerPrefix,
  T,
  type AccessKeyRecord,
  type AttachmentRecord,
  type AwsPolicyUsageRecord,
  type GroupRecord,
  type InlinePolicyRecord,
  type InstanceProfileRecord,
  type MembershipRecord,
  type OwnerKind,
  type PolicyRecord,
  type RoleRecord,
  type UserRecord,
} from './store.js';

type ReportOps = Pick<
  IamOperations,
  | 'GetAccessKeyLastUsed'
  | 'GenerateCredentialReport'
  | 'GetCredentialReport'
  | 'GetAccountAuthorizationDetails'
>;

interface CredentialReportRecord {
  generated: string;
  csv: string;
}

/** "If the report is older than four hours … GetCredentialReport … returns … expired." */
const REPORT_TTL_MS = 4 * 3600_000;

const COLUMNS = [
  'user',
  'arn',
  'user_creation_time',
  'password_enabled',
  'password_last_used',
  'password_last_changed',
  'password_next_rotation',
  'mfa_active',
  'access_key_1_active',
  'access_key_1_last_rotated',
  'access_key_1_last_used_date',
  'access_key_1_last_used_region',
  'access_key_1_last_used_service',
  'access_key_2_active',
  'access_key_2_last_rotated',
  'access_key_2_last_used_date',
  'access_key_2_last_used_region',
  'access_key_2_last_used_service',
  'cert_1_active',
  'cert_1_last_rotated',
  'cert_2_active',
  'cert_2_last_rotated',
];

/** ISO 8601 with AWS's `+00:00` offset, as the report writes dates. */
const reportDate = (iso: string) => iso.replace(/(\.\d+)?Z$/, '+00:00');

async function list<V>(ops: MetadataOps, table: string, prefix: string): Promise<V[]> {
  return (await ops.list<V>(table, { prefix })).map((r) => r.value);
}

export function reportOperations(deps: IamDeps): ReportOps {
  const { store, keys } = deps;

  async function row(account: string, u: UserRecord): Promise<string[]> {
    const mine = nameKey(account, u.name);
    const profile = await store.get<LoginProfileRecord>(T.loginProfiles, mine);
    const devices = await list<MfaDeviceRecord>(store, T.mfaDevices, `${account}/`);
    const mfa = devices.some((d) => d.user?.toLowerCase() === u.name.toLowerCase());
    const certs = await list<{ status: string; uploaded: string }>(
      store,
      T.signingCertificates,
      `${mine}/`,
    );
    const keyCols: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = u.accessKeyIds[i];
      const k = id === undefined ? undefined : await store.get<AccessKeyRecord>(T.accessKeys, id);
      const used = k && (await keys.lastUsed(k.accessKeyId));
      keyCols.push(
        k ? String(k.status === 'Active') : 'false',
        k ? reportDate(k.created) : 'N/A',
        used ? reportDate(new Date(used.at).toISOString()) : 'N/A',
        used ? used.region : 'N/A',
        used ? used.service : 'N/A',
      );
    }
    const certCols: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = certs[i];
      certCols.push(
        c ? String(c.status === 'Active') : 'false',
        c ? reportDate(c.uploaded) : 'N/A',
      );
    }
    return [
      u.name,
      u.arn,
      reportDate(u.created),
      String(profile !== undefined),
      profile ? 'no_information' : 'N/A',
      profile ? reportDate(profile.changed) : 'N/A',
      'N/A',
      String(mfa),
      ...keyCols,
      ...certCols,
    ];
  }

  async function inlineOf(account: string, kind: OwnerKind, name: string): Promise<PolicyDetail[]> {
    const found = await list<InlinePolicyRecord>(store, T.inline, ownerPrefix(account, kind, name));
    return found.map((p) => ({ PolicyName: p.name, PolicyDocument: encodeDocument(p.document) }));
  }
  async function attachedOf(
    account: string,
    kind: OwnerKind,
    name: string,
  ): Promise<AttachedPolicy[]> {
    const found = await list<AttachmentRecord>(store, T.attached, ownerPrefix(account, kind, name));
    return found.map((a) => ({ PolicyName: a.policyName, PolicyArn: a.policyArn }));
  }
  const boundary = (arn: string | undefined) =>
    arn === undefined
      ? undefined
      : {
          PermissionsBoundaryType: 'PermissionsBoundaryPolicy' as const,
          PermissionsBoundaryArn: arn,
        };

  return {
    async GetAccessKeyLastUsed(input) {
      const k = await store.get<AccessKeyRecord>(T.accessKeys, input.AccessKeyId);
      if (!k) {
        throw new NoSuchEntityException(
          `The Access Key with id ${input.AccessKeyId} cannot be found.`,
        );
      }
      const used = await keys.lastUsed(k.accessKeyId);
      return {
        UserName: k.userName,
        // "N/A" until the key is first used, as AWS answers.
        AccessKeyLastUsed: used
          ? {
              LastUsedDate: new Date(Math.floor(used.at / 1000) * 1000),
              ServiceName: used.service,
              Region: used.region,
            }
          : { ServiceName: 'N/A', Region: 'N/A' },
      };
    },

    async GenerateCredentialReport(_input, ctx) {
      const users = await list<UserRecord>(store, T.users, `${ctx.account}/`);
      const now = timestamp(deps);
      const root = [
        '<root_account>',
        `arn:aws:iam::${ctx.account}:root`,
        reportDate(new Date(0).toISOString()),
        'not_supported',
        'no_information',
        'not_supported',
        'not_supported',
        'false',
        'true',
        'N/A',
        'N/A',
        'N/A',
        'N/A',
        'false',
        'N/A',
        'N/A',
        'N/A',
        'N/A',
        'false',
        'N/A',
        'false',
        'N/A',
      ];
      const rows = [COLUMNS, root];
      for (const u of users) rows.push(await row(ctx.account, u));
      const csv = rows.map((r) => r.join(',')).join('\n');
      await store.transaction((tx) =>
        tx.put<CredentialReportRecord>(T.credentialReports, ctx.account, { generated: now, csv }),
      );
      return { State: 'COMPLETE', Description: 'Report generated' };
    },

    async GetCredentialReport(_input, ctx) {
      const r = await store.get<CredentialReportRecord>(T.credentialReports, ctx.account);
      if (!r) {
        throw new CredentialReportNotPresentException(
          'Unable to find a credential report. Use GenerateCredentialReport to generate a report.',
        );
      }
      if (deps.now().getTime() - new Date(r.generated).getTime() > REPORT_TTL_MS) {
        throw new CredentialReportExpiredException(
          'The credential report is expired. Use GenerateCredentialReport to generate a new report.',
        );
      }
      return {
        Content: Buffer.from(r.csv),
        ReportFormat: 'text/csv',
        GeneratedTime: new Date(r.generated),
      };
    },

    async GetAccountAuthorizationDetails(input, ctx) {
      const a = ctx.account;
      const want = (f: string) => !input.Filter?.length || input.Filter.includes(f as never);
      type Entry = {
        key: string;
        add: (out: GetAccountAuthorizationDetailsResponse) => Promise<void>;
      };
      const entries: Entry[] = [];
      if (want('User')) {
        for (const u of await list<UserRecord>(store, T.users, `${a}/`)) {
          entries.push({
            key: `1/${u.name.toLowerCase()}`,
            add: async (out) => {
              const groups = await list<MembershipRecord>(
                store,
                T.userGroups,
                `${a}/${u.name.toLowerCase()}/`,
              );
              (out.UserDetailList ??= []).push({
                Path: u.path,
                UserName: u.name,
                UserId: u.id,
                Arn: u.arn,
                CreateDate: new Date(u.created),
                UserPolicyList: await inlineOf(a, 'user', u.name),
                GroupList: groups.map((g) => g.group),
                AttachedManagedPolicies: await attachedOf(a, 'user', u.name),
                ...(u.permissionsBoundary !== undefined && {
                  PermissionsBoundary: boundary(u.permissionsBoundary),
                }),
                ...(u.tags.length > 0 && { Tags: u.tags }),
              });
            },
          });
        }
      }
      if (want('Group')) {
        for (const g of await list<GroupRecord>(store, T.groups, `${a}/`)) {
          entries.push({
            key: `2/${g.name.toLowerCase()}`,
            add: async (out) => {
              (out.GroupDetailList ??= []).push({
                Path: g.path,
                GroupName: g.name,
                GroupId: g.id,
                Arn: g.arn,
                CreateDate: new Date(g.created),
                GroupPolicyList: await inlineOf(a, 'group', g.name),
                AttachedManagedPolicies: await attachedOf(a, 'group', g.name),
              });
            },
          });
        }
      }
      if (want('Role')) {
        const profiles = await list<InstanceProfileRecord>(store, T.instanceProfiles, `${a}/`);
        for (const r of await list<RoleRecord>(store, T.roles, `${a}/`)) {
          entries.push({
            key: `3/${r.name.toLowerCase()}`,
            add: async (out) => {
              (out.RoleDetailList ??= []).push({
                Path: r.path,
                RoleName: r.name,
                RoleId: r.id,
                Arn: r.arn,
                CreateDate: new Date(r.created),
                AssumeRolePolicyDocument: encodeDocument(r.trustPolicy),
                InstanceProfileList: profiles
                  .filter((p) => p.role?.toLowerCase() === r.name.toLowerCase())
                  .map((p) => ({
                    Path: p.path,
                    InstanceProfileName: p.name,
                    InstanceProfileId: p.id,
                    Arn: p.arn,
                    CreateDate: new Date(p.created),
                    Roles: [],
                  })),
                RolePolicyList: await inlineOf(a, 'role', r.name),
                AttachedManagedPolicies: await attachedOf(a, 'role', r.name),
                ...(r.permissionsBoundary !== undefined && {
                  PermissionsBoundary: boundary(r.permissionsBoundary),
                }),
                ...(r.tags.length > 0 && { Tags: r.tags }),
                RoleLastUsed: {},
              });
            },
          });
        }
      }
      if (want('LocalManagedPolicy')) {
        for (const p of await list<PolicyRecord>(store, T.policies, `${a}/`)) {
          entries.push({
            key: `4/${p.name.toLowerCase()}`,
            add: async (out) => {
              (out.Policies ??= []).push({
                ...policyOutput(p, false),
                ...(p.description !== undefined && { Description: p.description }),
                PolicyVersionList: p.versions.map((v) => ({
                  Document: encodeDocument(v.document),
                  VersionId: v.id,
                  IsDefaultVersion: v.id === p.defaultVersionId,
                  CreateDate: new Date(v.created),
                })),
              });
            },
          });
        }
      }
      if (want('AWSManagedPolicy')) {
        // The AWS managed policies in use in the account.
        for (const row of await store.list<AwsPolicyUsageRecord>(T.awsPolicyUsage, {
          prefix: `${a}/`,
        })) {
          const arn = row.key.slice(a.length + 1);
          const parsed = parseIamArn(arn, 'policy');
          if (!parsed || row.value.attachmentCount === 0) continue;
          entries.push({
            key: `5/${arn}`,
            add: async (out) => {
              (out.Policies ??= []).push({ ...awsPolicyOutput(parsed, row.value.attachmentCount) });
            },
          });
        }
      }
      const page = pageArray(entries, (e) => e.key, input.Marker, input.MaxItems);
      const out: GetAccountAuthorizationDetailsResponse = {
        UserDetailList: [],
        GroupDetailList: [],
        RoleDetailList: [],
        Policies: [],
      };
      for (const e of page.items) await e.add(out);
      return {
        ...out,
        IsTruncated: page.isTruncated,
        ...(page.marker !== undefined && { Marker: page.marker }),
      };
    },
  };
}
