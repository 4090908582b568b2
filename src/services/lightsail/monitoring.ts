/**
 * GetInstanceMetricData, alarms (PutAlarm, GetAlarms, DeleteAlarm, TestAlarm) and contact
 * methods (Create/Get/DeleteContactMethod), over the monitor's samples (monitor.ts).
 */
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import type { Alarm, ContactMethod, MetricUnit } from '../../api/lightsail/types.js';
import {
  arnOf,
  checkName,
  invalid,
  locationOf,
  notFound,
  operation,
  scopeOf,
  supportCodeOf,
  tagsIn,
  tagsOut,
  type LightsailDeps,
} from './common.js';
import { findInstance } from './instances.js';
import type { InstanceMetric } from './monitor.js';
import {
  T,
  keyOf,
  scopePrefix,
  type AlarmRecord,
  type ContactMethodRecord,
  type InstanceRecord,
} from './store.js';
import { instanceArn } from './views.js';

type MonitoringOps = Pick<
  LightsailOperations,
  | 'GetInstanceMetricData'
  | 'PutAlarm'
  | 'GetAlarms'
  | 'DeleteAlarm'
  | 'TestAlarm'
  | 'CreateContactMethod'
  | 'GetContactMethods'
  | 'DeleteContactMethod'
>;

/** The unit each instance metric is reported in (AWS accepts only that one). */
const UNITS: Record<InstanceMetric, MetricUnit> = {
  CPUUtilization: 'Percent',
  NetworkIn: 'Bytes',
  NetworkOut: 'Bytes',
  StatusCheckFailed: 'Count',
};

const isInstanceMetric = (m: string): m is InstanceMetric => m in UNITS;

function alarmView(a: AlarmRecord, instance: InstanceRecord | undefined, periodS: number): Alarm {
  return {
    name: a.name,
    arn: arnOf(a, 'Alarm', `${a.createdAt}-${a.name}`),
    createdAt: new Date(a.createdAt),
    location: locationOf(a),
    resourceType: 'Alarm',
    supportCode: supportCodeOf(a, a.name),
    monitoredResourceInfo: {
      ...(instance ? { arn: instanceArn(instance) } : {}),
      name: a.monitoredResourceName,
      resourceType: 'Instance',
    },
    comparisonOperator: a.comparisonOperator,
    evaluationPeriods: a.evaluationPeriods,
    period: periodS,
    threshold: a.threshold,
    datapointsToAlarm: a.datapointsToAlarm,
    treatMissingData: a.treatMissingData,
    statistic: a.metricName === 'CPUUtilization' ? 'Average' : 'Sum',
    metricName: a.metricName,
    state: a.state,
    unit: isInstanceMetric(a.metricName) ? UNITS[a.metricName] : undefined,
    contactProtocols: a.contactProtocols,
    notificationTriggers: a.notificationTriggers,
    notificationEnabled: a.notificationEnabled,
    tags: tagsOut(a.tags),
  };
}

export function monitoringOperations(deps: LightsailDeps): MonitoringOps {
  const { store, monitor } = deps;
  const periodS = Math.max(1, Math.round(monitor.intervalMs / 1000));

  async function findAlarm(scope: { account: string; region: string }, name: string) {
    const a = await store.get<AlarmRecord>(T.alarms, keyOf(scope, name));
    if (!a) throw notFound('Alarm', name);
    return a;
  }

  return {
    async GetInstanceMetricData(input, ctx) {
      const rec = await findInstance(store, scopeOf(ctx), input.instanceName);
      const metric = input.metricName;
      if (!isInstanceMetric(metric))
        throw invalid(
          `Stratus does not measure ${metric} (CPUUtilization, NetworkIn, NetworkOut, StatusCheckFailed).`,
        );
      if (input.unit !== UNITS[metric])
        throw invalid(`The unit for metric ${metric} must be ${UNITS[metric]}.`);
      if (input.period < 60 || input.period % 60 !== 0)
        throw invalid('The period must be a multiple of 60 seconds.');
      const points = monitor.datapoints(rec, metric);
      const data = monitor
        .aggregate(points, input.period, input.startTime.getTime(), input.endTime.getTime())
        .map((d) => {
          const out: Record<string, unknown> = { timestamp: d.timestamp, unit: UNITS[metric] };
          for (const s of input.statistics) {
            const k =
              s === 'SampleCount'
                ? 'sampleCount'
                : s === 'Average'
                  ? 'average'
                  : s === 'Maximum'
                    ? 'maximum'
                    : s === 'Minimum'
                      ? 'minimum'
                      : 'sum';
            out[k] = d[k];
          }
          return out;
        });
      return { metricName: metric, metricData: data };
    },

    async PutAlarm(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('Alarm', input.alarmName);
      if (!isInstanceMetric(input.metricName))
        throw invalid(`The metric ${input.metricName} is not an instance metric Stratus measures.`);
      const inst = await findInstance(store, scope, input.monitoredResourceName);
      const datapointsToAlarm = input.datapointsToAlarm ?? input.evaluationPeriods;
      if (
        input.evaluationPeriods < 1 ||
        datapointsToAlarm < 1 ||
        datapointsToAlarm > input.evaluationPeriods
      )
        throw invalid('datapointsToAlarm must be between 1 and evaluationPeriods.');
      const key = keyOf(scope, input.alarmName);
      const now = deps.now();
      await store.transaction(async (tx) => {
        const old = await tx.get<AlarmRecord>(T.alarms, key);
        const rec: AlarmRecord = {
          ...scope,
          name: input.alarmName,
          createdAt: old?.createdAt ?? now,
          metricName: input.metricName,
          monitoredResourceName: inst.name,
          comparisonOperator: input.comparisonOperator,
          threshold: input.threshold,
          evaluationPeriods: input.evaluationPeriods,
          datapointsToAlarm,
          treatMissingData: input.treatMissingData ?? 'missing',
          contactProtocols: input.contactProtocols ?? [],
          notificationTriggers: input.notificationTriggers ?? ['ALARM'],
          notificationEnabled: input.notificationEnabled ?? true,
          state: old?.state ?? 'INSUFFICIENT_DATA',
          tags: tagsIn(input.tags),
        };
        await tx.put(T.alarms, key, rec);
      });
      return { operations: [operation(scope, now, input.alarmName, 'Alarm', 'PutAlarm')] };
    },

    async GetAlarms(input, ctx) {
      const scope = scopeOf(ctx);
      const rows = input.alarmName
        ? [await findAlarm(scope, input.alarmName)]
        : (await store.list<AlarmRecord>(T.alarms, { prefix: scopePrefix(scope) })).map(
            (r) => r.value,
          );
      const alarms: Alarm[] = [];
      for (const a of rows) {
        if (input.monitoredResourceName && a.monitoredResourceName !== input.monitoredResourceName)
          continue;
        const inst = await store.get<InstanceRecord>(
          T.instances,
          keyOf(scope, a.monitoredResourceName),
        );
        alarms.push(alarmView(a, inst, periodS));
      }
      return { alarms };
    },

    async DeleteAlarm(input, ctx) {
      const scope = scopeOf(ctx);
      await findAlarm(scope, input.alarmName);
      await store.delete(T.alarms, keyOf(scope, input.alarmName));
      return {
        operations: [operation(scope, deps.now(), input.alarmName, 'Alarm', 'DeleteAlarm')],
      };
    },

    async TestAlarm(input, ctx) {
      const scope = scopeOf(ctx);
      const a = await findAlarm(scope, input.alarmName);
      await monitor.changeState(a, input.state, true);
      return { operations: [operation(scope, deps.now(), a.name, 'Alarm', 'TestAlarm')] };
    },

    async CreateContactMethod(input, ctx) {
      const scope = scopeOf(ctx);
      const rec: ContactMethodRecord = {
        ...scope,
        protocol: input.protocol,
        contactEndpoint: input.contactEndpoint,
        createdAt: deps.now(),
      };
      await store.put(T.contactMethods, keyOf(scope, input.protocol), rec);
      return {
        operations: [
          operation(scope, rec.createdAt, input.protocol, 'ContactMethod', 'CreateContactMethod'),
        ],
      };
    },

    async GetContactMethods(input, ctx) {
      const scope = scopeOf(ctx);
      const rows = await store.list<ContactMethodRecord>(T.contactMethods, {
        prefix: scopePrefix(scope),
      });
      const contactMethods: ContactMethod[] = rows
        .map((r) => r.value)
        .filter((m) => !input.protocols?.length || input.protocols.includes(m.protocol))
        .map((m) => ({
          contactEndpoint: m.contactEndpoint,
          // Nothing leaves this machine, so no verification message: valid at once.
          status: 'Valid',
          protocol: m.protocol,
          name: m.protocol,
          arn: arnOf(scope, 'ContactMethod', `${m.createdAt}-${m.protocol}`),
          createdAt: new Date(m.createdAt),
          location: locationOf(scope),
          resourceType: 'ContactMethod',
          supportCode: supportCodeOf(scope, m.protocol),
        }));
      return { contactMethods };
    },

    async DeleteContactMethod(input, ctx) {
      const scope = scopeOf(ctx);
      if (!(await store.delete(T.contactMethods, keyOf(scope, input.protocol))))
        throw notFound('ContactMethod', input.protocol);
      return {
        operations: [
          operation(scope, deps.now(), input.protocol, 'ContactMethod', 'DeleteContactMethod'),
        ],
      };
    },
  };
}
