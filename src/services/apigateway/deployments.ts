/**
 * Deployments (frozen copies of an API's definition) and the stages that serve them.
 * https://docs.aws.amazon.com/apigateway/latest/api/API_CreateDeployment.html
 * https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateStage.html
 */
import {
  BadRequestException,
  ConflictException,
  NotFoundException,
} from '../../api/apigateway/errors.js';
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type {
  Deployment,
  MethodSetting,
  PatchOperation,
  Stage,
} from '../../api/apigateway/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { randomId } from '../apigateway-shared/ids.js';
import { type ApigwDeps, clone, getApi, pageOf, resourcePath, scopeOf, toDate } from './common.js';
import { invalidPath, pathSegments } from './patch.js';
import {
  type ApiDefinition,
  type ApiRecord,
  childKey,
  type DeploymentRecord,
  type Scope,
  type StageRecord,
  T,
  apiKey,
} from './store.js';

type DeploymentOps = Pick<
  ApigatewayOperations,
  | 'CreateDeployment'
  | 'GetDeployment'
  | 'GetDeployments'
  | 'UpdateDeployment'
  | 'DeleteDeployment'
  | 'CreateStage'
  | 'GetStage'
  | 'GetStages'
  | 'UpdateStage'
  | 'DeleteStage'
  | 'FlushStageAuthorizersCache'
  | 'FlushStageCache'
>;

/** What a deployment freezes of the API. */
export function definitionOf(api: ApiRecord): ApiDefinition {
  return clone({
    rootResourceId: api.rootResourceId,
    resources: api.resources,
    models: api.models,
    validators: api.validators,
    authorizers: api.authorizers,
    gatewayResponses: api.gatewayResponses,
    binaryMediaTypes: api.binaryMediaTypes,
    apiKeySource: api.apiKeySource,
  });
}

function deploymentOut(d: DeploymentRecord, summary: boolean): Deployment {
  const out: Deployment = {
    id: d.id,
    ...(d.description !== undefined && { description: d.description }),
    createdDate: toDate(d.createdDate),
  };
  if (summary) {
    const res = d.definition.resources;
    out.apiSummary = Object.fromEntries(
      Object.values(res)
        .filter((r) => Object.keys(r.methods).length > 0)
        .map((r) => [
          resourcePath(res, r.id),
          Object.fromEntries(
            Object.entries(r.methods).map(([m, v]) => [
              m,
              { authorizationType: v.authorizationType, apiKeyRequired: v.apiKeyRequired },
            ]),
          ),
        ]),
    );
  }
  return out;
}

export function stageOut(s: StageRecord): Stage {
  return {
    deploymentId: s.deploymentId,
    stageName: s.stageName,
    ...(s.description !== undefined && { description: s.description }),
    cacheClusterEnabled: s.cacheClusterEnabled,
    cacheClusterStatus: 'NOT_AVAILABLE',
    methodSettings: s.methodSettings,
    ...(Object.keys(s.variables).length > 0 && { variables: s.variables }),
    ...(s.accessLogSettings && { accessLogSettings: s.accessLogSettings }),
    ...(s.canarySettings && { canarySettings: s.canarySettings }),
    tracingEnabled: s.tracingEnabled,
    ...(Object.keys(s.tags).length > 0 && { tags: s.tags }),
    createdDate: toDate(s.createdDate),
    lastUpdatedDate: toDate(s.lastUpdatedDate),
  };
}

/** "Stage variable names can only contain alphanumeric characters … values … " */
function checkVariables(vars: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(vars ?? {})) {
    if (!/^[A-Za-z0-9_]+$/.test(k)) {
      throw new BadRequestException(
        'Stage variable names must be alphanumeric or underscores and can be at most 64 characters long',
      );
    }
    if (!/^[A-Za-z0-9\-._~:/?#&=,]*$/.test(v) || v.length > 512) {
      throw new BadRequestException(
        `Stage variable value ${v} is invalid. Valid characters are: A-Za-z0-9-._~:/?#&=, with a maximum length of 512 characters.`,
      );
    }
  }
}

/** Creates a deployment of the API as it is now; checks what AWS checks first. */
export async function deployApi(
  tx: MetadataOps,
  scope: Scope,
  api: ApiRecord,
  description: string | undefined,
  now: number,
): Promise<DeploymentRecord> {
  const methods = Object.values(api.resources).flatMap((r) => Object.values(r.methods));
  if (methods.length === 0) {
    throw new BadRequestException("The REST API doesn't contain any methods");
  }
  if (methods.some((m) => !m.methodIntegration)) {
    throw new BadRequestException('No integration defined for method');
  }
  const d: DeploymentRecord = {
    id: randomId(6),
    ...(description !== undefined && { description }),
    createdDate: now,
    definition: definitionOf(api),
  };
  await tx.put(T.deployments, childKey(scope, api.id, d.id), d);
  return d;
}

const SETTING_PATHS: Record<string, [keyof MethodSetting, 'number' | 'boolean' | 'string']> = {
  'throttling/rateLimit': ['throttlingRateLimit', 'number'],
  'throttling/burstLimit': ['throttlingBurstLimit', 'number'],
  'logging/loglevel': ['loggingLevel', 'string'],
  'logging/dataTrace': ['dataTraceEnabled', 'boolean'],
  'metrics/enabled': ['metricsEnabled', 'boolean'],
  'caching/enabled': ['cachingEnabled', 'boolean'],
  'caching/ttlInSeconds': ['cacheTtlInSeconds', 'number'],
  'caching/dataEncrypted': ['cacheDataEncrypted', 'boolean'],
  'caching/requireAuthorizationForCacheControl': ['requireAuthorizationForCacheControl', 'boolean'],
  'caching/unauthorizedCacheControlHeaderStrategy': [
    'unauthorizedCacheControlHeaderStrategy',
    'string',
  ],
};

const defaultSetting = (): MethodSetting => ({
  metricsEnabled: false,
  loggingLevel: 'OFF',
  dataTraceEnabled: false,
  throttlingBurstLimit: 5000,
  throttlingRateLimit: 10000,
  cachingEnabled: false,
  cacheTtlInSeconds: 300,
  cacheDataEncrypted: false,
  requireAuthorizationForCacheControl: true,
  unauthorizedCacheControlHeaderStrategy: 'SUCCEED_WITH_RESPONSE_HEADER',
});

function typed(kind: 'number' | 'boolean' | 'string', value: string | undefined, path: string) {
  if (kind === 'string') return value ?? '';
  if (kind === 'boolean') return value === 'true';
  const n = Number(value);
  if (!Number.isFinite(n)) throw new BadRequestException(`Invalid value for path ${path}`);
  return n;
}

export function patchStage(
  s: StageRecord,
  ops: readonly PatchOperation[] | undefined,
  deploymentExists: (id: string) => boolean,
): void {
  for (const op of ops ?? []) {
    const kind = op.op ?? 'replace';
    const path = op.path ?? '';
    const seg = pathSegments(path);
    const [first, second] = seg;
    const remove = kind === 'remove';
    if (seg.length === 1 && first !== undefined) {
      switch (first) {
        case 'deploymentId':
          if (!op.value || !deploymentExists(op.value)) {
            throw new BadRequestException('Invalid deployment id specified');
          }
          s.deploymentId = op.value;
          continue;
        case 'description':
          if (remove) delete s.description;
          else s.description = op.value ?? '';
          continue;
        case 'tracingEnabled':
          s.tracingEnabled = op.value === 'true';
          continue;
        case 'cacheClusterEnabled':
          s.cacheClusterEnabled = op.value === 'true';
          continue;
        case 'accessLogSettings':
          if (remove) delete s.accessLogSettings;
          continue;
        case 'canarySettings':
          if (remove) delete s.canarySettings;
          continue;
      }
    }
    if (first === 'variables' && seg.length === 2 && second !== undefined) {
      if (remove) delete s.variables[second];
      else {
        checkVariables({ [second]: op.value ?? '' });
        s.variables[second] = op.value ?? '';
      }
      continue;
    }
    if (first === 'accessLogSettings' && (second === 'format' || second === 'destinationArn')) {
      s.accessLogSettings ??= {};
      if (remove) delete s.accessLogSettings[second];
      else s.accessLogSettings[second] = op.value ?? '';
      continue;
    }
    if (first === 'canarySettings' && second !== undefined) {
      s.canarySettings ??= {};
      const c = s.canarySettings;
      if (second === 'percentTraffic') c.percentTraffic = Number(op.value);
      else if (second === 'deploymentId') c.deploymentId = op.value;
      else if (second === 'useStageCache') c.useStageCache = op.value === 'true';
      else if (second === 'stageVariableOverrides' && seg[2] !== undefined) {
        c.stageVariableOverrides ??= {};
        if (remove) delete c.stageVariableOverrides[seg[2]];
        else c.stageVariableOverrides[seg[2]] = op.value ?? '';
      } else throw invalidPath(path, kind);
      continue;
    }
    // `/{resource path}/{METHOD}/{group}/{setting}`, `*/*` for every method. The key keeps
    // the resource path escaped, as AWS shows it (`~1items/GET`).
    const raw = path.slice(1).split('/');
    if (raw.length === 4) {
      const key = `${raw[0]}/${raw[1]}`;
      const setting = SETTING_PATHS[`${raw[2]}/${raw[3]}`];
      if (!setting) throw invalidPath(path, kind);
      if (remove) {
        delete s.methodSettings[key];
        continue;
      }
      const ms = (s.methodSettings[key] ??= defaultSetting());
      (ms as Record<string, unknown>)[setting[0]] = typed(setting[1], op.value, path);
      continue;
    }
    throw invalidPath(path, kind);
  }
}

export function deploymentOperations(deps: ApigwDeps): DeploymentOps {
  const { store } = deps;

  async function getStage(tx: MetadataOps, scope: Scope, apiId: string, name: string) {
    const s = await tx.get<StageRecord>(T.stages, childKey(scope, apiId, name));
    if (!s) throw new NotFoundException(`Invalid stage identifier specified`);
    return s;
  }

  return {
    async CreateDeployment(input, ctx) {
      const scope = scopeOf(ctx);
      checkVariables(input.variables);
      const out = await store.transaction(async (tx) => {
        const api = await getApi(tx, scope, input.restApiId);
        const d = await deployApi(tx, scope, api, input.description, deps.now());
        if (input.stageName !== undefined) {
          const key = childKey(scope, api.id, input.stageName);
          const now = deps.now();
          const s: StageRecord = (await tx.get<StageRecord>(T.stages, key)) ?? {
            stageName: input.stageName,
            deploymentId: d.id,
            variables: {},
            methodSettings: {},
            cacheClusterEnabled: input.cacheClusterEnabled ?? false,
            tracingEnabled: input.tracingEnabled ?? false,
            tags: {},
            createdDate: now,
            lastUpdatedDate: now,
            ...(input.stageDescription !== undefined && { description: input.stageDescription }),
          };
          s.deploymentId = d.id;
          s.lastUpdatedDate = now;
          if (input.variables) s.variables = { ...s.variables, ...input.variables };
          if (input.canarySettings)
            s.canarySettings = { ...input.canarySettings, deploymentId: d.id };
          await tx.put(T.stages, key, s);
        }
        return deploymentOut(d, false);
      });
      deps.changed(input.restApiId);
      return out;
    },

    async GetDeployment(input, ctx) {
      const scope = scopeOf(ctx);
      await getApi(store, scope, input.restApiId);
      const d = await store.get<DeploymentRecord>(
        T.deployments,
        childKey(scope, input.restApiId, input.deploymentId),
      );
      if (!d) throw new NotFoundException('Invalid Deployment identifier specified');
      return deploymentOut(d, input.embed?.includes('apisummary') ?? false);
    },

    async GetDeployments(input, ctx) {
      const scope = scopeOf(ctx);
      await getApi(store, scope, input.restApiId);
      const rows = await store.list<DeploymentRecord>(T.deployments, {
        prefix: `${apiKey(scope, input.restApiId)}:`,
      });
      const all = rows.map((r) => r.value).sort((a, b) => a.createdDate - b.createdDate);
      const page = pageOf(
        all,
        (d) => `${String(d.createdDate).padStart(15, '0')}${d.id}`,
        input.position,
        input.limit,
      );
      return {
        items: page.items.map((d) => deploymentOut(d, false)),
        ...(page.position && { position: page.position }),
      };
    },

    async UpdateDeployment(input, ctx) {
      const scope = scopeOf(ctx);
      return store.transaction(async (tx) => {
        const key = childKey(scope, input.restApiId, input.deploymentId);
        const d = await tx.get<DeploymentRecord>(T.deployments, key);
        if (!d) throw new NotFoundException('Invalid Deployment identifier specified');
        for (const op of input.patchOperations ?? []) {
          if (op.path !== '/description') throw invalidPath(op.path ?? '', op.op);
          d.description = op.value ?? '';
        }
        await tx.put(T.deployments, key, d);
        return deploymentOut(d, false);
      });
    },

    async DeleteDeployment(input, ctx) {
      const scope = scopeOf(ctx);
      await store.transaction(async (tx) => {
        await getApi(tx, scope, input.restApiId);
        const stages = await tx.list<StageRecord>(T.stages, {
          prefix: `${apiKey(scope, input.restApiId)}:`,
        });
        if (stages.some((s) => s.value.deploymentId === input.deploymentId)) {
          throw new BadRequestException(
            'Active stages pointing to this deployment must be moved or deleted',
          );
        }
        const key = childKey(scope, input.restApiId, input.deploymentId);
        if (!(await tx.delete(T.deployments, key))) {
          throw new NotFoundException('Invalid Deployment identifier specified');
        }
      });
    },

    async CreateStage(input, ctx) {
      const scope = scopeOf(ctx);
      checkVariables(input.variables);
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(input.stageName)) {
        throw new BadRequestException(
          'Stage name only allows a-zA-Z0-9_- and must be between 1 and 128 characters',
        );
      }
      const out = await store.transaction(async (tx) => {
        await getApi(tx, scope, input.restApiId);
        const d = await tx.get(T.deployments, childKey(scope, input.restApiId, input.deploymentId));
        if (!d) throw new BadRequestException('Invalid deployment id specified');
        const now = deps.now();
        const s: StageRecord = {
          stageName: input.stageName,
          deploymentId: input.deploymentId,
          ...(input.description !== undefined && { description: input.description }),
          variables: input.variables ?? {},
          methodSettings: {},
          ...(input.canarySettings && { canarySettings: input.canarySettings }),
          cacheClusterEnabled: input.cacheClusterEnabled ?? false,
          tracingEnabled: input.tracingEnabled ?? false,
          tags: input.tags ?? {},
          createdDate: now,
          lastUpdatedDate: now,
        };
        if (!(await tx.insert(T.stages, childKey(scope, input.restApiId, input.stageName), s))) {
          throw new ConflictException('Stage already exists');
        }
        return stageOut(s);
      });
      deps.changed(input.restApiId);
      return out;
    },

    async GetStage(input, ctx) {
      const scope = scopeOf(ctx);
      await getApi(store, scope, input.restApiId);
      return stageOut(await getStage(store, scope, input.restApiId, input.stageName));
    },

    async GetStages(input, ctx) {
      const scope = scopeOf(ctx);
      await getApi(store, scope, input.restApiId);
      const rows = await store.list<StageRecord>(T.stages, {
        prefix: `${apiKey(scope, input.restApiId)}:`,
      });
      const item = rows
        .map((r) => r.value)
        .filter((s) => input.deploymentId === undefined || s.deploymentId === input.deploymentId)
        .map(stageOut);
      return { item };
    },

    async UpdateStage(input, ctx) {
      const scope = scopeOf(ctx);
      const out = await store.transaction(async (tx) => {
        await getApi(tx, scope, input.restApiId);
        const s = await getStage(tx, scope, input.restApiId, input.stageName);
        const deployments = new Set(
          (
            await tx.list<DeploymentRecord>(T.deployments, {
              prefix: `${apiKey(scope, input.restApiId)}:`,
            })
          ).map((r) => r.value.id),
        );
        patchStage(s, input.patchOperations, (id) => deployments.has(id));
        s.lastUpdatedDate = deps.now();
        await tx.put(T.stages, childKey(scope, input.restApiId, input.stageName), s);
        return stageOut(s);
      });
      deps.changed(input.restApiId);
      return out;
    },

    async DeleteStage(input, ctx) {
      const scope = scopeOf(ctx);
      await getApi(store, scope, input.restApiId);
      if (!(await store.delete(T.stages, childKey(scope, input.restApiId, input.stageName)))) {
        throw new NotFoundException('Invalid stage identifier specified');
      }
      deps.changed(input.restApiId);
    },

    async FlushStageAuthorizersCache(input, ctx) {
      const scope = scopeOf(ctx);
      await getStage(store, scope, input.restApiId, input.stageName);
      deps.changed(input.restApiId);
    },

    async FlushStageCache(input, ctx) {
      await getStage(store, scopeOf(ctx), input.restApiId, input.stageName);
    },
  };
}
