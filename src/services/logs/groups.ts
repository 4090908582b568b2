/**
 * Log groups and their retention.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
 */
import type { LogsOperations } from '../../api/logs/operations.js';
import { ValidationException } from '../../api/logs/errors.js';
import type {
  AssociateKmsKeyRequest,
  CreateLogGroupRequest,
  DeleteLogGroupRequest,
  DeleteRetentionPolicyRequest,
  DescribeLogGroupsRequest,
  DescribeLogGroupsResponse,
  DisassociateKmsKeyRequest,
  ListLogGroupsRequest,
  ListLogGroupsResponse,
  LogGroup,
  PutLogGroupDeletionProtectionRequest,
  PutRetentionPolicyRequest,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import {
  decodeToken,
  groupArn,
  groupExists,
  groupNotFound,
  invalid,
  isString,
  type LogsDeps,
  pageLimit,
  parseGroupArn,
  resolveGroupName,
  scopeOf,
  validationError,
} from './common.js';
import {
  childPrefix,
  deleteGroupTree,
  GROUPS,
  type GroupRecord,
  groupKey,
  newGroup,
  type Scope,
  scopePrefix,
  STREAMS,
  type StreamRecord,
} from './store.js';
import { encodeToken } from '../../shared/paging.js';

type GroupOps = Pick<
  LogsOperations,
  | 'CreateLogGroup'
  | 'DescribeLogGroups'
  | 'DeleteLogGroup'
  | 'PutBearerTokenAuthentication'
  | 'PutRetentionPolicy'
  | 'DeleteRetentionPolicy'
  | 'ListLogGroups'
  | 'PutLogGroupDeletionProtection'
  | 'AssociateKmsKey'
  | 'DisassociateKmsKey'
>;

/** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;
const RETENTION_SET: ReadonlySet<number> = new Set(RETENTION_DAYS);

const DESCRIBE_MAX = 50;

interface GroupPageToken {
  /** Last group name returned. */
  n: string;
}
const isGroupToken = (v: unknown): v is GroupPageToken =>
  typeof v === 'object' && v !== null && isString((v as GroupPageToken).n);

export function groupOperations(deps: LogsDeps): GroupOps {
  const { store } = deps;
  const now = (): number => deps.now();

  async function describeIdentified(scope: Scope, identifiers: string[]): Promise<LogGroup[]> {
    const names = new Set<string>();
    for (const id of identifiers) {
      const arn = id.startsWith('arn:') ? parseGroupArn(id) : undefined;
      if (arn && (arn.account !== scope.account || arn.region !== scope.region)) continue;
      names.add(arn ? arn.name : id);
    }
    const out: LogGroup[] = [];
    for (const name of [...names].sort()) {
      const g = await store.get<GroupRecord>(GROUPS, groupKey(scope, name));
      if (g) out.push(await describeGroup(store, scope, g));
    }
    return out;
  }

  async function describeGroup(ops: MetadataOps, scope: Scope, g: GroupRecord): Promise<LogGroup> {
    // The group's storedBytes is the sum of its streams' (which AWS itself reports as 0).
    let storedBytes = 0;
    const streams = await ops.list<StreamRecord>(STREAMS, {
      prefix: childPrefix(groupKey(scope, g.name)),
    });
    for (const s of streams) storedBytes += s.value.storedBytes;
    const arn = groupArn(scope, g.name);
    const out: LogGroup = {
      logGroupName: g.name,
      creationTime: g.creationTime,
      metricFilterCount: 0,
      arn: `${arn}:*`,
      storedBytes,
      logGroupClass: g.logGroupClass,
      logGroupArn: arn,
    };
    if (g.retentionInDays !== undefined) out.retentionInDays = g.retentionInDays;
    if (g.kmsKeyId !== undefined) out.kmsKeyId = g.kmsKeyId;
    if (g.deletionProtectionEnabled) out.deletionProtectionEnabled = true;
    if (g.bearerTokenAuthenticationEnabled) out.bearerTokenAuthenticationEnabled = true;
    return out;
  }

  /** One page of the scope's groups by name, from `prefix`, keeping those `wanted`. */
  async function listGroups(
    scope: Scope,
    prefix: string | undefined,
    wanted: (g: GroupRecord) => boolean,
    nextToken: string | undefined,
    limit: number,
  ): Promise<{ page: GroupRecord[]; more: boolean }> {
    const after = nextToken ? decodeToken(nextToken, isGroupToken).n : undefined;
    const base = scopePrefix(scope);
    const page: GroupRecord[] = [];
    let cursor = after === undefined ? undefined : base + after;
    let more = false;
    // Filters (pattern, class) may skip stored groups, so read in chunks until the page is full.
    for (;;) {
      const chunk = await store.list<GroupRecord>(GROUPS, {
        prefix: base + (prefix ?? ''),
        after: cursor,
        limit: limit + 1,
      });
      for (const item of chunk) {
        if (!wanted(item.value)) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(item.value);
      }
      if (more || chunk.length <= limit) break;
      cursor = chunk[chunk.length - 1].key;
    }
    return { page, more };
  }

  return {
    async CreateLogGroup(input: CreateLogGroupRequest, ctx: RequestContext): Promise<void> {
      const name = input.logGroupName;
      // "Log group names can't start with the string aws/" (CreateLogGroup guidelines).
      if (name.startsWith('aws/')) {
        throw invalid("Log group names can't start with the string aws/");
      }
      const record = newGroup(name, now());
      if (input.logGroupClass !== undefined) record.logGroupClass = input.logGroupClass;
      if (input.tags !== undefined) record.tags = { ...input.tags };
      if (input.kmsKeyId !== undefined) record.kmsKeyId = input.kmsKeyId;
      if (input.deletionProtectionEnabled) record.deletionProtectionEnabled = true;
      const created = await store.insert(GROUPS, groupKey(scopeOf(ctx), name), record);
      if (!created) throw groupExists();
    },

    async DescribeLogGroups(
      input: DescribeLogGroupsRequest,
      ctx: RequestContext,
    ): Promise<DescribeLogGroupsResponse> {
      const scope = scopeOf(ctx);
      const limit = pageLimit(input.limit, DESCRIBE_MAX);
      const { logGroupNamePrefix: prefix, logGroupNamePattern: pattern } = input;
      if (prefix !== undefined && pattern !== undefined) {
        throw invalid(
          'LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.',
        );
      }
      if (input.logGroupIdentifiers !== undefined) {
        return { logGroups: await describeIdentified(scope, input.logGroupIdentifiers) };
      }
      const wanted = (g: GroupRecord): boolean =>
        (pattern === undefined || g.name.includes(pattern)) &&
        (input.logGroupClass === undefined || g.logGroupClass === input.logGroupClass);
      const { page, more } = await listGroups(scope, prefix, wanted, input.nextToken, limit);
      const logGroups: LogGroup[] = [];
      for (const g of page) {
        // "If you specify logGroupNamePattern in your request, then only arn, creationTime,
        // and logGroupName are included in the response."
        if (pattern !== undefined) {
          logGroups.push({
            logGroupName: g.name,
            creationTime: g.creationTime,
            arn: `${groupArn(scope, g.name)}:*`,
          });
        } else {
          logGroups.push(await describeGroup(store, scope, g));
        }
      }
      const out: DescribeLogGroupsResponse = { logGroups };
      if (more) out.nextToken = encodeToken({ n: page[page.length - 1].name });
      return out;
    },

    async DeleteLogGroup(input: DeleteLogGroupRequest, ctx: RequestContext): Promise<void> {
      const key = groupKey(scopeOf(ctx), input.logGroupName);
      await store.transaction(async (tx) => {
        const g = await tx.get<GroupRecord>(GROUPS, key);
        if (!g) throw groupNotFound();
        // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/protecting-log-groups-from-deletion.html
        if (g.deletionProtectionEnabled) {
          throw new ValidationException(
            'Cannot delete log group with deletion protection enabled. Disable deletion protection first.',
          );
        }
        await deleteGroupTree(tx, key);
      });
    },

    async PutRetentionPolicy(input: PutRetentionPolicyRequest, ctx: RequestContext): Promise<void> {
      const days = input.retentionInDays;
      if (!RETENTION_SET.has(days)) {
        throw validationError(
          'retentionInDays',
          days,
          `Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
        );
      }
      await updateGroup(store, scopeOf(ctx), input.logGroupName, (g) => {
        g.retentionInDays = days;
      });
    },

    async DeleteRetentionPolicy(
      input: DeleteRetentionPolicyRequest,
      ctx: RequestContext,
    ): Promise<void> {
      await updateGroup(store, scopeOf(ctx), input.logGroupName, (g) => {
        delete g.retentionInDays;
      });
    },
    /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_ListLogGroups.html */
    async ListLogGroups(
      input: ListLogGroupsRequest,
      ctx: RequestContext,
    ): Promise<ListLogGroupsResponse> {
      const scope = scopeOf(ctx);
      const limit = pageLimit(input.limit, DESCRIBE_MAX);
      const pattern = input.logGroupNamePattern;
      const tagFilters = input.logGroupTags ?? [];
      const wanted = (g: GroupRecord): boolean =>
        (pattern === undefined || g.name.includes(pattern)) &&
        (input.logGroupClass === undefined || g.logGroupClass === input.logGroupClass) &&
        tagFilters.every(
          (f) =>
            g.tags[f.key] !== undefined &&
            (f.values === undefined || f.values.length === 0 || f.values.includes(g.tags[f.key])),
        ) &&
        // Stratus keeps no data sources nor field indexes: such filters match no group.
        (input.dataSources === undefined || input.dataSources.length === 0) &&
        (input.fieldIndexNames === undefined || input.fieldIndexNames.length === 0);
      const { page, more } = await listGroups(scope, undefined, wanted, input.nextToken, limit);
      const out: ListLogGroupsResponse = {
        logGroups: page.map((g) => ({
          logGroupName: g.name,
          logGroupArn: groupArn(scope, g.name),
          logGroupClass: g.logGroupClass,
        })),
      };
      if (more) out.nextToken = encodeToken({ n: page[page.length - 1].name });
      return out;
    },

    async PutLogGroupDeletionProtection(
      input: PutLogGroupDeletionProtectionRequest,
      ctx: RequestContext,
    ): Promise<void> {
      const scope = scopeOf(ctx);
      const name = resolveGroupName({ logGroupIdentifier: input.logGroupIdentifier }, scope);
      await updateGroup(store, scope, name, (g) => {
        if (input.deletionProtectionEnabled) g.deletionProtectionEnabled = true;
        else delete g.deletionProtectionEnabled;
      });
    },

    /**
     * Stored and reported in DescribeLogGroups; Stratus has no HTTP ingestion endpoint that
     * reads bearer tokens, so the flag changes nothing else.
     * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutBearerTokenAuthentication.html
     */
    async PutBearerTokenAuthentication(input, ctx) {
      const scope = scopeOf(ctx);
      const name = resolveGroupName({ logGroupIdentifier: input.logGroupIdentifier }, scope);
      await updateGroup(store, scope, name, (g) => {
        if (input.bearerTokenAuthenticationEnabled) g.bearerTokenAuthenticationEnabled = true;
        else delete g.bearerTokenAuthenticationEnabled;
      });
    },

    /**
     * Stored and reported as `kmsKeyId`; Stratus keeps events unencrypted (no KMS service).
     * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html
     */
    async AssociateKmsKey(input: AssociateKmsKeyRequest, ctx: RequestContext): Promise<void> {
      const scope = scopeOf(ctx);
      const name = kmsTarget(input, scope);
      if (!KMS_KEY_ARN.test(input.kmsKeyId)) {
        throw invalid(`Specified KMS key ${input.kmsKeyId} is not a valid KMS key ARN.`);
      }
      if (name === undefined) return;
      await updateGroup(store, scope, name, (g) => {
        g.kmsKeyId = input.kmsKeyId;
      });
    },

    async DisassociateKmsKey(input: DisassociateKmsKeyRequest, ctx: RequestContext): Promise<void> {
      const scope = scopeOf(ctx);
      const name = kmsTarget(input, scope);
      if (name === undefined) return;
      await updateGroup(store, scope, name, (g) => {
        delete g.kmsKeyId;
      });
    },
  };
}

/** "The Amazon Resource Name (ARN) of the KMS key to use when encrypting log data." */
const KMS_KEY_ARN = /^arn:[\w-]+:kms:[\w-]+:\d{12}:(key|alias)\/.+$/;

/**
 * The group AssociateKmsKey/DisassociateKmsKey name, or undefined for the account's query
 * results (`resourceIdentifier` `arn:…:logs:<region>:<account>:query-result:*`), which
 * Stratus accepts and does not store.
 */
function kmsTarget(
  input: {
    logGroupName?: string;
    resourceIdentifier?: string;
  },
  scope: Scope,
): string | undefined {
  if (input.logGroupName !== undefined && input.resourceIdentifier !== undefined) {
    throw invalid('logGroupName and resourceIdentifier are mutually exclusive parameters.');
  }
  if (input.logGroupName !== undefined) return input.logGroupName;
  const id = input.resourceIdentifier;
  if (id === undefined) {
    throw invalid('Either logGroupName or resourceIdentifier must be specified.');
  }
  if (parseGroupArn(id)) return resolveGroupName({ logGroupIdentifier: id }, scope);
  if (/^arn:[\w-]+:logs:[\w-]+:\d{12}:query-result:\*$/.test(id)) return undefined;
  throw invalid(`Invalid resourceIdentifier: ${id}`);
}

/** Read-modify-write of one group record in one transaction. */
export async function updateGroup(
  store: MetadataStore,
  scope: Scope,
  name: string,
  change: (g: GroupRecord) => void,
): Promise<GroupRecord> {
  const key = groupKey(scope, name);
  return store.transaction(async (tx) => {
    const g = await tx.get<GroupRecord>(GROUPS, key);
    if (!g) throw groupNotFound();
    change(g);
    await tx.put(GROUPS, key, g);
    return g;
  });
}
