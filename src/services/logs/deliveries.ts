/**
 * Vended log delivery: delivery sources (a resource and the log type it sends), delivery
 * destinations (a log group, S3 bucket or Firehose stream) with their policies, and the
 * deliveries that pair them.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-vended-logs-permissions-V2.html
 * Stored and returned as AWS does; the services that would send vended logs are not part of
 * Stratus, so nothing flows through a delivery yet.
 */
import { randomBytes } from 'node:crypto';
import { ConflictException, ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  Delivery,
  DeliveryDestination,
  DeliveryDestinationType,
  DeliverySource,
} from '../../api/logs/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  checkJsonDocument,
  invalid,
  pageLimit,
  pageList,
  scopeOf,
  type LogsDeps,
} from './common.js';
import { DELIVERIES, DELIVERY_DESTINATIONS, DELIVERY_SOURCES, scopePrefix } from './store.js';

type DeliveryOps = Pick<
  LogsOperations,
  | 'PutDeliverySource'
  | 'GetDeliverySource'
  | 'DescribeDeliverySources'
  | 'DeleteDeliverySource'
  | 'PutDeliveryDestination'
  | 'GetDeliveryDestination'
  | 'DescribeDeliveryDestinations'
  | 'DeleteDeliveryDestination'
  | 'PutDeliveryDestinationPolicy'
  | 'GetDeliveryDestinationPolicy'
  | 'DeleteDeliveryDestinationPolicy'
  | 'CreateDelivery'
  | 'GetDelivery'
  | 'DescribeDeliveries'
  | 'DeleteDelivery'
  | 'UpdateDeliveryConfiguration'
  | 'DescribeConfigurationTemplates'
>;

type Tagged<T> = T & { name: string; tags: Record<string, string> };
type SourceRecord = Tagged<DeliverySource>;
type DestinationRecord = Tagged<DeliveryDestination> & { policy?: string };
type DeliveryRecord = Delivery & { id: string; tags: Record<string, string> };

const PAGE = 50;
const missing = (what: string) => new ResourceNotFoundException(`${what} does not exist.`);

/** The destination type AWS derives from the destination resource's ARN. */
function destinationType(arn: string): DeliveryDestinationType {
  switch (parseArn(arn)?.service) {
    case 'logs':
      return 'CWL';
    case 's3':
      return 'S3';
    case 'firehose':
      return 'FH';
    default:
      throw invalid(`Invalid destination resource ARN: ${arn}`);
  }
}

const withTags = <T extends { tags: Record<string, string> }>(r: T) =>
  Object.keys(r.tags).length ? r : { ...r, tags: undefined };

export function deliveryOperations(deps: LogsDeps): DeliveryOps {
  const { store } = deps;
  const key = (ctx: RequestContext, name: string) => scopePrefix(scopeOf(ctx)) + name;
  const arn = (ctx: RequestContext, type: string, name: string) =>
    buildArn('logs', ctx.region, ctx.account, `${type}:${name}`);

  async function get<T>(table: string, k: string, what: string): Promise<T> {
    const rec = await store.get<T>(table, k);
    if (!rec) throw missing(what);
    return rec;
  }

  async function list<T>(ctx: RequestContext, table: string): Promise<T[]> {
    return (await store.list<T>(table, { prefix: scopePrefix(scopeOf(ctx)) })).map((r) => r.value);
  }

  async function remove(
    table: string,
    k: string,
    what: string,
    inUse?: (tx: MetadataOps) => Promise<boolean>,
  ) {
    await store.transaction(async (tx) => {
      if (!(await tx.get(table, k))) throw missing(what);
      if (inUse && (await inUse(tx))) {
        throw new ConflictException(`${what} is in use by a delivery.`);
      }
      await tx.delete(table, k);
    });
  }

  /** Whether a delivery matches, read inside the caller's transaction. */
  const deliveriesUsing = async (
    tx: MetadataOps,
    ctx: RequestContext,
    match: (d: DeliveryRecord) => boolean,
  ) =>
    (await tx.list<DeliveryRecord>(DELIVERIES, { prefix: scopePrefix(scopeOf(ctx)) })).some((r) =>
      match(r.value),
    );

  const destinationView = ({ policy: _p, ...d }: DestinationRecord): DeliveryDestination =>
    withTags(d);

  return {
    async PutDeliverySource(input, ctx) {
      const resource = parseArn(input.resourceArn);
      if (!resource) throw invalid(`Invalid resource ARN: ${input.resourceArn}`);
      const rec: SourceRecord = {
        name: input.name,
        arn: arn(ctx, 'delivery-source', input.name),
        resourceArns: [input.resourceArn],
        service: resource.service,
        logType: input.logType,
        tags: input.tags ?? {},
      };
      if (input.deliverySourceConfiguration)
        rec.deliverySourceConfiguration = input.deliverySourceConfiguration;
      await store.put(DELIVERY_SOURCES, key(ctx, input.name), rec);
      return { deliverySource: withTags(rec) };
    },

    async GetDeliverySource(input, ctx) {
      const rec = await get<SourceRecord>(
        DELIVERY_SOURCES,
        key(ctx, input.name),
        'The delivery source',
      );
      return { deliverySource: withTags(rec) };
    },

    async DescribeDeliverySources(input, ctx) {
      const all = (await list<SourceRecord>(ctx, DELIVERY_SOURCES)).map(withTags);
      const page = pageList(all, (s) => s.name, input.nextToken, input.limit, PAGE);
      return { deliverySources: page.items, nextToken: page.nextToken };
    },

    async DeleteDeliverySource(input, ctx) {
      await remove(DELIVERY_SOURCES, key(ctx, input.name), 'The delivery source', (tx) =>
        deliveriesUsing(tx, ctx, (d) => d.deliverySourceName === input.name),
      );
    },

    async PutDeliveryDestination(input, ctx) {
      const target = input.deliveryDestinationConfiguration?.destinationResourceArn;
      if (target === undefined && input.deliveryDestinationType !== 'XRAY') {
        throw invalid('deliveryDestinationConfiguration is required.');
      }
      const k = key(ctx, input.name);
      const rec = await store.transaction(async (tx) => {
        const old = await tx.get<DestinationRecord>(DELIVERY_DESTINATIONS, k);
        const rec: DestinationRecord = {
          name: input.name,
          arn: arn(ctx, 'delivery-destination', input.name),
          deliveryDestinationType: target === undefined ? 'XRAY' : destinationType(target),
          tags: input.tags ?? old?.tags ?? {},
        };
        if (input.outputFormat) rec.outputFormat = input.outputFormat;
        if (input.deliveryDestinationConfiguration)
          rec.deliveryDestinationConfiguration = input.deliveryDestinationConfiguration;
        if (old?.policy) rec.policy = old.policy;
        await tx.put(DELIVERY_DESTINATIONS, k, rec);
        return rec;
      });
      return { deliveryDestination: destinationView(rec) };
    },

    async GetDeliveryDestination(input, ctx) {
      const rec = await get<DestinationRecord>(
        DELIVERY_DESTINATIONS,
        key(ctx, input.name),
        'The delivery destination',
      );
      return { deliveryDestination: destinationView(rec) };
    },

    async DescribeDeliveryDestinations(input, ctx) {
      const all = (await list<DestinationRecord>(ctx, DELIVERY_DESTINATIONS)).map(destinationView);
      const page = pageList(all, (d) => d.name ?? '', input.nextToken, input.limit, PAGE);
      return { deliveryDestinations: page.items, nextToken: page.nextToken };
    },

    async DeleteDeliveryDestination(input, ctx) {
      const destArn = arn(ctx, 'delivery-destination', input.name);
      await remove(DELIVERY_DESTINATIONS, key(ctx, input.name), 'The delivery destination', (tx) =>
        deliveriesUsing(tx, ctx, (d) => d.deliveryDestinationArn === destArn),
      );
    },

    async PutDeliveryDestinationPolicy(input, ctx) {
      checkJsonDocument(input.deliveryDestinationPolicy);
      const k = key(ctx, input.deliveryDestinationName);
      await store.transaction(async (tx) => {
        const rec = await tx.get<DestinationRecord>(DELIVERY_DESTINATIONS, k);
        if (!rec) throw missing('The delivery destination');
        rec.policy = input.deliveryDestinationPolicy;
        await tx.put(DELIVERY_DESTINATIONS, k, rec);
      });
      return { policy: { deliveryDestinationPolicy: input.deliveryDestinationPolicy } };
    },

    async GetDeliveryDestinationPolicy(input, ctx) {
      const rec = await get<DestinationRecord>(
        DELIVERY_DESTINATIONS,
        key(ctx, input.deliveryDestinationName),
        'The delivery destination',
      );
      return rec.policy === undefined
        ? { policy: {} }
        : { policy: { deliveryDestinationPolicy: rec.policy } };
    },

    async DeleteDeliveryDestinationPolicy(input, ctx) {
      const k = key(ctx, input.deliveryDestinationName);
      await store.transaction(async (tx) => {
        const rec = await tx.get<DestinationRecord>(DELIVERY_DESTINATIONS, k);
        if (!rec?.policy) throw missing('The delivery destination policy');
        delete rec.policy;
        await tx.put(DELIVERY_DESTINATIONS, k, rec);
      });
    },

    async CreateDelivery(input, ctx) {
      const id = randomBytes(8).toString('hex');
      const rec = await store.transaction(async (tx) => {
        const source = await tx.get<SourceRecord>(
          DELIVERY_SOURCES,
          key(ctx, input.deliverySourceName),
        );
        if (!source) throw missing('The delivery source');
        const destName = parseArn(input.deliveryDestinationArn)?.resource.replace(
          /^delivery-destination:/,
          '',
        );
        const dest =
          destName === undefined
            ? undefined
            : await tx.get<DestinationRecord>(DELIVERY_DESTINATIONS, key(ctx, destName));
        if (!dest || dest.arn !== input.deliveryDestinationArn) {
          throw missing('The delivery destination');
        }
        const existing = (
          await tx.list<DeliveryRecord>(DELIVERIES, { prefix: scopePrefix(scopeOf(ctx)) })
        ).some(
          (d) =>
            d.value.deliverySourceName === input.deliverySourceName &&
            d.value.deliveryDestinationArn === input.deliveryDestinationArn,
        );
        if (existing) {
          throw new ConflictException('A delivery already exists for this source and destination.');
        }
        const rec: DeliveryRecord = {
          id,
          arn: arn(ctx, 'delivery', id),
          deliverySourceName: input.deliverySourceName,
          deliveryDestinationArn: input.deliveryDestinationArn,
          deliveryDestinationType: dest.deliveryDestinationType,
          tags: input.tags ?? {},
        };
        if (input.recordFields) rec.recordFields = input.recordFields;
        if (input.fieldDelimiter !== undefined) rec.fieldDelimiter = input.fieldDelimiter;
        if (input.s3DeliveryConfiguration)
          rec.s3DeliveryConfiguration = input.s3DeliveryConfiguration;
        await tx.put(DELIVERIES, key(ctx, id), rec);
        return rec;
      });
      return { delivery: withTags(rec) };
    },

    async GetDelivery(input, ctx) {
      const rec = await get<DeliveryRecord>(DELIVERIES, key(ctx, input.id), 'The delivery');
      return { delivery: withTags(rec) };
    },

    async DescribeDeliveries(input, ctx) {
      const all = (await list<DeliveryRecord>(ctx, DELIVERIES)).map(withTags);
      const page = pageList(all, (d) => d.id ?? '', input.nextToken, input.limit, PAGE);
      return { deliveries: page.items, nextToken: page.nextToken };
    },

    async DeleteDelivery(input, ctx) {
      await remove(DELIVERIES, key(ctx, input.id), 'The delivery');
    },

    /**
     * AWS's templates describe the vended logs of its services' resources. No resource of
     * Stratus vends logs through deliveries (see above), so no template applies here.
     * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeConfigurationTemplates.html
     */
    async DescribeConfigurationTemplates(input) {
      pageLimit(input.limit, 50);
      return { configurationTemplates: [] };
    },

    async UpdateDeliveryConfiguration(input, ctx) {
      const k = key(ctx, input.id);
      await store.transaction(async (tx) => {
        const rec = await tx.get<DeliveryRecord>(DELIVERIES, k);
        if (!rec) throw missing('The delivery');
        if (input.recordFields) rec.recordFields = input.recordFields;
        if (input.fieldDelimiter !== undefined) rec.fieldDelimiter = input.fieldDelimiter;
        if (input.s3DeliveryConfiguration)
          rec.s3DeliveryConfiguration = input.s3DeliveryConfiguration;
        await tx.put(DELIVERIES, k, rec);
      });
      return {};
    },
  };
}
