/**
 * Tables: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, Time to Live
 * settings and tags. A table is ACTIVE as soon as it is written; CreateTable answers
 * CREATING and DeleteTable DELETING as AWS does, so that waiters behave as they do there.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
 */
import { randomUUID } from 'node:crypto';
import { ResourceNotFoundException } from '../../api/dynamodb/errors.js';
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import type {
  AttributeDefinition,
  GlobalSecondaryIndex,
  KeySchemaElement,
  LocalSecondaryIndex,
  Projection,
  ProvisionedThroughput,
  StreamSpecification,
  TableDescription,
  TableStatus,
} from '../../api/dynamodb/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  dropTableData,
  type DynamoDeps,
  findTable,
  keyDefOf,
  scopeOf,
  tableArn,
  writeItem,
} from './common.js';
import { invalidParameter, tableExists, validation } from './errors.js';
import {
  ITEMS,
  type IndexRecord,
  itemsPrefix,
  keySuffix,
  scopePrefix,
  STATS,
  TABLES,
  type TableRecord,
  tableKey,
  type TableStats,
} from './store.js';
import { type StreamInfo, STREAMS, streamKey } from './streams.js';
import type { Item } from './values.js';

/** The stream record of a table's current stream. */
function streamInfo(table: TableRecord): StreamInfo {
  const stream = table.stream as NonNullable<TableRecord['stream']>;
  const created = Date.parse(`${stream.label}Z`);
  return {
    arn: streamArnOf(table) as string,
    label: stream.label,
    tableId: table.id,
    tableName: table.name,
    account: table.account,
    region: table.region,
    viewType: stream.viewType,
    keySchema: table.keySchema,
    createdAt: created,
    shardId: `shardId-${String(created).padStart(20, '0')}-${table.id.slice(0, 8)}`,
  };
}

type TableOps = Pick<
  DynamodbOperations,
  | 'CreateTable'
  | 'DescribeTable'
  | 'ListTables'
  | 'UpdateTable'
  | 'DeleteTable'
  | 'UpdateTimeToLive'
  | 'DescribeTimeToLive'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsOfResource'
  | 'DescribeLimits'
  | 'DescribeContinuousBackups'
  | 'UpdateContinuousBackups'
>;

/** "Up to 20 GSIs and 5 LSIs per table" (default quotas). */
const MAX_GSIS = 20;
const MAX_LSIS = 5;

export function tableOperations(deps: DynamoDeps): TableOps {
  const { store } = deps;

  async function describe(
    ops: MetadataOps,
    table: TableRecord,
    status: TableStatus = 'ACTIVE',
  ): Promise<TableDescription> {
    const stats = (await ops.get<TableStats>(STATS, table.id)) ?? { count: 0, bytes: 0 };
    return describeTable(table, stats, status);
  }

  return {
    async CreateTable(input, ctx) {
      const scope = scopeOf(ctx);
      const keySchema = input.KeySchema ?? [];
      const attributes = input.AttributeDefinitions ?? [];
      if (!input.KeySchema) {
        throw validation(
          "1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null",
        );
      }
      if (!input.AttributeDefinitions) {
        throw validation(
          "1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null",
        );
      }
      checkKeySchema(keySchema, 'KeySchema');
      const billingMode = input.BillingMode ?? 'PROVISIONED';
      const provisioned = checkThroughput(billingMode, input.ProvisionedThroughput, undefined);
      const key = keyDefOf(keySchema);
      const now = deps.now();
      const indexes: IndexRecord[] = [];
      for (const lsi of input.LocalSecondaryIndexes ?? []) {
        indexes.push(localIndex(lsi, key.hash, !!key.range, now));
      }
      for (const gsi of input.GlobalSecondaryIndexes ?? []) {
        indexes.push(globalIndex(gsi, billingMode, now));
      }
      if ((input.LocalSecondaryIndexes?.length ?? 0) > MAX_LSIS) {
        throw validation(
          `One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of ${MAX_LSIS}`,
        );
      }
      if ((input.GlobalSecondaryIndexes?.length ?? 0) > MAX_GSIS) {
        throw validation(
          `One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of ${MAX_GSIS}`,
        );
      }
      const names = new Set<string>();
      for (const index of indexes) {
        if (names.has(index.name)) {
          throw invalidParameter(`Duplicate index name: ${index.name}`);
        }
        names.add(index.name);
      }
      checkAttributeDefinitions(attributes, [...keySchema, ...indexes.flatMap((i) => i.keySchema)]);
      const table: TableRecord = {
        id: randomUUID(),
        name: input.TableName,
        account: scope.account,
        region: scope.region,
        createdAt: now,
        key,
        keySchema,
        attributes,
        billingMode,
        payPerRequestSince: billingMode === 'PAY_PER_REQUEST' ? now : undefined,
        provisioned,
        indexes,
        stream: streamOf(input.StreamSpecification, now),
        tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key, t.Value])),
        deletionProtection: input.DeletionProtectionEnabled ?? false,
        tableClass: input.TableClass,
        sse: input.SSESpecification?.Enabled
          ? {
              enabled: true,
              type: input.SSESpecification.SSEType ?? 'KMS',
              kmsKey: input.SSESpecification.KMSMasterKeyId,
            }
          : undefined,
      };
      const created = await store.transaction(async (tx) => {
        if (!(await tx.insert(TABLES, tableKey(scope, table.name), table))) return false;
        if (table.stream) await tx.put(STREAMS, streamKey(streamInfo(table)), streamInfo(table));
        return true;
      });
      if (!created) throw tableExists(table.name);
      return {
        TableDescription: describeTable(table, { count: 0, bytes: 0 }, 'CREATING', 'CREATING'),
      };
    },

    async DescribeTable(input, ctx) {
      const table = await findTable(store, ctx, input.TableName, true);
      return { Table: await describe(store, table) };
    },

    async ListTables(input, ctx) {
      const prefix = scopePrefix(scopeOf(ctx));
      const limit = input.Limit ?? 100;
      const rows = await store.list<TableRecord>(TABLES, {
        prefix,
        after: input.ExclusiveStartTableName ? prefix + input.ExclusiveStartTableName : undefined,
        limit: limit + 1,
      });
      const names = rows.slice(0, limit).map((r) => r.value.name);
      return rows.length > limit
        ? { TableNames: names, LastEvaluatedTableName: names[names.length - 1] }
        : { TableNames: names };
    },

    async UpdateTable(input, ctx) {
      return store.transaction(async (tx) => {
        const table = await findTable(tx, ctx, input.TableName, true);
        const now = deps.now();
        let changed = false;
        const newIndexes: IndexRecord[] = [];
        if (input.BillingMode || input.ProvisionedThroughput) {
          const mode = input.BillingMode ?? table.billingMode;
          table.provisioned = checkThroughput(mode, input.ProvisionedThroughput, table);
          if (mode === 'PAY_PER_REQUEST' && table.billingMode !== mode) {
            table.payPerRequestSince = now;
          }
          table.billingMode = mode;
          changed = true;
        }
        if (input.AttributeDefinitions) {
          for (const def of input.AttributeDefinitions) {
            const known = table.attributes.find((a) => a.AttributeName === def.AttributeName);
            if (!known) table.attributes.push(def);
            else if (known.AttributeType !== def.AttributeType) {
              throw invalidParameter(
                `Cannot change the type of an existing key attribute ${def.AttributeName}`,
              );
            }
          }
        }
        for (const update of input.GlobalSecondaryIndexUpdates ?? []) {
          changed = true;
          if (update.Create) {
            if (table.indexes.some((i) => i.name === update.Create?.IndexName)) {
              throw invalidParameter(
                `Attempting to create an index which already exists: ${update.Create.IndexName}`,
              );
            }
            const index = globalIndex(update.Create, table.billingMode, now);
            checkAttributeDefinitions(
              table.attributes,
              [
                ...table.keySchema,
                ...table.indexes.flatMap((i) => i.keySchema),
                ...index.keySchema,
              ],
              false,
            );
            table.indexes.push(index);
            newIndexes.push(index);
          } else if (update.Delete) {
            const at = table.indexes.findIndex(
              (i) => i.global && i.name === update.Delete?.IndexName,
            );
            if (at < 0) {
              throw new ResourceNotFoundException(
                `Requested resource not found: Index: ${update.Delete.IndexName} not found`,
              );
            }
            const [gone] = table.indexes.splice(at, 1);
            await tx.deletePrefix('dynamodb_index', `${table.id}/${gone.name}/`);
          } else if (update.Update) {
            const index = table.indexes.find(
              (i) => i.global && i.name === update.Update?.IndexName,
            );
            if (!index) {
              throw new ResourceNotFoundException(
                `Requested resource not found: Index: ${update.Update.IndexName} not found`,
              );
            }
            if (update.Update.ProvisionedThroughput) {
              index.provisioned = {
                read: update.Update.ProvisionedThroughput.ReadCapacityUnits,
                write: update.Update.ProvisionedThroughput.WriteCapacityUnits,
              };
            }
          }
        }
        if (input.StreamSpecification) {
          const spec = input.StreamSpecification;
          if (spec.StreamEnabled && table.stream) {
            throw validation('Table already has an enabled stream: ' + tableArn(table));
          }
          if (!spec.StreamEnabled && !table.stream) {
            throw validation('Table already has no stream');
          }
          if (table.stream) {
            const info = await tx.get<StreamInfo>(STREAMS, streamKey(streamInfo(table)));
            if (info) await tx.put(STREAMS, streamKey(info), { ...info, disabledAt: now });
          }
          table.stream = streamOf(spec, now);
          if (table.stream) await tx.put(STREAMS, streamKey(streamInfo(table)), streamInfo(table));
          changed = true;
        }
        if (input.DeletionProtectionEnabled !== undefined) {
          table.deletionProtection = input.DeletionProtectionEnabled;
          changed = true;
        }
        if (input.TableClass) {
          table.tableClass = input.TableClass;
          changed = true;
        }
        if (input.SSESpecification) {
          table.sse = input.SSESpecification.Enabled
            ? {
                enabled: true,
                type: input.SSESpecification.SSEType ?? 'KMS',
                kmsKey: input.SSESpecification.KMSMasterKeyId,
              }
            : undefined;
          changed = true;
        }
        if (!changed && !input.AttributeDefinitions) {
          throw validation(
            'At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required',
          );
        }
        // Backfill new indexes from the items already there.
        for (const index of newIndexes) await backfill(tx, table, index);
        await tx.put(TABLES, tableKey(table, table.name), table);
        return { TableDescription: await describe(tx, table, 'UPDATING') };
      });
    },

    async DeleteTable(input, ctx) {
      return store.transaction(async (tx) => {
        const table = await findTable(tx, ctx, input.TableName, true);
        if (table.deletionProtection) {
          throw validation(
            'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.',
          );
        }
        const description = await describe(tx, table, 'DELETING');
        await dropTableData(tx, table);
        await tx.delete(TABLES, tableKey(table, table.name));
        return { TableDescription: description };
      });
    },

    async UpdateTimeToLive(input, ctx) {
      const spec = input.TimeToLiveSpecification;
      return store.transaction(async (tx) => {
        const table = await findTable(tx, ctx, input.TableName, true);
        if (spec.Enabled && table.ttl?.enabled) {
          throw validation('TimeToLive is already enabled');
        }
        if (!spec.Enabled && !table.ttl?.enabled) {
          throw validation('TimeToLive is already disabled');
        }
        if (!spec.Enabled && table.ttl && table.ttl.attribute !== spec.AttributeName) {
          throw invalidParameter(
            `Attribute name ${spec.AttributeName} does not match the existing TimeToLive attribute name ${table.ttl.attribute}`,
          );
        }
        table.ttl = { attribute: spec.AttributeName, enabled: spec.Enabled };
        await tx.put(TABLES, tableKey(table, table.name), table);
        return { TimeToLiveSpecification: spec };
      });
    },

    async DescribeTimeToLive(input, ctx) {
      const table = await findTable(store, ctx, input.TableName, true);
      return {
        TimeToLiveDescription: table.ttl?.enabled
          ? { TimeToLiveStatus: 'ENABLED', AttributeName: table.ttl.attribute }
          : { TimeToLiveStatus: 'DISABLED' },
      };
    },

    async TagResource(input, ctx) {
      await store.transaction(async (tx) => {
        const table = await tableByArn(tx, ctx, input.ResourceArn);
        for (const tag of input.Tags) table.tags[tag.Key] = tag.Value;
        if (Object.keys(table.tags).length > 50) {
          throw validation('The number of tags exceeds the limit of 50');
        }
        await tx.put(TABLES, tableKey(table, table.name), table);
      });
    },

    async UntagResource(input, ctx) {
      await store.transaction(async (tx) => {
        const table = await tableByArn(tx, ctx, input.ResourceArn);
        for (const key of input.TagKeys) delete table.tags[key];
        await tx.put(TABLES, tableKey(table, table.name), table);
      });
    },

    async ListTagsOfResource(input, ctx) {
      const table = await tableByArn(store, ctx, input.ResourceArn);
      return { Tags: Object.entries(table.tags).map(([Key, Value]) => ({ Key, Value })) };
    },

    async DescribeContinuousBackups(input, ctx) {
      const table = await findTable(store, ctx, input.TableName, true);
      return { ContinuousBackupsDescription: continuousBackups(table) };
    },

    async UpdateContinuousBackups(input, ctx) {
      const spec = input.PointInTimeRecoverySpecification;
      const days = spec.RecoveryPeriodInDays ?? 35;
      if (days < 1 || days > 35) {
        throw validation('RecoveryPeriodInDays must be between 1 and 35');
      }
      return store.transaction(async (tx) => {
        const table = await findTable(tx, ctx, input.TableName, true);
        table.pitr = spec.PointInTimeRecoveryEnabled
          ? { enabled: true, days, since: deps.now() }
          : undefined;
        await tx.put(TABLES, tableKey(table, table.name), table);
        return { ContinuousBackupsDescription: continuousBackups(table) };
      });
    },

    async DescribeLimits() {
      // AWS's default quotas for an account in a region.
      return {
        AccountMaxReadCapacityUnits: 80000,
        AccountMaxWriteCapacityUnits: 80000,
        TableMaxReadCapacityUnits: 40000,
        TableMaxWriteCapacityUnits: 40000,
      };
    },
  };
}

/**
 * Continuous backups are always on for a table; point-in-time recovery is the setting
 * (stored and reported: Stratus restores nothing).
 */
function continuousBackups(table: TableRecord) {
  return {
    ContinuousBackupsStatus: 'ENABLED' as const,
    PointInTimeRecoveryDescription: table.pitr?.enabled
      ? {
          PointInTimeRecoveryStatus: 'ENABLED' as const,
          RecoveryPeriodInDays: table.pitr.days,
          EarliestRestorableDateTime: new Date(table.pitr.since),
          LatestRestorableDateTime: new Date(),
        }
      : { PointInTimeRecoveryStatus: 'DISABLED' as const },
  };
}

async function tableByArn(
  ops: MetadataOps,
  ctx: RequestContext,
  arn: string,
): Promise<TableRecord> {
  if (!arn.startsWith('arn:')) {
    throw validation(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  }
  try {
    return await findTable(ops, ctx, arn);
  } catch {
    throw new ResourceNotFoundException(
      `Requested resource not found: ResourcArn: ${arn} not found`,
    );
  }
}

/** Adds index entries for the items a new global secondary index covers. */
async function backfill(tx: MetadataOps, table: TableRecord, index: IndexRecord): Promise<void> {
  let after: string | undefined;
  const only: TableRecord = { ...table, indexes: [index], stream: undefined };
  for (;;) {
    const rows = await tx.list<Item>(ITEMS, { prefix: itemsPrefix(table), after, limit: 500 });
    for (const row of rows) {
      if (keySuffix(row.value, index.key) === undefined) continue;
      // Writing the item again through writeItem adds its entry; counters stay equal.
      await writeItem(tx, only, row.value, row.value);
    }
    if (rows.length < 500) return;
    after = rows[rows.length - 1].key;
  }
}

function checkKeySchema(schema: KeySchemaElement[], where: string): void {
  if (schema.length < 1 || schema.length > 2) {
    throw validation(
      `1 validation error detected: Value '${JSON.stringify(schema)}' at '${where === 'KeySchema' ? 'keySchema' : where}' failed to satisfy constraint: Member must have length less than or equal to 2`,
    );
  }
  if (schema[0].KeyType !== 'HASH') {
    throw validation(`Invalid ${where}: The first KeySchemaElement is not a HASH key type`);
  }
  if (schema.length === 2) {
    if (schema[1].KeyType !== 'RANGE') {
      throw validation(`Invalid ${where}: The second KeySchemaElement is not a RANGE key type`);
    }
    if (schema[0].AttributeName === schema[1].AttributeName) {
      throw validation(
        `Invalid ${where}: The hash attribute and range attribute must be different`,
      );
    }
  }
}

function checkAttributeDefinitions(
  defs: AttributeDefinition[],
  keys: KeySchemaElement[],
  exact = true,
): void {
  const used = new Set(keys.map((k) => k.AttributeName));
  const defined = new Set(defs.map((d) => d.AttributeName));
  const missing = [...used].filter((n) => !defined.has(n));
  if (missing.length) {
    throw invalidParameter(
      `Some index key attributes are not defined in AttributeDefinitions. Keys: [${missing.join(', ')}], AttributeDefinitions: [${[...defined].join(', ')}]`,
    );
  }
  if (exact && defined.size !== used.size) {
    throw invalidParameter(
      'Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
  }
  if (defined.size !== defs.length) {
    throw invalidParameter('Cannot have two attributes with the same name');
  }
}

function checkThroughput(
  mode: 'PROVISIONED' | 'PAY_PER_REQUEST',
  throughput: ProvisionedThroughput | undefined,
  current: TableRecord | undefined,
): { read: number; write: number } {
  if (mode === 'PAY_PER_REQUEST') {
    if (throughput && (throughput.ReadCapacityUnits || throughput.WriteCapacityUnits)) {
      throw invalidParameter(
        'Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
      );
    }
    return { read: 0, write: 0 };
  }
  if (!throughput) {
    if (current && current.billingMode === 'PROVISIONED') return current.provisioned;
    throw validation('No provisioned throughput specified for the table');
  }
  if (throughput.ReadCapacityUnits < 1 || throughput.WriteCapacityUnits < 1) {
    throw invalidParameter(
      'Provisioned throughput must be at least 1 for both ReadCapacityUnits and WriteCapacityUnits',
    );
  }
  return { read: throughput.ReadCapacityUnits, write: throughput.WriteCapacityUnits };
}

function checkProjection(p: Projection, index: string): Projection {
  const type = p.ProjectionType ?? 'ALL';
  if (type === 'INCLUDE' && !p.NonKeyAttributes?.length) {
    throw invalidParameter(
      `NonKeyAttributes must be specified for ProjectionType INCLUDE; index: ${index}`,
    );
  }
  if (type !== 'INCLUDE' && p.NonKeyAttributes) {
    throw invalidParameter(`ProjectionType is ${type}, but NonKeyAttributes is specified`);
  }
  return type === 'INCLUDE'
    ? { ProjectionType: type, NonKeyAttributes: p.NonKeyAttributes }
    : { ProjectionType: type };
}

function localIndex(
  lsi: LocalSecondaryIndex,
  tableHash: string,
  tableHasRange: boolean,
  now: number,
): IndexRecord {
  if (!tableHasRange) {
    throw invalidParameter(
      'Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex',
    );
  }
  checkKeySchema(lsi.KeySchema, 'KeySchema');
  const key = keyDefOf(lsi.KeySchema);
  if (key.hash !== tableHash || !key.range) {
    throw invalidParameter(
      `Index KeySchema does not have the same leading hash key as table KeySchema for index: ${lsi.IndexName}. index hash key: ${key.hash}, table hash key: ${tableHash}`,
    );
  }
  return {
    name: lsi.IndexName,
    global: false,
    key,
    keySchema: lsi.KeySchema,
    projection: checkProjection(lsi.Projection, lsi.IndexName),
    createdAt: now,
  };
}

function globalIndex(
  gsi: GlobalSecondaryIndex,
  mode: 'PROVISIONED' | 'PAY_PER_REQUEST',
  now: number,
): IndexRecord {
  checkKeySchema(gsi.KeySchema, 'KeySchema');
  if (mode === 'PROVISIONED' && !gsi.ProvisionedThroughput) {
    throw invalidParameter(`ProvisionedThroughput must be specified for index: ${gsi.IndexName}`);
  }
  if (mode === 'PAY_PER_REQUEST' && gsi.ProvisionedThroughput) {
    throw invalidParameter(
      `ProvisionedThroughput should not be specified for index: ${gsi.IndexName} when BillingMode is PAY_PER_REQUEST`,
    );
  }
  return {
    name: gsi.IndexName,
    global: true,
    key: keyDefOf(gsi.KeySchema),
    keySchema: gsi.KeySchema,
    projection: checkProjection(gsi.Projection, gsi.IndexName),
    provisioned: gsi.ProvisionedThroughput
      ? {
          read: gsi.ProvisionedThroughput.ReadCapacityUnits,
          write: gsi.ProvisionedThroughput.WriteCapacityUnits,
        }
      : undefined,
    createdAt: now,
  };
}

function streamOf(spec: StreamSpecification | undefined, now: number): TableRecord['stream'] {
  if (!spec?.StreamEnabled) return undefined;
  if (!spec.StreamViewType) {
    throw validation(
      'One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true',
    );
  }
  return { viewType: spec.StreamViewType, label: new Date(now).toISOString().replace(/Z$/, '') };
}

export const streamArnOf = (table: TableRecord): string | undefined =>
  table.stream && `${tableArn(table)}/stream/${table.stream.label}`;

export function describeTable(
  table: TableRecord,
  stats: TableStats,
  status: TableStatus,
  indexStatus: 'CREATING' | 'ACTIVE' = 'ACTIVE',
): TableDescription {
  const arn = tableArn(table);
  const created = new Date(table.createdAt);
  const throughput = (p: { read: number; write: number } | undefined) => ({
    NumberOfDecreasesToday: 0,
    ReadCapacityUnits: p?.read ?? 0,
    WriteCapacityUnits: p?.write ?? 0,
  });
  const gsis = table.indexes.filter((i) => i.global);
  const lsis = table.indexes.filter((i) => !i.global);
  const out: TableDescription = {
    AttributeDefinitions: table.attributes,
    TableName: table.name,
    KeySchema: table.keySchema,
    TableStatus: status,
    CreationDateTime: created,
    ProvisionedThroughput: throughput(table.provisioned),
    TableSizeBytes: stats.bytes,
    ItemCount: stats.count,
    TableArn: arn,
    TableId: table.id,
    DeletionProtectionEnabled: table.deletionProtection,
  };
  if (table.billingMode === 'PAY_PER_REQUEST') {
    out.BillingModeSummary = {
      BillingMode: 'PAY_PER_REQUEST',
      LastUpdateToPayPerRequestDateTime: new Date(table.payPerRequestSince ?? table.createdAt),
    };
  }
  if (gsis.length) {
    out.GlobalSecondaryIndexes = gsis.map((i) => ({
      IndexName: i.name,
      KeySchema: i.keySchema,
      Projection: i.projection,
      IndexStatus: indexStatus,
      ProvisionedThroughput: throughput(i.provisioned),
      IndexSizeBytes: 0,
      ItemCount: 0,
      IndexArn: `${arn}/index/${i.name}`,
    }));
  }
  if (lsis.length) {
    out.LocalSecondaryIndexes = lsis.map((i) => ({
      IndexName: i.name,
      KeySchema: i.keySchema,
      Projection: i.projection,
      IndexSizeBytes: 0,
      ItemCount: 0,
      IndexArn: `${arn}/index/${i.name}`,
    }));
  }
  if (table.stream) {
    out.StreamSpecification = { StreamEnabled: true, StreamViewType: table.stream.viewType };
    out.LatestStreamLabel = table.stream.label;
    out.LatestStreamArn = streamArnOf(table);
  }
  if (table.tableClass) out.TableClassSummary = { TableClass: table.tableClass };
  if (table.sse?.enabled) {
    out.SSEDescription = {
      Status: 'ENABLED',
      SSEType: 'KMS',
      KMSMasterKeyArn:
        table.sse.kmsKey ?? `arn:aws:kms:${table.region}:${table.account}:key/${table.id}`,
    };
  }
  return out;
}
