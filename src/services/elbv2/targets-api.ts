/**
 * RegisterTargets, DeregisterTargets and DescribeTargetHealth, and the `loadBalancing`
 * link (TargetRegistry) ECS registers its tasks through: one code path, one state.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RegisterTargets.html
 */
import { isIP } from 'node:net';
import { InvalidTargetException, TooManyTargetsException } from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { TargetDescription, TargetHealthDescription } from '../../api/elbv2/types.js';
import { parseArn } from '../../shared/arn.js';
import { type Elbv2Deps, scopeOf, validation } from './common.js';
import { type HealthView, NOT_REGISTERED } from './health.js';
import { targetGroupOf } from './target-groups.js';
import type { Target, TargetGroupInfo, TargetHealthReport, TargetRegistry } from './targets.js';
import {
  childPrefix,
  type Scope,
  T,
  type TargetGroupRecord,
  targetKey,
  type TargetRecord,
} from './store.js';
import { groupUsage } from './usage.js';

type TargetOps = Pick<
  Elbv2Operations,
  'RegisterTargets' | 'DeregisterTargets' | 'DescribeTargetHealth'
>;

/** What the target operations need from the data plane's health monitor. */
export interface TargetHealthSource {
  view(tgArn: string, target: { id: string; port: number }): HealthView | undefined;
  drainingOf(tgArn: string): TargetRecord[];
  settled(tgArn: string, targets: readonly { id: string; port: number }[]): Promise<void>;
}

export interface TargetDeps extends Elbv2Deps {
  health: TargetHealthSource;
}

/** A target as the group's type expects it, with its port resolved (AWS's checks). */
function resolveTarget(
  tg: TargetGroupRecord,
  t: TargetDescription,
): { id: string; port: number; az?: string } {
  if (tg.targetType === 'lambda') {
    const arn = parseArn(t.Id);
    if (!arn || arn.service !== 'lambda' || !arn.resource.startsWith('function:')) {
      throw validation(`Target ID '${t.Id}' is not a valid Lambda function ARN`);
    }
    if (t.Port !== undefined) throw validation('A port cannot be specified for Lambda targets');
    return { id: t.Id, port: 0 };
  }
  const port = t.Port ?? tg.port;
  if (port === undefined) throw validation(`A port must be specified for target '${t.Id}'`);
  if (tg.targetType === 'ip') {
    if (isIP(t.Id) === 0) {
      throw new InvalidTargetException(`The IP address '${t.Id}' is not a valid IPv4 address`);
    }
  } else if (tg.targetType === 'instance' && !/^i-[0-9a-f]{8,17}$/.test(t.Id)) {
    throw validation(`Instance ID '${t.Id}' is not valid`);
  }
  return {
    id: t.Id,
    port,
    ...(t.AvailabilityZone !== undefined ? { az: t.AvailabilityZone } : {}),
  };
}

function healthDescription(
  tg: TargetGroupRecord,
  target: { id: string; port: number; availabilityZone?: string },
  view: HealthView,
): TargetHealthDescription {
  const hcPort = tg.healthCheck.port === 'traffic-port' ? String(target.port) : tg.healthCheck.port;
  return {
    Target: {
      Id: target.id,
      ...(tg.targetType !== 'lambda' ? { Port: target.port } : {}),
      ...(target.availabilityZone !== undefined
        ? { AvailabilityZone: target.availabilityZone }
        : {}),
    },
    ...(tg.targetType !== 'lambda' ? { HealthCheckPort: hcPort } : {}),
    TargetHealth: {
      State: view.state,
      ...(view.reason !== undefined ? { Reason: view.reason } : {}),
      ...(view.description !== undefined ? { Description: view.description } : {}),
    },
  };
}

/** Registration, deregistration and health of one group's targets: the API and the link share it. */
export class Targets {
  constructor(private readonly deps: TargetDeps) {}

  async register(tgArn: string, targets: readonly TargetDescription[], s?: Scope): Promise<void> {
    const { store } = this.deps;
    await store.transaction(async (tx) => {
      const tg = await targetGroupOf(tx, tgArn, s);
      const resolved = targets.map((t) => resolveTarget(tg, t));
      if (tg.targetType === 'lambda') {
        const existing = await tx.list<TargetRecord>(T.targets, { prefix: childPrefix(tg.arn) });
        const ids = new Set([...existing.map((e) => e.value.id), ...resolved.map((r) => r.id)]);
        if (ids.size > 1) {
          throw new TooManyTargetsException(
            'You can register only one Lambda function per target group',
          );
        }
      }
      for (const r of resolved) {
        const key = targetKey(tg.arn, r.id, r.port);
        if (await tx.get(T.targets, key)) continue;
        const record: TargetRecord = {
          targetGroupArn: tg.arn,
          id: r.id,
          port: r.port,
          ...(r.az !== undefined ? { availabilityZone: r.az } : {}),
          registered: this.deps.now(),
        };
        await tx.put(T.targets, key, record);
      }
    });
    await this.deps.changed();
  }

  /** Deregisters at once; the returned promise settles when draining is over. */
  async deregister(
    tgArn: string,
    targets: readonly TargetDescription[],
    s?: Scope,
  ): Promise<{ drained: Promise<void> }> {
    const { store } = this.deps;
    const removed = await store.transaction(async (tx) => {
      const tg = await targetGroupOf(tx, tgArn, s);
      const out: { id: string; port: number }[] = [];
      const missing: string[] = [];
      for (const t of targets) {
        const port = tg.targetType === 'lambda' ? 0 : (t.Port ?? tg.port ?? 0);
        if (await tx.delete(T.targets, targetKey(tg.arn, t.Id, port))) out.push({ id: t.Id, port });
        else missing.push(t.Id);
      }
      // AWS's answer for targets that are not registered.
      if (missing.length > 0 && s !== undefined) {
        throw new InvalidTargetException(
          'The specified target does not exist, is not in the same VPC as the target group, or has an unsupported instance type.',
        );
      }
      return out;
    });
    await this.deps.changed();
    return { drained: this.deps.health.settled(tgArn, removed) };
  }

  async describe(
    tgArn: string,
    wanted: readonly TargetDescription[] | undefined,
    s?: Scope,
  ): Promise<TargetHealthDescription[]> {
    const { store, health } = this.deps;
    const tg = await targetGroupOf(store, tgArn, s);
    const registered = (
      await store.list<TargetRecord>(T.targets, { prefix: childPrefix(tg.arn) })
    ).map((i) => i.value);
    const draining = health.drainingOf(tg.arn);
    const all = [...registered, ...draining];
    const viewOf = (t: { id: string; port: number }): HealthView =>
      health.view(tg.arn, t) ?? {
        state: 'initial',
        reason: 'Elb.RegistrationInProgress',
        description: 'Target registration is in progress',
      };
    if (wanted === undefined) return all.map((t) => healthDescription(tg, t, viewOf(t)));
    return wanted.map((w) => {
      const port = tg.targetType === 'lambda' ? 0 : (w.Port ?? tg.port ?? 0);
      const found = all.find((t) => t.id === w.Id && t.port === port);
      return found
        ? healthDescription(tg, found, viewOf(found))
        : healthDescription(tg, { id: w.Id, port }, NOT_REGISTERED);
    });
  }

  // The loadBalancing link (targets.ts).

  async targetGroup(arn: string): Promise<TargetGroupInfo | undefined> {
    const { store } = this.deps;
    let tg: TargetGroupRecord;
    try {
      tg = await targetGroupOf(store, arn);
    } catch {
      return undefined;
    }
    const usage = await groupUsage(store, { account: tg.account, region: tg.region });
    return {
      arn: tg.arn,
      ...(tg.port !== undefined ? { port: tg.port } : {}),
      ...(tg.protocol !== undefined ? { protocol: tg.protocol } : {}),
      targetType: tg.targetType,
      loadBalancerArns: [...(usage.get(tg.arn) ?? [])],
      deregistrationDelaySeconds: Number(
        tg.attributes['deregistration_delay.timeout_seconds'] ?? 0,
      ),
    };
  }

  async health(arn: string): Promise<readonly TargetHealthReport[]> {
    const list = await this.describe(arn, undefined);
    return list.map((d) => ({
      target: {
        id: d.Target?.Id ?? '',
        port: d.Target?.Port ?? 0,
        ...(d.Target?.AvailabilityZone !== undefined
          ? { availabilityZone: d.Target.AvailabilityZone }
          : {}),
      },
      state:
        (d.TargetHealth?.State === 'unhealthy.draining' ? 'draining' : d.TargetHealth?.State) ??
        'initial',
      ...(d.TargetHealth?.Reason !== undefined ? { reason: d.TargetHealth.Reason } : {}),
      ...(d.TargetHealth?.Description !== undefined
        ? { description: d.TargetHealth.Description }
        : {}),
    }));
  }

  readonly registry: TargetRegistry = {
    targetGroup: (arn) => this.targetGroup(arn),
    register: (arn, targets) => this.register(arn, toDescriptions(targets)),
    deregister: async (arn, targets) => {
      const { drained } = await this.deregister(arn, toDescriptions(targets));
      await drained;
    },
    health: (arn) => this.health(arn),
  };
}

const toDescriptions = (targets: readonly Target[]): TargetDescription[] =>
  targets.map((t) => ({
    Id: t.id,
    Port: t.port,
    ...(t.availabilityZone !== undefined ? { AvailabilityZone: t.availabilityZone } : {}),
  }));

export function targetOperations(targets: Targets): TargetOps {
  return {
    async RegisterTargets(input, ctx) {
      await targets.register(input.TargetGroupArn, input.Targets, scopeOf(ctx));
      return {};
    },
    async DeregisterTargets(input, ctx) {
      // The API answers at once; draining goes on (DescribeTargetHealth shows `draining`).
      await targets.deregister(input.TargetGroupArn, input.Targets, scopeOf(ctx));
      return {};
    },
    async DescribeTargetHealth(input, ctx) {
      return {
        TargetHealthDescriptions: await targets.describe(
          input.TargetGroupArn,
          input.Targets,
          scopeOf(ctx),
        ),
      };
    },
  };
}
