/**
 * Scheduled queries: a Logs Insights query run on a `rate(…)` or `cron(…)` expression on the
 * scheduling clock (the one EventBridge rules fire on, so `stratus clock` moves it), over
 * its log groups from `startTimeOffset` seconds before the firing to the firing, with the
 * results written to the S3 URI of its destination through S3's own PutObject.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateScheduledQuery.html
 *
 * Stratus's S3 layout (AWS does not document one): `<uri prefix>/<query name>/<queryId>.json`,
 * the result rows as a JSON array of `{field: value}` objects.
 */
import { randomUUID } from 'node:crypto';
import {
  AccessDeniedException,
  ConflictException,
  ResourceNotFoundException,
  ValidationException,
} from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  CreateScheduledQueryRequest,
  ExecutionStatus,
  GetScheduledQueryResponse,
  ScheduledQueryDestination,
  ScheduledQuerySummary,
  TriggerHistoryRecord,
} from '../../api/logs/types.js';
import type { SchedulingClock } from '../../events/clock.js';
import {
  isTimeZone,
  nextFiring,
  parseScheduleExpression,
  ScheduleExpressionError,
  type ScheduleExpression,
} from '../../events/schedule-expression.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import type { S3ObjectWriter } from '../s3/object-source.js';
import { type LogsDeps, pageList, scopeOf } from './common.js';
import { serviceContext } from './exports.js';
import { compile, resolveGroups, runQueryOnce } from './queries.js';
import { scopePrefix } from './store.js';

export const SCHEDULED_QUERIES = 'logs_scheduled_queries';
/** Keyed `<scope>:<id>:<15-digit trigger time>:<queryId>`. */
const HISTORY = 'logs_scheduled_query_history';

type Ops = Pick<
  LogsOperations,
  | 'CreateScheduledQuery'
  | 'GetScheduledQuery'
  | 'UpdateScheduledQuery'
  | 'DeleteScheduledQuery'
  | 'ListScheduledQueries'
  | 'GetScheduledQueryHistory'
>;

export interface ScheduledQueryRecord extends Omit<
  GetScheduledQueryResponse,
  'scheduledQueryArn' | 'name' | 'state'
> {
  scheduledQueryArn: string;
  id: string;
  name: string;
  account: string;
  region: string;
  state: 'ENABLED' | 'DISABLED';
  creationTime: number;
  lastUpdatedTime: number;
  tags: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9_\-/.#]{1,255}$/;
const S3_URI = /^s3:\/\/([a-z0-9][.\-a-z0-9]{1,61}[a-z0-9])(?:\/(.*))?$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** Stratus's window when `startTimeOffset` is omitted: the 15 minutes before the firing. */
const DEFAULT_OFFSET_S = 900;
/** History kept per scheduled query (oldest dropped first). */
const MAX_HISTORY = 1000;

const notFound = (identifier: string) =>
  new ResourceNotFoundException(`Scheduled query ${identifier} does not exist.`);

function expression(text: string, timeZone: string | undefined): ScheduleExpression {
  try {
    return parseScheduleExpression(text, { timeZone: timeZone ?? 'UTC' });
  } catch (err) {
    if (err instanceof ScheduleExpressionError || err instanceof RangeError) {
      throw new ValidationException(`Invalid schedule expression: ${text}`);
    }
    throw err;
  }
}

/** Runs enabled scheduled queries on the clock and records their history. */
export class ScheduledQueryRunner {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: SchedulingClock | undefined,
    private readonly s3: S3ObjectWriter | undefined,
    private readonly warn: (msg: string, err: unknown) => void = () => undefined,
  ) {}

  now(): number {
    return this.clock?.now() ?? Date.now();
  }

  async load(): Promise<void> {
    for (const { value } of await this.store.list<ScheduledQueryRecord>(SCHEDULED_QUERIES)) {
      this.sync(value);
    }
  }

  /** (Re)schedules a query after a change; removes it when disabled or deleted. */
  sync(rec: ScheduledQueryRecord | undefined, arn = rec?.scheduledQueryArn): void {
    if (!this.clock || arn === undefined) return;
    if (!rec || rec.state === 'DISABLED') {
      this.clock.remove(arn);
      return;
    }
    const expr = expression(rec.scheduleExpression ?? '', rec.timezone);
    const anchor = rec.scheduleStartTime ?? rec.creationTime;
    const after = (t: number): number | undefined => {
      const from = rec.scheduleStartTime !== undefined ? Math.max(t, rec.scheduleStartTime - 1) : t;
      const next = nextFiring(expr, from, anchor);
      return next === undefined || (rec.scheduleEndTime !== undefined && next > rec.scheduleEndTime)
        ? undefined
        : next;
    };
    const key = scopePrefix(rec) + rec.id;
    this.clock.set(arn, after(this.clock.now()), async (at) => {
      await this.fire(key, at);
      return after(at);
    });
  }

  /** One execution: the query over its window, the results to S3, a history record. */
  async fire(key: string, at: number): Promise<void> {
    const rec = await this.store.get<ScheduledQueryRecord>(SCHEDULED_QUERIES, key);
    if (!rec || rec.state === 'DISABLED') return;
    const scope = { account: rec.account, region: rec.region };
    const offset = rec.startTimeOffset ?? DEFAULT_OFFSET_S;
    const history: TriggerHistoryRecord = { triggeredTimestamp: at, destinations: [] };
    let status: ExecutionStatus;
    try {
      const result = await runQueryOnce(
        this.store,
        scope,
        rec.logGroupIdentifiers ?? [],
        rec.queryString ?? '',
        Math.floor(at / 1000) - offset,
        Math.floor(at / 1000),
        () => this.now(),
      );
      history.queryId = result.id;
      status =
        result.status === 'Complete'
          ? 'Complete'
          : result.status === 'Timeout'
            ? 'Timeout'
            : 'Failed';
      const s3 = rec.destinationConfiguration?.s3Configuration;
      if (status === 'Complete' && s3) {
        history.destinations = [await this.deliver(rec, s3.destinationIdentifier, result)];
      }
    } catch (err) {
      status = 'Failed';
      history.errorMessage = err instanceof Error ? err.message : String(err);
    }
    history.executionStatus = status;
    await this.store.transaction(async (tx) => {
      const current = await tx.get<ScheduledQueryRecord>(SCHEDULED_QUERIES, key);
      if (!current) return;
      current.lastTriggeredTime = at;
      current.lastExecutionStatus = status;
      await tx.put(SCHEDULED_QUERIES, key, current);
      const hKey = `${key}:${String(at).padStart(15, '0')}:${history.queryId ?? randomUUID()}`;
      await tx.put(HISTORY, hKey, history);
    });
    await this.prune(key).catch((err: unknown) => this.warn('could not prune history', err));
  }

  private async deliver(
    rec: ScheduledQueryRecord,
    uri: string,
    result: { id: string; rows: { field?: string; value?: string }[][] },
  ): Promise<ScheduledQueryDestination> {
    const out: ScheduledQueryDestination = { destinationType: 'S3', destinationIdentifier: uri };
    const m = S3_URI.exec(uri);
    if (!m || !this.s3) {
      return { ...out, status: 'CLIENT_ERROR', errorMessage: `Cannot write to ${uri}` };
    }
    const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
    const objectKey = `${prefix ? prefix + '/' : ''}${rec.name}/${result.id}.json`;
    const rows = result.rows.map((r) =>
      Object.fromEntries(r.map((f) => [f.field ?? '', f.value ?? ''])),
    );
    const res = await this.s3.write(
      serviceContext(rec.account, rec.region),
      { bucket: m[1], key: objectKey },
      Buffer.from(JSON.stringify(rows)),
      'application/json',
    );
    return res.ok
      ? { ...out, status: 'COMPLETE', processedIdentifier: `s3://${m[1]}/${objectKey}` }
      : { ...out, status: 'CLIENT_ERROR', errorMessage: `${res.code}: ${res.message}` };
  }

  private async prune(key: string): Promise<void> {
    const rows = await this.store.list(HISTORY, { prefix: key + ':' });
    for (const { key: k } of rows.slice(0, Math.max(0, rows.length - MAX_HISTORY))) {
      await this.store.delete(HISTORY, k);
    }
  }

  async history(key: string): Promise<TriggerHistoryRecord[]> {
    const rows = await this.store.list<TriggerHistoryRecord>(HISTORY, { prefix: key + ':' });
    return rows.map((r) => r.value);
  }

  async forget(key: string): Promise<void> {
    await this.store.deletePrefix(HISTORY, key + ':');
  }
}

export function scheduledQueryOperations(deps: LogsDeps): Ops {
  const { store } = deps;
  const runner = deps.scheduledQueries ?? new ScheduledQueryRunner(store, undefined, undefined);

  /** The stored record an identifier (name or ARN) names in the caller's scope. */
  async function find(
    ctx: RequestContext,
    identifier: string,
  ): Promise<{ key: string; rec: ScheduledQueryRecord }> {
    const prefix = scopePrefix(scopeOf(ctx));
    if (identifier.startsWith('arn:')) {
      const p = parseArn(identifier);
      const id = /^scheduled-query:([\w-]+)$/.exec(p?.resource ?? '')?.[1];
      if (!p || id === undefined || p.account !== ctx.account || p.region !== ctx.region) {
        throw notFound(identifier);
      }
      const rec = await store.get<ScheduledQueryRecord>(SCHEDULED_QUERIES, prefix + id);
      if (!rec) throw notFound(identifier);
      return { key: prefix + id, rec };
    }
    const rows = await store.list<ScheduledQueryRecord>(SCHEDULED_QUERIES, { prefix });
    const hit = rows.find((r) => r.value.name === identifier);
    if (!hit) throw notFound(identifier);
    return { key: hit.key, rec: hit.value };
  }

  /** The checks Create and Update share: query, groups, schedule, roles and destination. */
  async function check(
    ctx: RequestContext,
    input: Omit<CreateScheduledQueryRequest, 'name' | 'tags'>,
  ): Promise<void> {
    if (input.queryLanguage !== 'CWLI') {
      throw new ValidationException(
        `Query language ${input.queryLanguage} is not supported by Stratus; use CWLI.`,
      );
    }
    compile(input.queryString);
    const groups = input.logGroupIdentifiers ?? [];
    if (groups.length < 1 || groups.length > 50) {
      throw new ValidationException(
        'logGroupIdentifiers must contain between 1 and 50 log groups.',
      );
    }
    if (input.timezone !== undefined && !isTimeZone(input.timezone)) {
      throw new ValidationException(`Invalid timezone: ${input.timezone}`);
    }
    expression(input.scheduleExpression, input.timezone);
    // The groups must exist now (they are looked up again at each run).
    await resolveGroups(
      store,
      { logGroupIdentifiers: groups, queryString: input.queryString, startTime: 0, endTime: 0 },
      scopeOf(ctx),
    );
    if (
      input.scheduleStartTime !== undefined &&
      input.scheduleEndTime !== undefined &&
      input.scheduleEndTime <= input.scheduleStartTime
    ) {
      throw new ValidationException('scheduleEndTime must be after scheduleStartTime.');
    }
    if (input.startTimeOffset !== undefined && input.startTimeOffset < 0) {
      throw new ValidationException('startTimeOffset must not be negative.');
    }
    const roles = [input.executionRoleArn];
    const s3 = input.destinationConfiguration?.s3Configuration;
    if (s3) {
      if (!S3_URI.test(s3.destinationIdentifier)) {
        throw new ValidationException(
          `Invalid S3 URI: ${s3.destinationIdentifier}. Expected s3://<bucket>[/<prefix>].`,
        );
      }
      roles.push(s3.roleArn);
    }
    for (const role of roles) {
      if (!ROLE_ARN.test(role)) throw new ValidationException(`Invalid role ARN: ${role}`);
      if (deps.iam && parseArn(role)?.account === ctx.account) {
        if (!(await deps.iam.findRole(ctx.account, role))) {
          throw new AccessDeniedException(
            `Unable to assume role ${role}: the role does not exist.`,
          );
        }
      }
    }
  }

  const view = (r: ScheduledQueryRecord): GetScheduledQueryResponse => {
    const { id: _i, account: _a, region: _r, tags: _t, ...out } = r;
    return out;
  };

  return {
    async CreateScheduledQuery(input, ctx) {
      if (!NAME.test(input.name)) {
        throw new ValidationException(
          `1 validation error detected: Value '${input.name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-/.#]+$`,
        );
      }
      await check(ctx, input);
      const prefix = scopePrefix(scopeOf(ctx));
      const id = randomUUID();
      const now = runner.now();
      const { tags, ...fields } = input;
      const rec: ScheduledQueryRecord = {
        ...fields,
        scheduledQueryArn: buildArn('logs', ctx.region, ctx.account, `scheduled-query:${id}`),
        id,
        account: ctx.account,
        region: ctx.region,
        state: input.state ?? 'ENABLED',
        creationTime: now,
        lastUpdatedTime: now,
        tags: tags ?? {},
      };
      await store.transaction(async (tx) => {
        const rows = await tx.list<ScheduledQueryRecord>(SCHEDULED_QUERIES, { prefix });
        if (rows.some((r) => r.value.name === input.name)) {
          throw new ConflictException(`A scheduled query named ${input.name} already exists.`);
        }
        await tx.put(SCHEDULED_QUERIES, prefix + id, rec);
      });
      runner.sync(rec);
      return { scheduledQueryArn: rec.scheduledQueryArn, state: rec.state };
    },

    async GetScheduledQuery(input, ctx) {
      return view((await find(ctx, input.identifier)).rec);
    },

    async UpdateScheduledQuery(input, ctx) {
      const { key } = await find(ctx, input.identifier);
      await check(ctx, input);
      const updated = await store.transaction(async (tx) => {
        const rec = await tx.get<ScheduledQueryRecord>(SCHEDULED_QUERIES, key);
        if (!rec) throw notFound(input.identifier);
        const { identifier: _id, ...fields } = input;
        // Update replaces the definition: optional members left out are cleared.
        const next: ScheduledQueryRecord = {
          scheduledQueryArn: rec.scheduledQueryArn,
          id: rec.id,
          name: rec.name,
          account: rec.account,
          region: rec.region,
          creationTime: rec.creationTime,
          tags: rec.tags,
          ...fields,
          state: input.state ?? rec.state,
          lastUpdatedTime: runner.now(),
        };
        if (rec.lastTriggeredTime !== undefined) next.lastTriggeredTime = rec.lastTriggeredTime;
        if (rec.lastExecutionStatus !== undefined)
          next.lastExecutionStatus = rec.lastExecutionStatus;
        await tx.put(SCHEDULED_QUERIES, key, next);
        return next;
      });
      runner.sync(updated);
      return view(updated);
    },

    async DeleteScheduledQuery(input, ctx) {
      const { key, rec } = await find(ctx, input.identifier);
      await store.delete(SCHEDULED_QUERIES, key);
      await runner.forget(key);
      runner.sync(undefined, rec.scheduledQueryArn);
      return {};
    },

    async ListScheduledQueries(input, ctx) {
      const rows = await store.list<ScheduledQueryRecord>(SCHEDULED_QUERIES, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const all = rows
        .map((r) => r.value)
        .filter((r) => input.state === undefined || r.state === input.state)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const page = pageList(all, (r) => r.name, input.nextToken, input.maxResults, 1000);
      const scheduledQueries: ScheduledQuerySummary[] = page.items.map((r) => {
        const s: ScheduledQuerySummary = {
          scheduledQueryArn: r.scheduledQueryArn,
          name: r.name,
          state: r.state,
          scheduleExpression: r.scheduleExpression,
          creationTime: r.creationTime,
          lastUpdatedTime: r.lastUpdatedTime,
        };
        if (r.timezone !== undefined) s.timezone = r.timezone;
        if (r.destinationConfiguration) s.destinationConfiguration = r.destinationConfiguration;
        if (r.lastTriggeredTime !== undefined) s.lastTriggeredTime = r.lastTriggeredTime;
        if (r.lastExecutionStatus !== undefined) s.lastExecutionStatus = r.lastExecutionStatus;
        return s;
      });
      return page.nextToken === undefined
        ? { scheduledQueries }
        : { scheduledQueries, nextToken: page.nextToken };
    },

    async GetScheduledQueryHistory(input, ctx) {
      const { key, rec } = await find(ctx, input.identifier);
      if (input.endTime < input.startTime) {
        throw new ValidationException('endTime must not be before startTime.');
      }
      const statuses = input.executionStatuses;
      const all = (await runner.history(key))
        .filter((h) => {
          const t = h.triggeredTimestamp ?? 0;
          return t >= input.startTime && t <= input.endTime;
        })
        .filter((h) => !statuses?.length || statuses.includes(h.executionStatus ?? 'Failed'))
        .reverse();
      const page = pageList(
        all,
        // Newest first, so the paging key counts down from the largest timestamp.
        (h) => `${String(1e15 - (h.triggeredTimestamp ?? 0)).padStart(16, '0')}:${h.queryId ?? ''}`,
        input.nextToken,
        input.maxResults,
        1000,
      );
      const out = {
        name: rec.name,
        scheduledQueryArn: rec.scheduledQueryArn,
        triggerHistory: page.items,
      };
      return page.nextToken === undefined ? out : { ...out, nextToken: page.nextToken };
    },
  };
}
