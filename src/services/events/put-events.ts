/**
 * PutEvents: up to 10 entries, 256 KB in all, each accepted (an EventId) or refused with
 * its own ErrorCode; accepted events are on the internal bus (durable) before the answer.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
import type { EventsOperations } from '../../api/events/operations.js';
import type { PutEventsRequestEntry, PutEventsResultEntry } from '../../api/events/types.js';
import { awsTime, type BusEventInput } from '../../events/bus.js';
import { buildArn } from '../../shared/arn.js';
import { busName, DEFAULT_BUS, findBus, scopeOf, validation, type EventsDeps } from './common.js';

/** "The total entry size must be less than 256KB." */
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

const EVENT_CHUNK_BYTES = 64 * 1024;

/** AWS's entry size: 14 bytes for Time, plus the UTF-8 of Source, DetailType, Detail, Resources. */
export function entrySize(e: PutEventsRequestEntry): number {
  let size = e.Time !== undefined ? 14 : 0;
  for (const s of [e.Source, e.DetailType, e.Detail, ...(e.Resources ?? [])]) {
    if (s !== undefined) size += Buffer.byteLength(s, 'utf8');
  }
  return size;
}

const refuse = (code: string, message: string): PutEventsResultEntry => ({
  ErrorCode: code,
  ErrorMessage: message,
});

const required = (field: string) =>
  refuse(
    'InvalidArgument',
    `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
  );

export function putEventsOperations(deps: EventsDeps): Pick<EventsOperations, 'PutEvents'> {
  return {
    async PutEvents(input, ctx) {
      const scope = scopeOf(ctx);
      const total = input.Entries.reduce((n, e) => n + entrySize(e), 0);
      if (total > MAX_PUT_EVENTS_BYTES) {
        throw validation('Total size of the entries in the request is over the limit.');
      }
      const results: PutEventsResultEntry[] = [];
      const accepted: { at: number; event: BusEventInput; size: number }[] = [];
      const known = new Map<string, boolean>();
      for (const e of input.Entries) {
        if (!e.Source) results.push(required('Source'));
        else if (!e.DetailType) results.push(required('DetailType'));
        else if (!e.Detail) results.push(required('Detail'));
        else if (e.Source.startsWith('aws.')) {
          results.push(refuse('NotAuthorizedForSourceException', 'Not authorized for the source.'));
        } else {
          let detail: unknown;
          try {
            detail = JSON.parse(e.Detail);
          } catch {
            detail = undefined;
          }
          const bus = busName(e.EventBusName);
          if (!known.has(bus)) known.set(bus, (await findBus(deps, scope, bus)) !== undefined);
          if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
            results.push(refuse('MalformedDetail', 'Detail is malformed.'));
          } else if (!known.get(bus)) {
            results.push(refuse('ResourceNotFoundException', `Event bus ${bus} does not exist.`));
          } else {
            accepted.push({
              at: results.length,
              size: entrySize(e),
              event: {
                source: e.Source,
                detailType: e.DetailType,
                account: scope.account,
                region: scope.region,
                resources: e.Resources ?? [],
                detail,
                ...(e.Time !== undefined && { time: awsTime(new Date(e.Time).getTime()) }),
                to: { eventBus: bus },
              },
            });
            results.push({});
          }
        }
      }
      const stored = await deps.bus.publish(accepted.map((a) => a.event));
      stored.forEach((ev, i) => (results[accepted[i].at] = { EventId: ev.id }));
      meterEvents(deps, scope, accepted);
      return {
        FailedEntryCount: results.filter((r) => r.ErrorCode !== undefined).length,
        Entries: results,
      };
    },
  };
}

/**
 * The bill: "Custom events: $1.00/million events published"; "Each 64 KB chunk of a
 * payload is billed as 1 event" (https://aws.amazon.com/eventbridge/pricing/), charged to
 * the bus.
 */
function meterEvents(
  deps: EventsDeps,
  scope: { account: string; region: string },
  accepted: readonly { event: BusEventInput; size: number }[],
): void {
  if (!deps.meter?.enabled) return;
  const chunks = new Map<string, number>();
  for (const a of accepted) {
    const bus = a.event.to?.eventBus ?? DEFAULT_BUS;
    chunks.set(bus, (chunks.get(bus) ?? 0) + Math.max(1, Math.ceil(a.size / EVENT_CHUNK_BYTES)));
  }
  for (const [bus, quantity] of chunks) {
    deps.meter.count({
      ...scope,
      service: 'AWSEvents',
      usageType: 'Event-64K-Chunks',
      resource: buildArn('events', scope.region, scope.account, `event-bus/${bus}`),
      quantity,
    });
  }
}
