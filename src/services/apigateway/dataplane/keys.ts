/**
 * API keys and usage plans on the invoke path: the key a request presents (the
 * `x-api-key` header, or the authorizer's usageIdentifierKey when the API's key source
 * is AUTHORIZER), the plan that covers it for the API stage, the plan's token bucket
 * (429 "Too Many Requests") and quota (429 "Limit Exceeded").
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
 * Lookups are cached until a key, plan or plan key changes (deps.changed()).
 */
import type { GatewayResponseType } from '../../../api/apigateway/types.js';
import type { MetadataStore } from '../../../storage/types.js';
import type { TokenBuckets } from '../../apigateway-shared/throttle.js';
import { type ApiKeyRecord, type Scope, scopeKey, T, type UsagePlanRecord } from '../store.js';
import type { UsageMeter } from '../usage.js';
import { BoundedMap } from '../../../shared/bounded-map.js';

export type KeyCheck =
  | { kind: 'ok'; key: ApiKeyRecord }
  | { kind: 'refuse'; type: GatewayResponseType; status: number; message: string };

const forbidden: KeyCheck = {
  kind: 'refuse',
  type: 'INVALID_API_KEY',
  status: 403,
  message: 'Forbidden',
};

export class ApiKeyGate {
  private readonly keys = new BoundedMap<string, ApiKeyRecord | null>(10_000);
  private plans = new Map<string, UsagePlanRecord[]>();
  private members = new Map<string, boolean>();

  constructor(
    private readonly store: MetadataStore,
    private readonly buckets: TokenBuckets,
    private readonly usage: UsageMeter,
  ) {}

  clear(): void {
    this.keys.clear();
    this.plans.clear();
    this.members.clear();
    this.buckets.clear('plan/');
    this.usage.clear();
  }

  async check(
    scope: Scope,
    apiId: string,
    stage: string,
    value: string | undefined,
    methodKey: string,
  ): Promise<KeyCheck> {
    if (value === undefined || value === '') return forbidden;
    const key = await this.keyByValue(scope, value);
    if (!key?.enabled) return forbidden;
    const plan = await this.planFor(scope, apiId, stage, key.id);
    if (!plan) return forbidden;
    const t =
      plan.apiStages.find((s) => s.apiId === apiId && s.stage === stage)?.throttle?.[methodKey] ??
      plan.throttle;
    if (t && (t.rateLimit !== undefined || t.burstLimit !== undefined)) {
      const rate = t.rateLimit ?? 0;
      const burst = t.burstLimit ?? Math.max(1, Math.ceil(rate));
      if (!this.buckets.take(`plan/${plan.id}/${key.id}/${methodKey}`, rate, burst)) {
        return { kind: 'refuse', type: 'THROTTLED', status: 429, message: 'Too Many Requests' };
      }
    }
    if (!(await this.usage.take(scope, plan.id, key.id, plan.quota))) {
      return { kind: 'refuse', type: 'QUOTA_EXCEEDED', status: 429, message: 'Limit Exceeded' };
    }
    return { kind: 'ok', key };
  }

  private async keyByValue(scope: Scope, value: string): Promise<ApiKeyRecord | null> {
    const memo = `${scopeKey(scope)}:${value}`;
    let k = this.keys.get(memo);
    if (k === undefined) {
      const id = await this.store.get<string>(T.apiKeyValues, memo);
      k =
        (id && (await this.store.get<ApiKeyRecord>(T.apiKeys, `${scopeKey(scope)}:${id}`))) || null;
      // Wrong keys are remembered too (any caller sends any x-api-key): bounded.
      this.keys.set(memo, k);
    }
    return k;
  }

  private async planFor(
    scope: Scope,
    apiId: string,
    stage: string,
    keyId: string,
  ): Promise<UsagePlanRecord | undefined> {
    const memo = `${scopeKey(scope)}:${apiId}:${stage}`;
    let plans = this.plans.get(memo);
    if (!plans) {
      const rows = await this.store.list<UsagePlanRecord>(T.usagePlans, {
        prefix: `${scopeKey(scope)}:`,
      });
      plans = rows
        .map((r) => r.value)
        .filter((p) => p.apiStages.some((s) => s.apiId === apiId && s.stage === stage));
      this.plans.set(memo, plans);
    }
    for (const p of plans) {
      const m = `${scopeKey(scope)}:${p.id}:${keyId}`;
      let member = this.members.get(m);
      if (member === undefined) {
        member = (await this.store.get(T.usagePlanKeys, m)) !== undefined;
        this.members.set(m, member);
      }
      if (member) return p;
    }
    return undefined;
  }
}
