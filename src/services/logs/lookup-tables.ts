/**
 * Lookup tables: CSV reference data (a header row of column names, UTF-8, at most 10 MB)
 * stored per account and region, for Logs Insights' `lookup` command.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLookupTable.html
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Lookup.html
 * The Insights engine does not run `lookup` yet: queries using it fail to parse.
 */
import {
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type { GetLookupTableResponse, LookupTable } from '../../api/logs/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { invalid, type LogsDeps, pageList, scopeOf, validationError } from './common.js';
import { scopePrefix } from './store.js';

export const LOOKUP_TABLES = 'logs_lookup_tables';

type Ops = Pick<
  LogsOperations,
  | 'CreateLookupTable'
  | 'GetLookupTable'
  | 'UpdateLookupTable'
  | 'DeleteLookupTable'
  | 'DescribeLookupTables'
>;

interface LookupTableRecord extends Required<
  Pick<
    GetLookupTableResponse,
    'lookupTableArn' | 'lookupTableName' | 'tableBody' | 'sizeBytes' | 'lastUpdatedTime'
  >
> {
  description?: string;
  kmsKeyId?: string;
  tableFields: string[];
  recordsCount: number;
  tags: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9_]{1,256}$/;
/** "…use UTF-8 encoding, and not exceed 10 MB." */
const MAX_BYTES = 10 * 1024 * 1024;

const notFound = () => new ResourceNotFoundException('The specified lookup table does not exist.');

/** The header's column names and the number of data rows; refuses a body without a header. */
function parseTable(body: string): { fields: string[]; records: number; bytes: number } {
  const bytes = Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_BYTES) throw invalid('The lookup table body must not exceed 10 MB.');
  const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1')) ?? [];
  if (header.length === 0 || header.some((f) => f === '')) {
    throw invalid('The lookup table body must be CSV with a header row of column names.');
  }
  if (new Set(header).size !== header.length) {
    throw invalid('The header row of the lookup table has duplicate column names.');
  }
  return { fields: header, records: lines.length - 1, bytes };
}

export function lookupTableOperations(deps: LogsDeps): Ops {
  const { store } = deps;

  function keyOf(ctx: RequestContext, arn: string): string {
    const p = parseArn(arn);
    const name = /^lookup-table:([a-zA-Z0-9_]+)$/.exec(p?.resource ?? '')?.[1];
    if (!p || name === undefined || p.account !== ctx.account || p.region !== ctx.region) {
      throw notFound();
    }
    return scopePrefix(scopeOf(ctx)) + name;
  }

  const summary = (r: LookupTableRecord): LookupTable => {
    const out: LookupTable = {
      lookupTableArn: r.lookupTableArn,
      lookupTableName: r.lookupTableName,
      tableFields: r.tableFields,
      recordsCount: r.recordsCount,
      sizeBytes: r.sizeBytes,
      lastUpdatedTime: r.lastUpdatedTime,
    };
    if (r.description !== undefined) out.description = r.description;
    if (r.kmsKeyId !== undefined) out.kmsKeyId = r.kmsKeyId;
    return out;
  };

  return {
    async CreateLookupTable(input, ctx) {
      if (!NAME.test(input.lookupTableName)) {
        throw validationError(
          'lookupTableName',
          input.lookupTableName,
          'Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$',
        );
      }
      const t = parseTable(input.tableBody);
      const now = deps.now();
      const rec: LookupTableRecord = {
        lookupTableArn: buildArn(
          'logs',
          ctx.region,
          ctx.account,
          `lookup-table:${input.lookupTableName}`,
        ),
        lookupTableName: input.lookupTableName,
        tableBody: input.tableBody,
        sizeBytes: t.bytes,
        tableFields: t.fields,
        recordsCount: t.records,
        lastUpdatedTime: now,
        tags: input.tags ?? {},
      };
      if (input.description !== undefined) rec.description = input.description;
      if (input.kmsKeyId !== undefined) rec.kmsKeyId = input.kmsKeyId;
      const key = scopePrefix(scopeOf(ctx)) + input.lookupTableName;
      await store.transaction(async (tx) => {
        if (await tx.get(LOOKUP_TABLES, key)) {
          throw new ResourceAlreadyExistsException('The specified lookup table already exists.');
        }
        await tx.put(LOOKUP_TABLES, key, rec);
      });
      return { lookupTableArn: rec.lookupTableArn, createdAt: now };
    },

    async GetLookupTable(input, ctx) {
      const rec = await store.get<LookupTableRecord>(
        LOOKUP_TABLES,
        keyOf(ctx, input.lookupTableArn),
      );
      if (!rec) throw notFound();
      const out: GetLookupTableResponse = {
        lookupTableArn: rec.lookupTableArn,
        lookupTableName: rec.lookupTableName,
        tableBody: rec.tableBody,
        sizeBytes: rec.sizeBytes,
        lastUpdatedTime: rec.lastUpdatedTime,
      };
      if (rec.description !== undefined) out.description = rec.description;
      if (rec.kmsKeyId !== undefined) out.kmsKeyId = rec.kmsKeyId;
      return out;
    },

    async UpdateLookupTable(input, ctx) {
      const key = keyOf(ctx, input.lookupTableArn);
      const t = parseTable(input.tableBody);
      const now = deps.now();
      await store.transaction(async (tx) => {
        const rec = await tx.get<LookupTableRecord>(LOOKUP_TABLES, key);
        if (!rec) throw notFound();
        rec.tableBody = input.tableBody;
        rec.sizeBytes = t.bytes;
        rec.tableFields = t.fields;
        rec.recordsCount = t.records;
        rec.lastUpdatedTime = now;
        if (input.description !== undefined) rec.description = input.description;
        if (input.kmsKeyId !== undefined) rec.kmsKeyId = input.kmsKeyId;
        await tx.put(LOOKUP_TABLES, key, rec);
      });
      return { lookupTableArn: input.lookupTableArn, lastUpdatedTime: now };
    },

    async DeleteLookupTable(input, ctx) {
      const key = keyOf(ctx, input.lookupTableArn);
      if (!(await store.delete(LOOKUP_TABLES, key))) throw notFound();
    },

    async DescribeLookupTables(input, ctx) {
      const rows = await store.list<LookupTableRecord>(LOOKUP_TABLES, {
        prefix: scopePrefix(scopeOf(ctx)) + (input.lookupTableNamePrefix ?? ''),
      });
      const page = pageList(
        rows.map((r) => summary(r.value)),
        (t) => t.lookupTableName ?? '',
        input.nextToken,
        input.maxResults,
        100,
      );
      return page.nextToken === undefined
        ? { lookupTables: page.items }
        : { lookupTables: page.items, nextToken: page.nextToken };
    },
  };
}
