/**
 * Provisioned concurrency for real: for each configuration (function + alias or version),
 * that many execution environments of the version are started ahead of any invocation and
 * kept initialised, so the invocations they take report no Init Duration.
 * https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
 * They are started again after a code or configuration change (which retires the old
 * ones), and at start-up for the configurations in the store.
 * The bill's meter holds the configured GB (count × memory) from the moment the
 * environments are asked for until the configuration goes: AWS bills provisioned
 * concurrency "from the time you enable it on your function until it is disabled".
 */
import type { Level, Meter } from '../../../billing/meter.js';
import { buildArn, rootPrincipal } from '../../../shared/arn.js';
import type { MetadataStore } from '../../../storage/types.js';
import type { Scope } from '../arns.js';
import type { LambdaExecutor } from '../execution/executor.js';
import type { LambdaFunctions } from '../functions-api.js';
import type { ProvisionedState, Provisioner } from '../provisioned.js';
import type { ProvisionedRecord } from '../provisioned.js';
import { T } from '../store.js';
import type { InvocationRunner } from './runner.js';

interface Wanted {
  scope: Scope;
  functionName: string;
  qualifier: string;
  count: number;
  /** What the meter holds for it (ended with a level of 0 when the configuration goes). */
  metered?: Omit<Level, 'value' | 'at'>;
  /** The revision the environments run, once resolved. */
  revisionId?: string;
  /** False for Managed Instances (billed as instances, not provisioned concurrency). */
  meter: boolean;
  failure?: string;
}

const keyOf = (scope: Scope, name: string, qualifier: string) =>
  `${scope.account}\0${scope.region}\0${name}\0${qualifier}`;

export class ProvisionedEnvironments implements Provisioner {
  private readonly wanted = new Map<string, Wanted>();

  constructor(
    private readonly deps: {
      store: MetadataStore;
      functions: LambdaFunctions;
      runner: InvocationRunner;
      executor: () => LambdaExecutor;
      meter: Meter;
      warn: (msg: string, detail?: Record<string, unknown>) => void;
    },
  ) {
    // A change retires the function's environments: start the provisioned ones again.
    deps.functions.onChange((change) => {
      for (const w of this.wanted.values()) {
        if (
          w.functionName === change.functionName &&
          w.scope.account === change.account &&
          w.scope.region === change.region
        ) {
          if (change.kind === 'deleted')
            this.wanted.delete(keyOf(w.scope, w.functionName, w.qualifier));
          else this.fill(w);
        }
      }
    });
  }

  provision(
    scope: Scope,
    functionName: string,
    qualifier: string,
    count: number,
    options: { meter?: boolean } = {},
  ): void {
    const key = keyOf(scope, functionName, qualifier);
    const old = this.wanted.get(key);
    if (count <= 0) {
      this.wanted.delete(key);
      if (old?.metered) this.deps.meter.level({ ...old.metered, value: 0, at: Date.now() });
      if (old?.revisionId !== undefined) this.release(old);
      return;
    }
    const w: Wanted = {
      scope,
      functionName,
      qualifier,
      count,
      metered: old?.metered,
      meter: options.meter ?? true,
    };
    this.wanted.set(key, w);
    this.fill(w);
  }

  state(
    scope: Scope,
    functionName: string,
    qualifier: string,
    requested: number,
  ): ProvisionedState {
    const w = this.wanted.get(keyOf(scope, functionName, qualifier));
    if (w?.failure !== undefined) return { available: 0, status: 'FAILED', reason: w.failure };
    if (w?.revisionId === undefined) return { available: 0, status: 'IN_PROGRESS' };
    const ready = this.deps
      .executor()
      .provisionedReady(scope.account, scope.region, functionName, w.revisionId);
    const available = Math.min(ready, requested);
    return { available, status: available >= requested ? 'READY' : 'IN_PROGRESS' };
  }

  /** Starts the configurations kept in the store (after a restart). */
  async start(): Promise<void> {
    for (const { key, value } of await this.deps.store.list<ProvisionedRecord>(T.provisioned)) {
      const [account, region, name] = key.split(':');
      this.provision({ account, region }, name, value.qualifier, value.requested);
    }
  }

  private fill(w: Wanted): void {
    void this.resolveAndStart(w).catch((err: unknown) => {
      w.failure = err instanceof Error ? err.message : String(err);
      this.deps.warn('could not start provisioned environments', {
        function: w.functionName,
        qualifier: w.qualifier,
        error: w.failure,
      });
    });
  }

  private async resolveAndStart(w: Wanted): Promise<void> {
    const ctx = { ...w.scope, principal: rootPrincipal(w.scope.account) };
    const target = await this.deps.functions.resolve(ctx, w.functionName, w.qualifier);
    const spec = await this.deps.runner.specFor(target);
    if (this.wanted.get(keyOf(w.scope, w.functionName, w.qualifier)) !== w) return;
    w.revisionId = spec.revisionId;
    delete w.failure;
    const arn = buildArn('lambda', w.scope.region, w.scope.account, `function:${w.functionName}`);
    if (!w.meter) {
      await this.deps.executor().provision(spec, w.count);
      return;
    }
    w.metered = {
      ...w.scope,
      service: 'AWSLambda',
      usageType: `Lambda-Provisioned-Concurrency${target.version.architectures[0] === 'arm64' ? '-ARM' : ''}`,
      resource: arn,
      series: `${arn}:${w.qualifier}`,
    };
    this.deps.meter.level({
      ...w.metered,
      value: (w.count * spec.memoryMb) / 1024,
      at: Date.now(),
    });
    await this.deps.executor().provision(spec, w.count);
  }

  /** The configuration went: its environments follow the ordinary idle rules again. */
  private release(w: Wanted): void {
    const ctx = { ...w.scope, principal: rootPrincipal(w.scope.account) };
    void this.deps.functions
      .resolve(ctx, w.functionName, w.qualifier)
      .then((target) => this.deps.runner.specFor(target))
      .then((spec) => this.deps.executor().provision(spec, 0))
      .catch(() => {});
  }
}
