/**
 * Public ports (Open/Put/CloseInstancePublicPorts, GetInstancePortStates), enforced as
 * the inbound filter of the instance's network namespace, and static IPs
 * (Allocate/Attach/Detach/Release, Get/GetStaticIps): addresses held in the driver's
 * pool by the static IP itself, so an attached instance keeps its address across stop,
 * start and restarts of Stratus. Attaching or detaching while an instance runs moves it
 * to the other address, which here means a reboot of its container.
 * https://docs.aws.amazon.com/lightsail/latest/userguide/understanding-firewall-and-port-mappings-in-amazon-lightsail.html
 */
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import { checkName, invalid, notFound, operation, scopeOf, type LightsailDeps } from './common.js';
import { staticIpHolder } from './fleet.js';
import { findInstance } from './instances.js';
import { PUBLISHED_IP } from './machines.js';
import {
  T,
  keyOf,
  scopePrefix,
  type InstanceRecord,
  type PortRecord,
  type Scope,
  type StaticIpRecord,
} from './store.js';
import { portRecord, samePorts, staticIpView } from './views.js';

type NetworkingOps = Pick<
  LightsailOperations,
  | 'OpenInstancePublicPorts'
  | 'PutInstancePublicPorts'
  | 'CloseInstancePublicPorts'
  | 'GetInstancePortStates'
  | 'AllocateStaticIp'
  | 'AttachStaticIp'
  | 'DetachStaticIp'
  | 'ReleaseStaticIp'
  | 'GetStaticIp'
  | 'GetStaticIps'
>;

export function networkingOperations(deps: LightsailDeps): NetworkingOps {
  const { store, fleet } = deps;

  async function changePorts(
    scope: Scope,
    name: string,
    change: (ports: PortRecord[]) => PortRecord[],
    type: 'OpenInstancePublicPorts' | 'PutInstancePublicPorts' | 'CloseInstancePublicPorts',
  ) {
    const rec = await store.transaction(async (tx) => {
      const r = await findInstance(tx, scope, name);
      r.ports = change(r.ports);
      await tx.put(T.instances, keyOf(scope, name), r);
      return r;
    });
    fleet.ports(rec);
    return operation(scope, deps.now(), rec.name, 'Instance', type, rec.availabilityZone);
  }

  async function findStaticIp(scope: Scope, name: string): Promise<StaticIpRecord> {
    const ip = await store.get<StaticIpRecord>(T.staticIps, keyOf(scope, name));
    if (!ip) throw notFound('StaticIp', name);
    return ip;
  }

  return {
    async OpenInstancePublicPorts(input, ctx) {
      const port = portRecord(input.portInfo);
      return {
        operation: await changePorts(
          scopeOf(ctx),
          input.instanceName,
          (ports) => [...ports.filter((p) => !samePorts(p, port)), port],
          'OpenInstancePublicPorts',
        ),
      };
    },

    async PutInstancePublicPorts(input, ctx) {
      const ports = input.portInfos.map(portRecord);
      return {
        operation: await changePorts(
          scopeOf(ctx),
          input.instanceName,
          () => ports,
          'PutInstancePublicPorts',
        ),
      };
    },

    async CloseInstancePublicPorts(input, ctx) {
      const port = portRecord(input.portInfo);
      return {
        operation: await changePorts(
          scopeOf(ctx),
          input.instanceName,
          (ports) => ports.filter((p) => !samePorts(p, port)),
          'CloseInstancePublicPorts',
        ),
      };
    },

    async GetInstancePortStates(input, ctx) {
      const rec = await findInstance(store, scopeOf(ctx), input.instanceName);
      return {
        portStates: rec.ports.map((p) => ({
          fromPort: p.fromPort,
          toPort: p.toPort,
          protocol: p.protocol,
          state: 'open' as const,
          cidrs: p.cidrs,
          ipv6Cidrs: p.ipv6Cidrs,
          cidrListAliases: p.cidrListAliases,
        })),
      };
    },

    async AllocateStaticIp(input, ctx) {
      const scope = scopeOf(ctx);
      checkName('StaticIp', input.staticIpName);
      // Where ports are published on loopback (Docker) every instance's address is
      // 127.0.0.1: a static IP is that address, kept by nothing but itself.
      const pool = fleet.machines.driver.addresses;
      const key = keyOf(scope, input.staticIpName);
      if (await store.get(T.staticIps, key))
        throw invalid(`Some names are already in use: ${input.staticIpName}`);
      const holder = staticIpHolder(scope.account, scope.region, input.staticIpName);
      const ip = pool ? await pool.hold(holder) : PUBLISHED_IP;
      const rec: StaticIpRecord = {
        ...scope,
        name: input.staticIpName,
        createdAt: deps.now(),
        ip,
        holder,
      };
      if (!(await store.insert(T.staticIps, key, rec))) {
        await pool?.release(ip, holder);
        throw invalid(`Some names are already in use: ${input.staticIpName}`);
      }
      return {
        operations: [operation(scope, deps.now(), rec.name, 'StaticIp', 'AllocateStaticIp')],
      };
    },

    async AttachStaticIp(input, ctx) {
      const scope = scopeOf(ctx);
      let previous: InstanceRecord | undefined;
      const rec = await store.transaction(async (tx) => {
        const ip = await tx.get<StaticIpRecord>(T.staticIps, keyOf(scope, input.staticIpName));
        if (!ip) throw notFound('StaticIp', input.staticIpName);
        const inst = await findInstance(tx, scope, input.instanceName);
        if (ip.attachedTo && ip.attachedTo !== inst.name)
          throw invalid(`The static IP ${ip.name} is already attached to ${ip.attachedTo}.`);
        if (inst.staticIpName && inst.staticIpName !== ip.name)
          throw invalid(
            `The instance ${inst.name} already has the static IP ${inst.staticIpName}.`,
          );
        previous = { ...inst };
        ip.attachedTo = inst.name;
        inst.staticIpName = ip.name;
        await tx.put(T.staticIps, keyOf(scope, ip.name), ip);
        await tx.put(T.instances, keyOf(scope, inst.name), inst);
        return inst;
      });
      if (previous && !previous.staticIpName) fleet.readdress(rec, previous.ip);
      return {
        operations: [
          operation(scope, deps.now(), input.staticIpName, 'StaticIp', 'AttachStaticIp'),
          operation(
            scope,
            deps.now(),
            rec.name,
            'Instance',
            'AttachStaticIp',
            rec.availabilityZone,
          ),
        ],
      };
    },

    async DetachStaticIp(input, ctx) {
      const scope = scopeOf(ctx);
      const inst = await detach(scope, input.staticIpName);
      if (inst) fleet.readdress(inst);
      return {
        operations: [
          operation(scope, deps.now(), input.staticIpName, 'StaticIp', 'DetachStaticIp'),
        ],
      };
    },

    async ReleaseStaticIp(input, ctx) {
      const scope = scopeOf(ctx);
      const ip = await findStaticIp(scope, input.staticIpName);
      const inst = await detach(scope, ip.name);
      await store.delete(T.staticIps, keyOf(scope, ip.name));
      if (inst) fleet.readdress(inst);
      await fleet.machines.driver.addresses?.release(ip.ip, ip.holder);
      return {
        operations: [operation(scope, deps.now(), ip.name, 'StaticIp', 'ReleaseStaticIp')],
      };
    },

    async GetStaticIp(input, ctx) {
      return { staticIp: staticIpView(await findStaticIp(scopeOf(ctx), input.staticIpName)) };
    },

    async GetStaticIps(_input, ctx) {
      const rows = await store.list<StaticIpRecord>(T.staticIps, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      return { staticIps: rows.map((r) => staticIpView(r.value)) };
    },
  };

  /** Detaches the static IP; resolves the instance it was attached to (now without it). */
  async function detach(scope: Scope, name: string): Promise<InstanceRecord | undefined> {
    return store.transaction(async (tx) => {
      const ip = await tx.get<StaticIpRecord>(T.staticIps, keyOf(scope, name));
      if (!ip) throw notFound('StaticIp', name);
      const attached = ip.attachedTo;
      delete ip.attachedTo;
      await tx.put(T.staticIps, keyOf(scope, name), ip);
      if (!attached) return undefined;
      const inst = await tx.get<InstanceRecord>(T.instances, keyOf(scope, attached));
      if (!inst || inst.staticIpName !== name) return undefined;
      delete inst.staticIpName;
      delete inst.ip;
      await tx.put(T.instances, keyOf(scope, inst.name), inst);
      return inst;
    });
  }
}
