/**
 * Provisioned concurrency per alias or published version.
 * https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
 * The configuration is stored here; the invoke path keeps that many environments of the
 * version initialised (see `Provisioner`) and the status says whether they are.
 */
import { ProvisionedConcurrencyConfigNotFoundException } from '../../api/lambda/errors.js';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  ProvisionedConcurrencyConfigListItem,
  ProvisionedConcurrencyStatusEnum,
} from '../../api/lambda/types.js';
import { LATEST, qualifiedArn, type Scope } from './arns.js';
import {
  locate,
  pageArray,
  qualifierExists,
  requireFunction,
  resolveTarget,
  type LambdaDeps,
} from './common.js';
import { lambdaDate } from './dates.js';
import { functionNotFound, invalidParameter } from './errors.js';
import { T, childPrefix, qualifierKey } from './store.js';

type ProvisionedOps = Pick<
  LambdaOperations,
  | 'PutProvisionedConcurrencyConfig'
  | 'GetProvisionedConcurrencyConfig'
  | 'DeleteProvisionedConcurrencyConfig'
  | 'ListProvisionedConcurrencyConfigs'
>;

export interface ProvisionedRecord {
  qualifier: string;
  requested: number;
  lastModified: string;
}

/** What the invoke path reports about the environments it keeps for a qualifier. */
export interface ProvisionedState {
  available: number;
  status: ProvisionedConcurrencyStatusEnum;
  reason?: string;
}

/** Starts, resizes and stops the environments behind provisioned concurrency. */
export interface Provisioner {
  /** Makes `count` environments of the function's qualifier ready (0 stops them). */
  provision(scope: Scope, functionName: string, qualifier: string, count: number): void;
  state(scope: Scope, functionName: string, qualifier: string, requested: number): ProvisionedState;
}

/** Until the invoke path says otherwise, a configuration is ready as soon as stored. */
export const storedOnly: Provisioner = {
  provision() {},
  state: (_scope, _name, _q, requested) => ({ available: requested, status: 'READY' }),
};

const notFound = () =>
  new ProvisionedConcurrencyConfigNotFoundException(
    'No Provisioned Concurrency Config found for this function',
    { Type: 'User' },
  );

export function provisionedOperations(
  deps: LambdaDeps,
  provisioner: () => Provisioner,
): ProvisionedOps {
  const { store } = deps;

  function item(scope: Scope, name: string, rec: ProvisionedRecord) {
    const s = provisioner().state(scope, name, rec.qualifier, rec.requested);
    const out: ProvisionedConcurrencyConfigListItem = {
      RequestedProvisionedConcurrentExecutions: rec.requested,
      AvailableProvisionedConcurrentExecutions: s.available,
      AllocatedProvisionedConcurrentExecutions: s.status === 'READY' ? rec.requested : s.available,
      Status: s.status,
      LastModified: rec.lastModified,
    };
    if (s.reason) out.StatusReason = s.reason;
    return out;
  }

  function qualifierOf(q: string | undefined): string {
    if (q === undefined || q === LATEST) {
      throw invalidParameter(
        'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
      );
    }
    return q;
  }

  return {
    async PutProvisionedConcurrencyConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'PutProvisionedConcurrencyConfig',
      });
      const q = qualifierOf(at.qualifier);
      const rec: ProvisionedRecord = {
        qualifier: q,
        requested: input.ProvisionedConcurrentExecutions,
        lastModified: lambdaDate(deps.now()),
      };
      await store.transaction(async (tx) => {
        const fn = await requireFunction(tx, at, q);
        const { version } = await resolveTarget(tx, at, q);
        if (version.capacityProvider) {
          throw invalidParameter(
            'Provisioned Concurrency is not supported for functions using a capacity provider. Use PutFunctionScalingConfig instead.',
          );
        }
        if (fn.reservedConcurrency !== undefined && rec.requested > fn.reservedConcurrency) {
          throw invalidParameter(
            `Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function`,
          );
        }
        await tx.put(T.provisioned, qualifierKey(at.key, q), rec);
      });
      provisioner().provision(at.scope, at.name, q, rec.requested);
      const s = provisioner().state(at.scope, at.name, q, rec.requested);
      const out = item(at.scope, at.name, rec);
      return s.status === 'READY' ? out : { ...out, Status: 'IN_PROGRESS' };
    },

    async GetProvisionedConcurrencyConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'GetProvisionedConcurrencyConfig',
      });
      const q = qualifierOf(at.qualifier);
      await requireFunction(store, at, q);
      if (!(await qualifierExists(store, at.key, q))) {
        throw functionNotFound(qualifiedArn(at.scope, at.name, q));
      }
      const rec = await store.get<ProvisionedRecord>(T.provisioned, qualifierKey(at.key, q));
      if (!rec) throw notFound();
      return item(at.scope, at.name, rec);
    },

    async DeleteProvisionedConcurrencyConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'DeleteProvisionedConcurrencyConfig',
      });
      const q = qualifierOf(at.qualifier);
      await store.transaction(async (tx) => {
        await requireFunction(tx, at, q);
        if (!(await tx.get(T.provisioned, qualifierKey(at.key, q)))) throw notFound();
        await tx.delete(T.provisioned, qualifierKey(at.key, q));
      });
      provisioner().provision(at.scope, at.name, q, 0);
    },

    async ListProvisionedConcurrencyConfigs(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'ListProvisionedConcurrencyConfigs',
        allowQualifier: false,
      });
      await requireFunction(store, at);
      const rows = await store.list<ProvisionedRecord>(T.provisioned, {
        prefix: childPrefix(at.key),
      });
      const page = pageArray(
        rows.map((r) => ({
          FunctionArn: qualifiedArn(at.scope, at.name, r.value.qualifier),
          ...item(at.scope, at.name, r.value),
        })),
        (i) => i.FunctionArn,
        input.Marker,
        input.MaxItems,
      );
      return page.nextMarker === undefined
        ? { ProvisionedConcurrencyConfigs: page.items }
        : { ProvisionedConcurrencyConfigs: page.items, NextMarker: page.nextMarker };
    },
  };
}
