/**
 * API keys, usage plans, their keys, and the usage they count.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateUsagePlan.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_GetUsage.html
 */
import { randomBytes } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type { ApiKey, ApiStage, UsagePlan } from '../../api/apigateway/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { randomId } from '../apigateway-shared/ids.js';
import { type ApigwDeps, pageOf, scopeOf, toDate } from './common.js';
import { applyPatch, invalidPath, pathSegments } from './patch.js';
import {
  type ApiKeyRecord,
  childKey,
  type Scope,
  scopeKey,
  type StageRecord,
  T,
  type UsagePlanKeyRecord,
  type UsagePlanRecord,
} from './store.js';
import { dayOf, periodStart, usageKey, usedSince } from './usage.js';

type UsagePlanOps = Pick<
  ApigatewayOperations,
  | 'CreateApiKey'
  | 'GetApiKey'
  | 'GetApiKeys'
  | 'UpdateApiKey'
  | 'DeleteApiKey'
  | 'CreateUsagePlan'
  | 'GetUsagePlan'
  | 'GetUsagePlans'
  | 'UpdateUsagePlan'
  | 'DeleteUsagePlan'
  | 'CreateUsagePlanKey'
  | 'GetUsagePlanKey'
  | 'GetUsagePlanKeys'
  | 'DeleteUsagePlanKey'
  | 'GetUsage'
  | 'UpdateUsage'
>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A generated key value: 40 alphanumeric characters, like AWS's. */
function keyValue(): string {
  const bytes = randomBytes(40);
  let out = '';
  for (const b of bytes) out += ALNUM[b % 62];
  return out;
}

export function apiKeyOut(k: ApiKeyRecord, includeValue: boolean): ApiKey {
  return {
    id: k.id,
    ...(includeValue && { value: k.value }),
    ...(k.name !== undefined && { name: k.name }),
    ...(k.customerId !== undefined && { customerId: k.customerId }),
    ...(k.description !== undefined && { description: k.description }),
    enabled: k.enabled,
    createdDate: toDate(k.createdDate),
    lastUpdatedDate: toDate(k.lastUpdatedDate),
    stageKeys: k.stageKeys,
    ...(Object.keys(k.tags).length > 0 && { tags: k.tags }),
  };
}

function planOut(p: UsagePlanRecord): UsagePlan {
  return {
    id: p.id,
    name: p.name,
    ...(p.description !== undefined && { description: p.description }),
    apiStages: p.apiStages,
    ...(p.throttle && { throttle: p.throttle }),
    ...(p.quota && { quota: p.quota }),
    ...(p.productCode !== undefined && { productCode: p.productCode }),
    ...(Object.keys(p.tags).length > 0 && { tags: p.tags }),
  };
}

const keyRow = (scope: Scope, id: string) => `${scopeKey(scope)}:${id}`;

async function getKey(ops: MetadataOps, scope: Scope, id: string): Promise<ApiKeyRecord> {
  const k = await ops.get<ApiKeyRecord>(T.apiKeys, keyRow(scope, id));
  if (!k) throw new NotFoundException('Invalid API Key identifier specified');
  return k;
}

async function getPlan(ops: MetadataOps, scope: Scope, id: string): Promise<UsagePlanRecord> {
  const p = await ops.get<UsagePlanRecord>(T.usagePlans, keyRow(scope, id));
  if (!p) throw new NotFoundException('Invalid Usage Plan ID specified');
  return p;
}

async function checkApiStage(ops: MetadataOps, scope: Scope, s: ApiStage, planId: string) {
  const stage =
    s.apiId !== undefined && s.stage !== undefined
      ? await ops.get<StageRecord>(T.stages, childKey(scope, s.apiId, s.stage))
      : undefined;
  if (!stage) {
    throw new BadRequestException(
      `Invalid API Stage {api: ${s.apiId ?? ''}, stage: ${s.stage ?? ''}} specified for usageplan ${planId}`,
    );
  }
}

export function usagePlanOperations(deps: ApigwDeps): UsagePlanOps {
  const { store } = deps;
  return {
    async CreateApiKey(input, ctx) {
      const scope = scopeOf(ctx);
      const value = input.value ?? keyValue();
      if (value.length < 20) {
        throw new BadRequestException('API Key value should be at least 20 characters');
      }
      const now = deps.now();
      const k: ApiKeyRecord = {
        id: randomId(10),
        value,
        ...(input.name !== undefined && { name: input.name }),
        ...(input.customerId !== undefined && { customerId: input.customerId }),
        ...(input.description !== undefined && { description: input.description }),
        enabled: input.enabled ?? false,
        createdDate: now,
        lastUpdatedDate: now,
        stageKeys: (input.stageKeys ?? []).map((s) => `${s.restApiId ?? ''}/${s.stageName ?? ''}`),
        tags: input.tags ?? {},
      };
      await store.transaction(async (tx) => {
        if (!(await tx.insert(T.apiKeyValues, keyRow(scope, value), k.id))) {
          throw new ConflictException('API Key already exists');
        }
        await tx.put(T.apiKeys, keyRow(scope, k.id), k);
      });
      return apiKeyOut(k, true);
    },
    async GetApiKey(input, ctx) {
      return apiKeyOut(
        await getKey(store, scopeOf(ctx), input.apiKey),
        input.includeValue ?? false,
      );
    },
    async GetApiKeys(input, ctx) {
      const rows = await store.list<ApiKeyRecord>(T.apiKeys, {
        prefix: `${scopeKey(scopeOf(ctx))}:`,
      });
      const all = rows
        .map((r) => r.value)
        .filter((k) => input.nameQuery === undefined || (k.name ?? '').startsWith(input.nameQuery))
        .filter((k) => input.customerId === undefined || k.customerId === input.customerId);
      const page = pageOf(all, (k) => k.id, input.position, input.limit);
      return {
        items: page.items.map((k) => apiKeyOut(k, input.includeValues ?? false)),
        ...(page.position && { position: page.position }),
      };
    },
    async UpdateApiKey(input, ctx) {
      const scope = scopeOf(ctx);
      const out = await store.transaction(async (tx) => {
        const k = await getKey(tx, scope, input.apiKey);
        applyPatch(k as unknown as Record<string, unknown>, input.patchOperations, {
          name: 'string',
          description: 'string',
          enabled: 'boolean',
          customerId: 'string',
          stageKeys: 'list',
        });
        k.lastUpdatedDate = deps.now();
        await tx.put(T.apiKeys, keyRow(scope, k.id), k);
        return apiKeyOut(k, false);
      });
      deps.changed();
      return out;
    },
    async DeleteApiKey(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const k = await getKey(tx, scope, input.apiKey);
        await tx.delete(T.apiKeys, keyRow(scope, k.id));
        await tx.delete(T.apiKeyValues, keyRow(scope, k.value));
        for (const row of await tx.list<UsagePlanKeyRecord>(T.usagePlanKeys, {
          prefix: `${scopeKey(scope)}:`,
        })) {
          if (row.key.endsWith(`:${k.id}`)) await tx.delete(T.usagePlanKeys, row.key);
        }
      });
      deps.changed();
    },

    async CreateUsagePlan(input, ctx) {
      const scope = scopeOf(ctx);
      const p: UsagePlanRecord = {
        id: randomId(6),
        name: input.name,
        ...(input.description !== undefined && { description: input.description }),
        apiStages: input.apiStages ?? [],
        ...(input.throttle && { throttle: input.throttle }),
        ...(input.quota && { quota: input.quota }),
        tags: input.tags ?? {},
      };
      if (p.quota && (p.quota.limit === undefined || p.quota.period === undefined)) {
        throw new BadRequestException('Quota limit and period must be specified');
      }
      await store.transaction(async (tx) => {
        for (const s of p.apiStages) await checkApiStage(tx, scope, s, p.id);
        await tx.put(T.usagePlans, keyRow(scope, p.id), p);
      });
      deps.changed();
      return planOut(p);
    },
    async GetUsagePlan(input, ctx) {
      return planOut(await getPlan(store, scopeOf(ctx), input.usagePlanId));
    },
    async GetUsagePlans(input, ctx) {
      const scope = scopeOf(ctx);
      const rows = await store.list<UsagePlanRecord>(T.usagePlans, {
        prefix: `${scopeKey(scope)}:`,
      });
      let all = rows.map((r) => r.value);
      if (input.keyId !== undefined) {
        const keyId = input.keyId;
        const withKey = new Set<string>();
        for (const p of all) {
          const k = await store.get(T.usagePlanKeys, `${keyRow(scope, p.id)}:${keyId}`);
          if (k) withKey.add(p.id);
        }
        all = all.filter((p) => withKey.has(p.id));
      }
      const page = pageOf(all, (p) => p.id, input.position, input.limit);
      return { items: page.items.map(planOut), ...(page.position && { position: page.position }) };
    },
    async UpdateUsagePlan(input, ctx) {
      const scope = scopeOf(ctx);
      const out = await store.transaction(async (tx) => {
        const p = await getPlan(tx, scope, input.usagePlanId);
        for (const op of input.patchOperations ?? []) {
          const seg = pathSegments(op.path ?? '');
          const kind = op.op ?? 'replace';
          if (seg[0] === 'apiStages' && seg.length === 1) {
            const [apiId, stage] = (op.value ?? '').split(':');
            const s: ApiStage = { apiId, stage };
            if (kind === 'add') {
              await checkApiStage(tx, scope, s, p.id);
              p.apiStages = [...p.apiStages, s];
            } else if (kind === 'remove') {
              p.apiStages = p.apiStages.filter((x) => x.apiId !== apiId || x.stage !== stage);
            } else throw invalidPath(op.path ?? '', kind);
          } else if ((seg[0] === 'throttle' || seg[0] === 'quota') && seg.length === 1) {
            if (kind !== 'remove') throw invalidPath(op.path ?? '', kind);
            delete p[seg[0]];
          } else if (seg[0] === 'throttle' && seg.length === 2) {
            p.throttle ??= {};
            applyPatch(
              p.throttle as Record<string, unknown>,
              [{ ...op, path: `/${seg[1] ?? ''}` }],
              {
                rateLimit: 'number',
                burstLimit: 'number',
              },
            );
          } else if (seg[0] === 'quota' && seg.length === 2) {
            p.quota ??= {};
            applyPatch(p.quota as Record<string, unknown>, [{ ...op, path: `/${seg[1] ?? ''}` }], {
              limit: 'number',
              offset: 'number',
              period: 'string',
            });
          } else {
            applyPatch(p as unknown as Record<string, unknown>, [op], {
              name: 'string',
              description: 'string',
              productCode: 'string',
            });
          }
        }
        await tx.put(T.usagePlans, keyRow(scope, p.id), p);
        return planOut(p);
      });
      deps.changed();
      return out;
    },
    async DeleteUsagePlan(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        await getPlan(tx, scope, input.usagePlanId);
        await tx.delete(T.usagePlans, keyRow(scope, input.usagePlanId));
        await tx.deletePrefix(T.usagePlanKeys, `${keyRow(scope, input.usagePlanId)}:`);
      });
      deps.changed();
    },

    async CreateUsagePlanKey(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.keyType !== 'API_KEY') {
        throw new BadRequestException(`Invalid key type specified: ${input.keyType}`);
      }
      const out = await store.transaction(async (tx) => {
        const plan = await getPlan(tx, scope, input.usagePlanId);
        const k = await getKey(tx, scope, input.keyId);
        // A key may be in one plan per API stage.
        const others = await tx.list<UsagePlanRecord>(T.usagePlans, {
          prefix: `${scopeKey(scope)}:`,
        });
        for (const o of others) {
          if (o.value.id === plan.id) continue;
          if (!(await tx.get(T.usagePlanKeys, `${keyRow(scope, o.value.id)}:${k.id}`))) continue;
          const shared = o.value.apiStages.some((a) =>
            plan.apiStages.some((b) => a.apiId === b.apiId && a.stage === b.stage),
          );
          if (shared) {
            throw new ConflictException(
              `Usage Plan ${plan.id} cannot be added because API Key ${k.id} cannot reference multiple Usage Plans with the same API Stage`,
            );
          }
        }
        const row: UsagePlanKeyRecord = { id: k.id, type: 'API_KEY' };
        if (!(await tx.insert(T.usagePlanKeys, `${keyRow(scope, plan.id)}:${k.id}`, row))) {
          throw new ConflictException('Usage plan key already exists');
        }
        return {
          id: k.id,
          type: 'API_KEY',
          value: k.value,
          ...(k.name !== undefined && { name: k.name }),
        };
      });
      deps.changed();
      return out;
    },
    async GetUsagePlanKey(input, ctx) {
      const scope = scopeOf(ctx);
      await getPlan(store, scope, input.usagePlanId);
      const row = await store.get(
        T.usagePlanKeys,
        `${keyRow(scope, input.usagePlanId)}:${input.keyId}`,
      );
      if (!row) throw new NotFoundException('Invalid Usage Plan Key identifier specified');
      const k = await getKey(store, scope, input.keyId);
      return {
        id: k.id,
        type: 'API_KEY',
        value: k.value,
        ...(k.name !== undefined && { name: k.name }),
      };
    },
    async GetUsagePlanKeys(input, ctx) {
      const scope = scopeOf(ctx);
      await getPlan(store, scope, input.usagePlanId);
      const rows = await store.list<UsagePlanKeyRecord>(T.usagePlanKeys, {
        prefix: `${keyRow(scope, input.usagePlanId)}:`,
      });
      const keys: ApiKeyRecord[] = [];
      for (const r of rows) {
        const k = await store.get<ApiKeyRecord>(T.apiKeys, keyRow(scope, r.value.id));
        if (k && (input.nameQuery === undefined || (k.name ?? '').startsWith(input.nameQuery))) {
          keys.push(k);
        }
      }
      const page = pageOf(keys, (k) => k.id, input.position, input.limit);
      return {
        items: page.items.map((k) => ({
          id: k.id,
          type: 'API_KEY',
          value: k.value,
          ...(k.name !== undefined && { name: k.name }),
        })),
        ...(page.position && { position: page.position }),
      };
    },
    async DeleteUsagePlanKey(input, ctx) {
      const scope = scopeOf(ctx);
      await getPlan(store, scope, input.usagePlanId);
      if (
        !(await store.delete(T.usagePlanKeys, `${keyRow(scope, input.usagePlanId)}:${input.keyId}`))
      ) {
        throw new NotFoundException('Invalid Usage Plan Key identifier specified');
      }
      deps.changed();
    },

    async GetUsage(input, ctx) {
      const scope = scopeOf(ctx);
      const plan = await getPlan(store, scope, input.usagePlanId);
      const start = Date.parse(`${input.startDate}T00:00:00Z`);
      const end = Date.parse(`${input.endDate}T00:00:00Z`);
      if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
        throw new BadRequestException('Invalid start date or end date specified');
      }
      const keyRows = await store.list<UsagePlanKeyRecord>(T.usagePlanKeys, {
        prefix: `${keyRow(scope, plan.id)}:`,
      });
      const keys = keyRows
        .map((r) => r.value.id)
        .filter((id) => input.keyId === undefined || id === input.keyId);
      const items: Record<string, number[][]> = {};
      for (const keyId of keys) {
        const days: number[][] = [];
        for (let t = start; t <= end; t += 86_400_000) {
          const used =
            (await store.get<number>(T.usage, usageKey(scope, plan.id, keyId, dayOf(t)))) ?? 0;
          // [used, remaining]: remaining is what the quota period left at the end of that day.
          let remaining = 0;
          if (plan.quota?.limit !== undefined) {
            const from = periodStart(plan.quota, t);
            remaining = Math.max(
              0,
              plan.quota.limit - (await usedSince(store, scope, plan.id, keyId, from, t)),
            );
          }
          days.push([used, remaining]);
        }
        items[keyId] = days;
      }
      return { usagePlanId: plan.id, startDate: input.startDate, endDate: input.endDate, items };
    },
    async UpdateUsage(input, ctx) {
      const scope = scopeOf(ctx);
      const plan = await getPlan(store, scope, input.usagePlanId);
      await getKey(store, scope, input.keyId);
      for (const op of input.patchOperations ?? []) {
        if (op.path !== '/remaining' || plan.quota?.limit === undefined) {
          throw invalidPath(op.path ?? '', op.op);
        }
        const remaining = Number(op.value);
        if (!Number.isInteger(remaining) || remaining < 0) {
          throw new BadRequestException('Invalid remaining quota value');
        }
        // Grants `remaining` more requests this period: today's row absorbs the difference.
        const now = deps.now();
        const from = periodStart(plan.quota, now);
        const used = await usedSince(store, scope, plan.id, input.keyId, from, now);
        const key = usageKey(scope, plan.id, input.keyId, dayOf(now));
        const today = (await store.get<number>(T.usage, key)) ?? 0;
        await store.put(T.usage, key, Math.max(0, today + (plan.quota.limit - remaining - used)));
      }
      deps.changed();
      return { usagePlanId: plan.id, items: {} };
    },
  };
}
