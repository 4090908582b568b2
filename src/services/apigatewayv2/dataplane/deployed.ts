/**
 * What the invoke path serves: each API's stages with the deployment they point at,
 * compiled once (routes into a Router) and kept in memory until the control plane changes
 * the API (`forget`), so a request costs no store read on the warm path.
 */
import type { MetadataStore } from '../../../storage/types.js';
import {
  APIS,
  type ApiRecord,
  childKey,
  childPrefix,
  type RouteRecord,
  type Snapshot,
  SNAPSHOTS,
  STAGES,
  type StageRecord,
} from '../store.js';
import { Router } from './router.js';

export interface LiveStage {
  stage: StageRecord;
  snapshot: Snapshot;
  router: Router<RouteRecord>;
  /** Route keys by route id, for WebSocket route selection. */
  byKey: Map<string, RouteRecord>;
}

export interface LiveApi {
  api: ApiRecord;
  /** Stages with a deployment, by name. */
  stages: Map<string, LiveStage>;
}

export class DeployedApis {
  private readonly cache = new Map<string, Promise<LiveApi | undefined>>();
  /** Bumped by forget(): a load that raced a change is not cached. */
  private generation = 0;

  constructor(private readonly store: MetadataStore) {}

  get(apiId: string): Promise<LiveApi | undefined> {
    const cached = this.cache.get(apiId);
    if (cached) return cached;
    const generation = this.generation;
    const loading = this.load(apiId);
    this.cache.set(apiId, loading);
    loading.then(
      (live) => {
        if (generation !== this.generation || live === undefined) this.drop(apiId, loading);
      },
      () => this.drop(apiId, loading),
    );
    return loading;
  }

  /** Whether `apiId` is an HTTP or WebSocket API (any account). */
  async owns(apiId: string): Promise<boolean> {
    if (this.cache.has(apiId)) return (await this.get(apiId)) !== undefined;
    return (await this.store.get(APIS, apiId)) !== undefined;
  }

  forget(apiId?: string): void {
    this.generation++;
    if (apiId === undefined) this.cache.clear();
    else this.cache.delete(apiId);
  }

  private drop(apiId: string, loading: Promise<LiveApi | undefined>): void {
    if (this.cache.get(apiId) === loading) this.cache.delete(apiId);
  }

  private async load(apiId: string): Promise<LiveApi | undefined> {
    const api = await this.store.get<ApiRecord>(APIS, apiId);
    if (!api) return undefined;
    const stages = new Map<string, LiveStage>();
    for (const { value: stage } of await this.store.list<StageRecord>(STAGES, {
      prefix: childPrefix(apiId),
    })) {
      if (stage.deploymentId === undefined) continue;
      const snapshot = await this.store.get<Snapshot>(
        SNAPSHOTS,
        childKey(apiId, stage.deploymentId),
      );
      if (!snapshot) continue;
      stages.set(stage.stageName, {
        stage,
        snapshot,
        router: new Router(snapshot.routes),
        byKey: new Map(snapshot.routes.map((r) => [r.routeKey, r])),
      });
    }
    return { api, stages };
  }
}
