/**
 * Lambda Managed Instances on this machine: every published version on a capacity provider
 * keeps its scaling config's minimum of execution environments started and initialised
 * (three when no config names one: "starts three execution environments before marking
 * your function version ACTIVE"), through the same keeper as provisioned concurrency.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html
 * Managed Instances are billed as EC2 instances, not as provisioned concurrency: the
 * environments kept here are not metered.
 */
import type { MetadataStore } from '../../../storage/types.js';
import { LATEST, type Scope } from '../arns.js';
import { scalingOf } from '../capacity-providers.js';
import type { LambdaFunctions } from '../functions-api.js';
import { T, childPrefix, functionKey, scopePrefix, type VersionRecord } from '../store.js';
import type { ProvisionedEnvironments } from './provisioning.js';

export class ManagedInstances {
  constructor(
    private readonly deps: {
      store: MetadataStore;
      functions: LambdaFunctions;
      provisioner: ProvisionedEnvironments;
      warn: (msg: string, detail?: Record<string, unknown>) => void;
    },
  ) {
    // A publish (or a deleted version) changes which versions keep environments.
    deps.functions.onChange((change) => {
      if (change.kind === 'deleted') return;
      this.sync({ account: change.account, region: change.region }, change.functionName);
    });
  }

  /** Brings the function's published versions on capacity providers to their minimum. */
  sync(scope: Scope, functionName: string): void {
    void this.apply(scope, functionName).catch((err: unknown) =>
      this.deps.warn('could not start Managed Instances environments', {
        function: functionName,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }

  /** After a restart: every function with a version on a capacity provider. */
  async start(): Promise<void> {
    const names = new Map<string, Scope & { name: string }>();
    for (const { key, value } of await this.deps.store.list<VersionRecord>(T.versions)) {
      if (!value.capacityProvider || value.version === LATEST) continue;
      const [account, region] = key.split(':');
      const name = key.slice(scopePrefix({ account, region }).length, key.lastIndexOf(':'));
      names.set(`${account}:${region}:${name}`, { account, region, name });
    }
    for (const f of names.values()) await this.apply(f, f.name);
  }

  private async apply(scope: Scope, functionName: string): Promise<void> {
    const fnKey = functionKey(scope, functionName);
    const rows = await this.deps.store.list<VersionRecord>(T.versions, {
      prefix: childPrefix(fnKey),
    });
    for (const { value: v } of rows) {
      if (v.version === LATEST || !v.capacityProvider) continue;
      const { min } = await scalingOf(this.deps.store, fnKey, v.version);
      this.deps.provisioner.provision(scope, functionName, v.version, min, { meter: false });
    }
  }
}
