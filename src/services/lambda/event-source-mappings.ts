/**
 * Event source mappings: CreateEventSourceMapping and the rest of its API, for the event
 * sources Stratus has (DynamoDB streams); others are refused. The poller that reads the
 * streams and invokes the functions is in event-source-poller.ts.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import { randomUUID } from 'node:crypto';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  CreateEventSourceMappingRequest,
  EventSourceMappingConfiguration,
  FilterCriteria,
} from '../../api/lambda/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { decodeToken, encodeToken } from '../../shared/paging.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import type { DynamoStreamSource } from '../dynamodb/plugin.js';
import { invalidParameter, notFound } from './errors.js';
import type { LambdaFunctions } from './functions-api.js';
import { parsePattern } from './event-filter.js';

export const MAPPINGS = 'lambda_event_source_mappings';

export interface MappingRecord {
  uuid: string;
  account: string;
  region: string;
  functionArn: string;
  eventSourceArn: string;
  batchSize: number;
  maxBatchingWindow: number;
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  enabled: boolean;
  filterCriteria?: FilterCriteria;
  functionResponseTypes: 'ReportBatchItemFailures'[];
  maxRetryAttempts: number;
  maxRecordAge: number;
  bisect: boolean;
  parallelization: number;
  tumblingWindow: number;
  destinationConfig?: EventSourceMappingConfiguration['DestinationConfig'];
  tags: Record<string, string>;
  lastModified: number;
  lastProcessingResult: string;
  /** The last stream sequence number handled ('' = none yet). */
  position: string;
  /** Failed attempts at the batch starting after `position`. */
  attempts: number;
}

export const mappingKey = (account: string, region: string, uuid: string) =>
  `${account}/${region}/${uuid}`;

type MappingOps = Pick<
  LambdaOperations,
  | 'CreateEventSourceMapping'
  | 'GetEventSourceMapping'
  | 'UpdateEventSourceMapping'
  | 'DeleteEventSourceMapping'
  | 'ListEventSourceMappings'
>;

export interface MappingDeps {
  store: MetadataStore;
  functions: LambdaFunctions;
  streams: DynamoStreamSource;
  now(): number;
  /** Wakes the poller after a change. */
  changed(): void;
}

export function describeMapping(m: MappingRecord, state?: string): EventSourceMappingConfiguration {
  return {
    UUID: m.uuid,
    StartingPosition: m.startingPosition,
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.maxBatchingWindow,
    ParallelizationFactor: m.parallelization,
    EventSourceArn: m.eventSourceArn,
    FilterCriteria: m.filterCriteria,
    FunctionArn: m.functionArn,
    LastModified: new Date(m.lastModified),
    LastProcessingResult: m.lastProcessingResult,
    State: state ?? (m.enabled ? 'Enabled' : 'Disabled'),
    StateTransitionReason: 'User action',
    DestinationConfig: m.destinationConfig ?? { OnFailure: {} },
    MaximumRecordAgeInSeconds: m.maxRecordAge,
    BisectBatchOnFunctionError: m.bisect,
    MaximumRetryAttempts: m.maxRetryAttempts,
    TumblingWindowInSeconds: m.tumblingWindow,
    FunctionResponseTypes: m.functionResponseTypes,
    EventSourceMappingArn: buildArn(
      'lambda',
      m.region,
      m.account,
      `event-source-mapping:${m.uuid}`,
    ),
  };
}

function checkFilters(f: FilterCriteria | undefined): void {
  for (const filter of f?.Filters ?? []) {
    try {
      parsePattern(filter.Pattern ?? '');
    } catch {
      throw invalidParameter(`Invalid filter pattern definition.`);
    }
  }
}

function checkNumbers(input: Partial<CreateEventSourceMappingRequest>): void {
  if (input.BatchSize !== undefined && (input.BatchSize < 1 || input.BatchSize > 10000)) {
    throw invalidParameter(
      'BatchSize must be between 1 and 10000 for DynamoDB stream event sources.',
    );
  }
  const age = input.MaximumRecordAgeInSeconds;
  if (age !== undefined && age !== -1 && (age < 60 || age > 604800)) {
    throw invalidParameter('MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.');
  }
}

export function mappingOperations(deps: MappingDeps): MappingOps {
  const { store } = deps;

  async function load(ctx: RequestContext, uuid: string): Promise<MappingRecord> {
    const m = await store.get<MappingRecord>(MAPPINGS, mappingKey(ctx.account, ctx.region, uuid));
    if (!m) throw notFound(`The resource you requested does not exist.`);
    return m;
  }

  return {
    async CreateEventSourceMapping(input, ctx) {
      const source = input.EventSourceArn;
      if (!source)
        throw invalidParameter('Unrecognized event source, must be a DynamoDB stream ARN.');
      const arn = parseArn(source);
      if (!arn || arn.service !== 'dynamodb' || !arn.resource.includes('/stream/')) {
        throw invalidParameter(
          `Unrecognized event source: ${source}. Stratus has DynamoDB streams as event sources; SQS, Kinesis, Kafka, MQ and DocumentDB are not implemented.`,
        );
      }
      const stream = await deps.streams.get(source);
      if (!stream || stream.account !== ctx.account || stream.region !== ctx.region) {
        throw invalidParameter(`Stream not found: ${source}`);
      }
      if (!input.StartingPosition) {
        throw invalidParameter('StartingPosition is required for DynamoDB stream event sources.');
      }
      if (input.StartingPosition === 'AT_TIMESTAMP') {
        throw invalidParameter(
          'Unsupported starting position for DynamoDB stream event sources: AT_TIMESTAMP',
        );
      }
      checkNumbers(input);
      checkFilters(input.FilterCriteria);
      const target = await deps.functions.resolve(ctx, input.FunctionName);
      const now = deps.now();
      const m: MappingRecord = {
        uuid: randomUUID(),
        account: ctx.account,
        region: ctx.region,
        functionArn: target.invokedFunctionArn,
        eventSourceArn: source,
        batchSize: input.BatchSize ?? 100,
        maxBatchingWindow: input.MaximumBatchingWindowInSeconds ?? 0,
        startingPosition: input.StartingPosition,
        enabled: input.Enabled ?? true,
        filterCriteria: input.FilterCriteria,
        functionResponseTypes: (input.FunctionResponseTypes ?? []) as 'ReportBatchItemFailures'[],
        maxRetryAttempts: input.MaximumRetryAttempts ?? -1,
        maxRecordAge: input.MaximumRecordAgeInSeconds ?? -1,
        bisect: input.BisectBatchOnFunctionError ?? false,
        parallelization: input.ParallelizationFactor ?? 1,
        tumblingWindow: input.TumblingWindowInSeconds ?? 0,
        destinationConfig: input.DestinationConfig,
        tags: input.Tags ?? {},
        lastModified: now,
        lastProcessingResult: 'No records processed',
        position: input.StartingPosition === 'LATEST' ? await deps.streams.latest(stream) : '',
        attempts: 0,
      };
      await store.put(MAPPINGS, mappingKey(m.account, m.region, m.uuid), m);
      deps.changed();
      return describeMapping(m, 'Creating');
    },

    async GetEventSourceMapping(input, ctx) {
      return describeMapping(await load(ctx, input.UUID));
    },

    async UpdateEventSourceMapping(input, ctx) {
      checkNumbers(input);
      checkFilters(input.FilterCriteria);
      const m = await store.transaction(async (tx) => {
        const key = mappingKey(ctx.account, ctx.region, input.UUID);
        const m = await tx.get<MappingRecord>(MAPPINGS, key);
        if (!m) throw notFound('The resource you requested does not exist.');
        if (input.FunctionName) {
          m.functionArn = (
            await deps.functions.resolve(ctx, input.FunctionName)
          ).invokedFunctionArn;
        }
        if (input.Enabled !== undefined) m.enabled = input.Enabled;
        if (input.BatchSize !== undefined) m.batchSize = input.BatchSize;
        if (input.MaximumBatchingWindowInSeconds !== undefined) {
          m.maxBatchingWindow = input.MaximumBatchingWindowInSeconds;
        }
        if (input.FilterCriteria !== undefined) m.filterCriteria = input.FilterCriteria;
        if (input.FunctionResponseTypes !== undefined) {
          m.functionResponseTypes = input.FunctionResponseTypes as 'ReportBatchItemFailures'[];
        }
        if (input.MaximumRetryAttempts !== undefined)
          m.maxRetryAttempts = input.MaximumRetryAttempts;
        if (input.MaximumRecordAgeInSeconds !== undefined)
          m.maxRecordAge = input.MaximumRecordAgeInSeconds;
        if (input.BisectBatchOnFunctionError !== undefined)
          m.bisect = input.BisectBatchOnFunctionError;
        if (input.ParallelizationFactor !== undefined)
          m.parallelization = input.ParallelizationFactor;
        if (input.TumblingWindowInSeconds !== undefined)
          m.tumblingWindow = input.TumblingWindowInSeconds;
        if (input.DestinationConfig !== undefined) m.destinationConfig = input.DestinationConfig;
        m.lastModified = deps.now();
        await tx.put(MAPPINGS, key, m);
        return m;
      });
      deps.changed();
      return describeMapping(m, 'Updating');
    },

    async DeleteEventSourceMapping(input, ctx) {
      const m = await load(ctx, input.UUID);
      await store.delete(MAPPINGS, mappingKey(ctx.account, ctx.region, input.UUID));
      deps.changed();
      return describeMapping(m, 'Deleting');
    },

    async ListEventSourceMappings(input, ctx) {
      const rows = await store.list<MappingRecord>(MAPPINGS, {
        prefix: `${ctx.account}/${ctx.region}/`,
      });
      let wantFunction: string | undefined;
      if (input.FunctionName) {
        wantFunction = (await deps.functions.resolve(ctx, input.FunctionName)).functionArn;
      }
      const all = rows
        .map((r) => r.value)
        .filter((m) => !input.EventSourceArn || m.eventSourceArn === input.EventSourceArn)
        .filter((m) => !wantFunction || m.functionArn.startsWith(wantFunction))
        .sort((a, b) => a.lastModified - b.lastModified || (a.uuid < b.uuid ? -1 : 1));
      const start = input.Marker ? Number(decodeToken(input.Marker)) : 0;
      if (!Number.isInteger(start) || start < 0) throw invalidParameter('Invalid marker');
      const max = input.MaxItems ?? 100;
      const page = all.slice(start, start + max);
      return {
        EventSourceMappings: page.map((m) => describeMapping(m)),
        NextMarker: start + max < all.length ? encodeToken(start + max) : undefined,
      };
    },
  };
}

/** `arn:aws:lambda:<region>:<account>:event-source-mapping:<uuid>`, or undefined. */
export function parseMappingArn(
  arn: string,
): { account: string; region: string; uuid: string } | undefined {
  const p = parseArn(arn);
  const m = /^event-source-mapping:([0-9a-f-]{36})$/.exec(p?.resource ?? '');
  if (!p || p.service !== 'lambda' || !m) return undefined;
  return { account: p.account, region: p.region, uuid: m[1] };
}

/** A mapping's tags (edited in place when `edit` is given); not found in AWS's words. */
export async function editMappingTags(
  ops: MetadataOps,
  caller: { account: string; region: string },
  arn: string,
  edit?: (tags: Record<string, string>) => void,
): Promise<Record<string, string>> {
  const ref = parseMappingArn(arn);
  const key = ref && mappingKey(ref.account, ref.region, ref.uuid);
  const m =
    ref && ref.account === caller.account && ref.region === caller.region && key
      ? await ops.get<MappingRecord>(MAPPINGS, key)
      : undefined;
  if (!m || !key) throw notFound('The resource you requested does not exist.');
  if (edit) {
    edit(m.tags);
    await ops.put(MAPPINGS, key, m);
  }
  return m.tags;
}
