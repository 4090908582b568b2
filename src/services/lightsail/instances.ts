/**
 * Instances: CreateInstances (and from a snapshot), Get/GetInstances, GetInstanceState,
 * Start/Stop/Reboot/Delete, GetInstanceAccessDetails, and the catalog (GetBlueprints,
 * GetBundles). State changes go through the fleet (fleet.ts).
 */
import { randomUUID } from 'node:crypto';
import { OperationFailureException } from '../../api/lightsail/errors.js';
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import type { Tag as ApiTag } from '../../api/lightsail/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { BLUEPRINTS, BUNDLES, blueprintOf, blueprintView, bundleOf } from './catalog.js';
import {
  checkName,
  invalid,
  notFound,
  operation,
  scopeOf,
  tagsIn,
  type LightsailDeps,
} from './common.js';
import { DEFAULT_KEY_PAIR, ensureDefaultKeyPair } from './keypairs.js';
import { ACCESS_VALID_MS, ensureCa, issueAccessKey } from './ssh-ca.js';
import {
  T,
  keyOf,
  scopePrefix,
  type DiskRecord,
  type InstanceRecord,
  type KeyPairRecord,
  type Scope,
  type SnapshotRecord,
  type StaticIpRecord,
} from './store.js';
import { defaultPorts, instanceView } from './views.js';

type InstanceOps = Pick<
  LightsailOperations,
  | 'CreateInstances'
  | 'CreateInstancesFromSnapshot'
  | 'GetInstance'
  | 'GetInstances'
  | 'GetInstanceState'
  | 'StartInstance'
  | 'StopInstance'
  | 'RebootInstance'
  | 'DeleteInstance'
  | 'GetInstanceAccessDetails'
  | 'GetBlueprints'
  | 'GetBundles'
>;

export async function findInstance(
  ops: MetadataOps,
  scope: Scope,
  name: string,
): Promise<InstanceRecord> {
  const rec = await ops.get<InstanceRecord>(T.instances, keyOf(scope, name));
  if (!rec) throw notFound('Instance', name);
  return rec;
}

async function disksOf(ops: MetadataOps, rec: InstanceRecord): Promise<DiskRecord[]> {
  const out: DiskRecord[] = [];
  for (const d of rec.disks) {
    const disk = await ops.get<DiskRecord>(T.disks, keyOf(rec, d.name));
    if (disk) out.push(disk);
  }
  return out;
}

interface NewInstances {
  names: string[];
  availabilityZone: string;
  blueprintId: string;
  bundleId: string;
  userData?: string;
  keyPairName?: string;
  tags?: ApiTag[];
  snapshotLayers: string[];
}

export function instanceOperations(deps: LightsailDeps): InstanceOps {
  const { store, fleet } = deps;

  async function create(scope: Scope, input: NewInstances) {
    const why = fleet.machines.unavailable();
    if (why) throw new OperationFailureException(why, { code: 'OperationFailure' });
    if (!input.availabilityZone.startsWith(scope.region) || input.availabilityZone === scope.region)
      throw invalid(`The availability zone ${input.availabilityZone} is not valid.`);
    const blueprint = blueprintOf(input.blueprintId);
    if (!blueprint) throw invalid(`The blueprint ID ${input.blueprintId} is not valid.`);
    if (!bundleOf(input.bundleId)) throw invalid(`The bundle ID ${input.bundleId} is not valid.`);
    if (input.names.length === 0) throw invalid('instanceNames must not be empty.');
    for (const n of input.names) checkName('Instance', n);
    const keyName = input.keyPairName ?? DEFAULT_KEY_PAIR;
    if (keyName === DEFAULT_KEY_PAIR) await ensureDefaultKeyPair(store, scope, deps.now());
    const now = deps.now();
    const records = await store.transaction(async (tx) => {
      if (!(await tx.get<KeyPairRecord>(T.keyPairs, keyOf(scope, keyName))))
        throw notFound('KeyPair', keyName);
      const taken: string[] = [];
      for (const n of input.names) if (await tx.get(T.instances, keyOf(scope, n))) taken.push(n);
      if (taken.length) throw invalid(`Some names are already in use: ${taken.join(', ')}`);
      const out: InstanceRecord[] = [];
      for (const name of input.names) {
        const rec: InstanceRecord = {
          ...scope,
          name,
          id: randomUUID(),
          createdAt: now,
          availabilityZone: input.availabilityZone,
          blueprintId: input.blueprintId,
          bundleId: input.bundleId,
          keyPairName: keyName,
          userData: input.userData ?? '',
          tags: tagsIn(input.tags),
          state: 'pending',
          desired: 'running',
          ports: defaultPorts(blueprint.defaultPorts),
          snapshotLayers: input.snapshotLayers,
          disks: [],
        };
        await tx.put(T.instances, keyOf(scope, name), rec);
        out.push(rec);
      }
      return out;
    });
    for (const rec of records) fleet.launch(rec);
    return {
      operations: records.map((r) =>
        operation(scope, now, r.name, 'Instance', 'CreateInstance', r.availabilityZone),
      ),
    };
  }

  return {
    CreateInstances(input, ctx) {
      return create(scopeOf(ctx), {
        names: input.instanceNames,
        availabilityZone: input.availabilityZone,
        blueprintId: input.blueprintId,
        bundleId: input.bundleId,
        userData: input.userData,
        keyPairName: input.keyPairName,
        tags: input.tags,
        snapshotLayers: [],
      });
    },

    async CreateInstancesFromSnapshot(input, ctx) {
      const scope = scopeOf(ctx);
      const name = input.instanceSnapshotName;
      if (!name)
        throw invalid('instanceSnapshotName is required (automatic snapshots are not kept).');
      const snap = await store.get<SnapshotRecord>(T.snapshots, keyOf(scope, name));
      if (!snap) throw notFound('InstanceSnapshot', name);
      if (snap.state !== 'available')
        throw invalid(`The instance snapshot ${name} is not available yet (state ${snap.state}).`);
      const from = bundleOf(snap.fromBundleId);
      const to = bundleOf(input.bundleId);
      if (from && to && to.diskSizeInGb < from.diskSizeInGb)
        throw invalid(
          `The bundle ${input.bundleId} is smaller than the snapshot's bundle ${snap.fromBundleId}.`,
        );
      const out = await create(scope, {
        names: input.instanceNames,
        availabilityZone: input.availabilityZone,
        blueprintId: snap.fromBlueprintId,
        bundleId: input.bundleId,
        userData: input.userData,
        keyPairName: input.keyPairName,
        tags: input.tags,
        snapshotLayers: snap.layers,
      });
      return out;
    },

    async GetInstance(input, ctx) {
      const rec = await findInstance(store, scopeOf(ctx), input.instanceName);
      return { instance: instanceView(rec, await disksOf(store, rec)) };
    },

    async GetInstances(_input, ctx) {
      const rows = await store.list<InstanceRecord>(T.instances, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const instances = [];
      for (const { value } of rows)
        instances.push(instanceView(value, await disksOf(store, value)));
      return { instances };
    },

    async GetInstanceState(input, ctx) {
      const rec = await findInstance(store, scopeOf(ctx), input.instanceName);
      return { state: instanceView(rec).state };
    },

    async StartInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await fleetUpdate(scope, input.instanceName, (r) => {
        if (r.state !== 'stopped')
          throw invalid(`Sorry, you can't start an instance that is ${r.state}: ${r.name}`);
        r.state = 'pending';
        r.desired = 'running';
        delete r.error;
      });
      fleet.launch(rec);
      return {
        operations: [
          operation(scope, deps.now(), rec.name, 'Instance', 'StartInstance', rec.availabilityZone),
        ],
      };
    },

    async StopInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await fleetUpdate(scope, input.instanceName, (r) => {
        if (r.state !== 'running' && r.state !== 'pending')
          throw invalid(`Sorry, you can't stop an instance that is ${r.state}: ${r.name}`);
        r.state = 'stopping';
        r.desired = 'stopped';
      });
      fleet.stop(rec);
      return {
        operations: [
          operation(scope, deps.now(), rec.name, 'Instance', 'StopInstance', rec.availabilityZone),
        ],
      };
    },

    async RebootInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await fleetUpdate(scope, input.instanceName, (r) => {
        if (r.state !== 'running')
          throw invalid(`Sorry, you can't reboot an instance that is ${r.state}: ${r.name}`);
      });
      fleet.reboot(rec);
      return {
        operations: [
          operation(
            scope,
            deps.now(),
            rec.name,
            'Instance',
            'RebootInstance',
            rec.availabilityZone,
          ),
        ],
      };
    },

    async DeleteInstance(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await store.transaction(async (tx) => {
        const r = await findInstance(tx, scope, input.instanceName);
        await tx.delete(T.instances, keyOf(scope, r.name));
        if (r.staticIpName) {
          const ip = await tx.get<StaticIpRecord>(T.staticIps, keyOf(scope, r.staticIpName));
          if (ip?.attachedTo === r.name) {
            delete ip.attachedTo;
            await tx.put(T.staticIps, keyOf(scope, ip.name), ip);
          }
        }
        for (const d of r.disks) {
          const disk = await tx.get<DiskRecord>(T.disks, keyOf(scope, d.name));
          if (disk?.attachedTo === r.name) {
            delete disk.attachedTo;
            delete disk.path;
            await tx.put(T.disks, keyOf(scope, disk.name), disk);
          }
        }
        return r;
      });
      // A static IP's address is the static IP's: the instance gives back only its own.
      if (rec.staticIpName) delete rec.ip;
      fleet.delete(rec);
      deps.monitor.forget(rec.id);
      return {
        operations: [
          operation(
            scope,
            deps.now(),
            rec.name,
            'Instance',
            'DeleteInstance',
            rec.availabilityZone,
          ),
        ],
      };
    },

    async GetInstanceAccessDetails(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await findInstance(store, scope, input.instanceName);
      if (input.protocol === 'rdp') throw invalid('RDP is only for Windows instances.');
      if (rec.state !== 'running' || !rec.ip)
        throw invalid(`The instance ${rec.name} must be running to get its access details.`);
      const now = deps.now();
      const username = blueprintOf(rec.blueprintId)?.username ?? 'admin';
      const issued = await issueAccessKey(
        await ensureCa(store, scope),
        username,
        `${rec.name}-${now}`,
      );
      const hostKeys = (await fleet.machines.hostKeys(rec.id)).map((k) => ({
        ...k,
        witnessedAt: new Date(now),
      }));
      return {
        accessDetails: {
          instanceName: rec.name,
          username,
          ipAddress: rec.ip,
          ipv6Addresses: [],
          protocol: 'ssh',
          // A temporary key and its certificate, which the instance's sshd trusts.
          privateKey: issued.privateKey,
          certKey: issued.certKey,
          expiresAt: new Date(now + ACCESS_VALID_MS),
          hostKeys,
        },
      };
    },

    async GetBlueprints(input) {
      return {
        blueprints: BLUEPRINTS.filter((b) => input.includeInactive || b.isActive).map(
          blueprintView,
        ),
      };
    },

    async GetBundles() {
      return {
        bundles: BUNDLES.map((b) => ({ ...b, supportedPlatforms: [...b.supportedPlatforms] })),
      };
    },
  };

  /** Checks and changes an instance in one transaction; resolves the changed record. */
  async function fleetUpdate(
    scope: Scope,
    name: string,
    change: (r: InstanceRecord) => void,
  ): Promise<InstanceRecord> {
    return store.transaction(async (tx) => {
      const r = await findInstance(tx, scope, name);
      change(r);
      await tx.put(T.instances, keyOf(scope, name), r);
      return r;
    });
  }
}
