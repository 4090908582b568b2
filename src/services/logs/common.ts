/**
 * What the logs operations share: AWS's exact error messages, ARNs, log group identifiers
 * and opaque paging tokens.
 */
import {
  InvalidParameterException,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '../../api/logs/errors.js';
import { buildArn, isAccountId, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { decodeToken as decodeJson, pageArray } from '../../shared/paging.js';
import type { MetadataStore } from '../../storage/types.js';
import type { Scope } from './store.js';
import type { LiveTailHub } from './live-tail.js';
import type { SubscriptionDelivery } from './subscription-delivery.js';
import type { ExportRunner } from './exports.js';
import type { ScheduledQueryRunner } from './scheduled-queries.js';
import type { IamDirectory } from '../iam/directory.js';

/** What the logs operation modules share. */
export interface LogsDeps {
  store: MetadataStore;
  /** Milliseconds since the epoch; tests pin it. */
  now(): number;
  /** Sends appended events to subscription filter destinations. */
  subscriptions?: SubscriptionDelivery;
  /** Open Live Tail sessions (the plugin's hub also sees what subscriptions see). */
  liveTail?: LiveTailHub;
  /** Writes export tasks to S3 (absent: CreateExportTask is refused). */
  exports?: ExportRunner;
  /** Runs scheduled queries on the scheduling clock (absent: stored, never run). */
  scheduledQueries?: ScheduledQueryRunner;
  /** Checks that the roles scheduled queries name exist. */
  iam?: IamDirectory;
}

export const groupNotFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException('The specified log group does not exist.');
export const streamNotFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException('The specified log stream does not exist.');
export const groupExists = (): ResourceAlreadyExistsException =>
  new ResourceAlreadyExistsException('The specified log group already exists');
export const streamExists = (): ResourceAlreadyExistsException =>
  new ResourceAlreadyExistsException('The specified log stream already exists');
export const invalidToken = (): InvalidParameterException =>
  new InvalidParameterException('The specified nextToken is invalid.');
export const invalid = (message: string): InvalidParameterException =>
  new InvalidParameterException(message);

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

/** `arn:aws:logs:<region>:<account>:log-group:<name>` (AWS's `logGroupArn`, no `:*`). */
export const groupArn = (scope: Scope, name: string): string =>
  buildArn('logs', scope.region, scope.account, `log-group:${name}`);

export const streamArn = (scope: Scope, group: string, stream: string): string =>
  `${groupArn(scope, group)}:log-stream:${stream}`;

const REGION = /^[\w-]+$/;
const GROUP_RESOURCE = /^log-group:([^:*]+)(?::\*)?$/;

export interface ParsedGroupArn {
  region: string;
  account: string;
  name: string;
}

export function parseGroupArn(arn: string): ParsedGroupArn | undefined {
  const parsed = logsArn(arn);
  const m = parsed && GROUP_RESOURCE.exec(parsed.resource);
  return m ? { region: parsed.region, account: parsed.account, name: m[1] } : undefined;
}

/** A CloudWatch Logs ARN of a region and account; undefined for any other. */
export function logsArn(arn: string): ReturnType<typeof parseArn> {
  const parsed = parseArn(arn);
  return parsed?.service === 'logs' && REGION.test(parsed.region) && isAccountId(parsed.account)
    ? parsed
    : undefined;
}

/**
 * The group an operation names, by `logGroupName` or by `logGroupIdentifier` (a name or an
 * ARN, with or without the trailing `:*`): "You must include either logGroupIdentifier or
 * logGroupName, but not both."
 */
export function resolveGroupName(
  input: { logGroupName?: string; logGroupIdentifier?: string },
  scope: Scope,
): string {
  const { logGroupName, logGroupIdentifier } = input;
  if (logGroupName !== undefined && logGroupIdentifier !== undefined) {
    throw invalid('LogGroup name and LogGroup ARN are mutually exclusive parameters.');
  }
  if (logGroupName !== undefined) return logGroupName;
  if (logGroupIdentifier === undefined) {
    throw invalid('Either logGroupName or logGroupIdentifier must be specified.');
  }
  if (!logGroupIdentifier.startsWith('arn:')) return logGroupIdentifier;
  const arn = parseGroupArn(logGroupIdentifier);
  if (!arn) throw invalid(`Invalid ARN: ${logGroupIdentifier}`);
  // A different account or region is a group this caller cannot see.
  if (arn.account !== scope.account || arn.region !== scope.region) throw groupNotFound();
  return arn.name;
}

/** A paging token's value (shared/paging.ts); InvalidParameterException when not ours. */
export function decodeToken<T>(token: string, valid: (v: unknown) => v is T): T {
  const value = decodeJson(token);
  if (!valid(value)) throw invalidToken();
  return value;
}

export const isString = (v: unknown): v is string => typeof v === 'string';

/** `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: …` */
export function validationError(member: string, value: unknown, constraint: string): Error {
  return invalid(
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

/** Page size: model-validated 1…max at the gateway, defaulted here. */
export function pageLimit(limit: number | undefined, max: number, member = 'limit'): number {
  if (limit === undefined) return max;
  if (!Number.isInteger(limit) || limit < 1) {
    throw validationError(member, limit, 'Member must have value greater than or equal to 1');
  }
  if (limit > max) {
    throw validationError(member, limit, `Member must have value less than or equal to ${max}`);
  }
  return limit;
}

/** One page of an in-memory list in its final order, with an opaque `nextToken`. */
export function pageList<V>(
  all: readonly V[],
  keyOf: (v: V) => string,
  nextToken: string | undefined,
  limit: number | undefined,
  max: number,
): { items: V[]; nextToken?: string } {
  const page = pageArray(all, keyOf, {
    marker: nextToken || undefined,
    max: pageLimit(limit, max),
    resume: 'after',
    invalid: invalidToken,
  });
  return page.next === undefined
    ? { items: page.items }
    : { items: page.items, nextToken: page.next };
}

/** A policy document must be JSON (AWS: "Invalid policy document"). */
export function checkJsonDocument(doc: string, what = 'policy document'): void {
  try {
    JSON.parse(doc);
  } catch {
    throw invalid(`Invalid ${what}: the document is not valid JSON.`);
  }
}
