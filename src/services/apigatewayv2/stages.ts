/**
 * Stages (auto-deploy, stage variables, route settings, access logs) and deployments.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html
 */
import { ConflictException } from '../../api/apigatewayv2/errors.js';
import type { Apigatewayv2Operations } from '../../api/apigatewayv2/operations.js';
import type { CreateStageRequest, Deployment, Stage } from '../../api/apigatewayv2/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  type ApiGatewayV2Deps,
  badRequest,
  compact,
  createDeployment,
  deployStage,
  loadApi,
  loadChild,
  mutateApi,
  notFound,
  pageChildren,
} from './common.js';
import {
  childKey,
  childPrefix,
  DEPLOYMENTS,
  type DeploymentRecord,
  SNAPSHOTS,
  STAGES,
  type StageRecord,
} from './store.js';

type StageOps = Pick<
  Apigatewayv2Operations,
  | 'CreateStage'
  | 'GetStage'
  | 'GetStages'
  | 'UpdateStage'
  | 'DeleteStage'
  | 'DeleteRouteSettings'
  | 'DeleteAccessLogSettings'
  | 'CreateDeployment'
  | 'GetDeployment'
  | 'GetDeployments'
  | 'UpdateDeployment'
  | 'DeleteDeployment'
>;

export function stageOut(s: StageRecord): Stage {
  return compact<Stage>({
    AccessLogSettings: s.accessLogSettings,
    AutoDeploy: s.autoDeploy,
    ClientCertificateId: s.clientCertificateId,
    CreatedDate: new Date(s.createdDate),
    DefaultRouteSettings: s.defaultRouteSettings,
    DeploymentId: s.deploymentId,
    Description: s.description,
    LastDeploymentStatusMessage: s.lastDeploymentStatusMessage,
    LastUpdatedDate: new Date(s.lastUpdatedDate),
    RouteSettings: s.routeSettings,
    StageName: s.stageName,
    StageVariables: s.stageVariables,
    Tags: s.tags,
  });
}

const deploymentOut = (d: DeploymentRecord): Deployment =>
  compact<Deployment>({
    AutoDeployed: d.autoDeployed,
    CreatedDate: new Date(d.createdDate),
    DeploymentId: d.deploymentId,
    DeploymentStatus: 'DEPLOYED',
    Description: d.description,
  });

/** HTTP APIs report detailed metrics off and no throttling unless set. */
const DEFAULT_ROUTE_SETTINGS = { DetailedMetricsEnabled: false } as const;

export function newStage(now: number, input: CreateStageRequest): StageRecord {
  return compact({
    stageName: input.StageName,
    autoDeploy: input.AutoDeploy ?? false,
    deploymentId: input.DeploymentId,
    description: input.Description,
    stageVariables: input.StageVariables ?? {},
    defaultRouteSettings: { ...DEFAULT_ROUTE_SETTINGS, ...input.DefaultRouteSettings },
    routeSettings: input.RouteSettings ?? {},
    accessLogSettings: input.AccessLogSettings,
    clientCertificateId: input.ClientCertificateId,
    createdDate: now,
    lastUpdatedDate: now,
    tags: input.Tags ?? {},
  });
}

function checkThrottle(settings: { ThrottlingBurstLimit?: number; ThrottlingRateLimit?: number }) {
  if ((settings.ThrottlingBurstLimit ?? 0) < 0 || (settings.ThrottlingRateLimit ?? 0) < 0) {
    throw badRequest('Throttling limits must not be negative.');
  }
}

export function stageOperations(deps: ApiGatewayV2Deps): StageOps {
  const getStage = (tx: MetadataOps, ctx: RequestContext, apiId: string, name: string) =>
    loadChild<StageRecord>(tx, STAGES, ctx, apiId, name, 'Stage');
  const getDeployment = (tx: MetadataOps, ctx: RequestContext, apiId: string, id: string) =>
    loadChild<DeploymentRecord>(tx, DEPLOYMENTS, ctx, apiId, id, 'Deployment');
  return {
    async CreateStage(input, ctx) {
      return mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          if (input.StageName === '$default' && api.protocolType !== 'HTTP') {
            throw badRequest('The $default stage is supported only for HTTP APIs.');
          }
          if (!/^(\$default|[\w-]{1,128})$/.test(input.StageName)) {
            throw badRequest(`Stage name ${input.StageName} is invalid.`);
          }
          if (await tx.get(STAGES, childKey(api.apiId, input.StageName))) {
            throw new ConflictException(`Stage ${input.StageName} already exists`);
          }
          if (input.DeploymentId !== undefined) {
            await getDeployment(tx, ctx, api.apiId, input.DeploymentId);
          }
          checkThrottle(input.DefaultRouteSettings ?? {});
          let stage = newStage(deps.now(), input);
          await tx.put(STAGES, childKey(api.apiId, stage.stageName), stage);
          if (stage.autoDeploy) {
            await deployStage(tx, api, stage, deps.now(), true);
            stage =
              (await tx.get<StageRecord>(STAGES, childKey(api.apiId, stage.stageName))) ?? stage;
          }
          return stageOut(stage);
        },
        false,
      );
    },

    async GetStage(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return stageOut(await getStage(deps.store, ctx, input.ApiId, input.StageName));
    },

    async GetStages(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        STAGES,
        childPrefix(input.ApiId),
        (s) => s.stageName,
        stageOut,
        input,
      );
    },

    async UpdateStage(input, ctx) {
      return mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          const old = await getStage(tx, ctx, api.apiId, input.StageName);
          if (input.DeploymentId !== undefined) {
            await getDeployment(tx, ctx, api.apiId, input.DeploymentId);
          }
          checkThrottle(input.DefaultRouteSettings ?? {});
          let stage: StageRecord = compact({
            ...old,
            autoDeploy: input.AutoDeploy ?? old.autoDeploy,
            deploymentId: input.DeploymentId ?? old.deploymentId,
            description: input.Description ?? old.description,
            stageVariables: input.StageVariables
              ? { ...old.stageVariables, ...input.StageVariables }
              : old.stageVariables,
            defaultRouteSettings: { ...old.defaultRouteSettings, ...input.DefaultRouteSettings },
            routeSettings: mergeRouteSettings(old.routeSettings, input.RouteSettings),
            accessLogSettings: input.AccessLogSettings ?? old.accessLogSettings,
            clientCertificateId: input.ClientCertificateId ?? old.clientCertificateId,
            lastUpdatedDate: deps.now(),
          });
          await tx.put(STAGES, childKey(api.apiId, stage.stageName), stage);
          if (stage.autoDeploy && !old.autoDeploy) {
            await deployStage(tx, api, stage, deps.now(), true);
            stage =
              (await tx.get<StageRecord>(STAGES, childKey(api.apiId, stage.stageName))) ?? stage;
          }
          return stageOut(stage);
        },
        false,
      );
    },

    async DeleteStage(input, ctx) {
      await mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          await getStage(tx, ctx, api.apiId, input.StageName);
          await tx.delete(STAGES, childKey(api.apiId, input.StageName));
        },
        false,
      );
    },

    async DeleteRouteSettings(input, ctx) {
      await mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          const stage = await getStage(tx, ctx, api.apiId, input.StageName);
          if (!(input.RouteKey in stage.routeSettings)) {
            throw notFound('RouteSettings', ctx.account, input.RouteKey);
          }
          const routeSettings = { ...stage.routeSettings };
          delete routeSettings[input.RouteKey];
          await tx.put(STAGES, childKey(api.apiId, stage.stageName), {
            ...stage,
            routeSettings,
            lastUpdatedDate: deps.now(),
          });
        },
        false,
      );
    },

    async DeleteAccessLogSettings(input, ctx) {
      await mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          const stage = await getStage(tx, ctx, api.apiId, input.StageName);
          const next = { ...stage, lastUpdatedDate: deps.now() };
          delete next.accessLogSettings;
          await tx.put(STAGES, childKey(api.apiId, stage.stageName), next);
        },
        false,
      );
    },

    async CreateDeployment(input, ctx) {
      return mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          if (input.StageName !== undefined) {
            const stage = await getStage(tx, ctx, api.apiId, input.StageName);
            if (stage.autoDeploy) {
              throw badRequest(
                `Stage ${input.StageName} has AutoDeploy enabled: it is deployed on every change.`,
              );
            }
            return deploymentOut(
              await deployStage(tx, api, stage, deps.now(), false, input.Description),
            );
          }
          return deploymentOut(
            await createDeployment(tx, api, deps.now(), false, input.Description),
          );
        },
        false,
      );
    },

    async GetDeployment(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return deploymentOut(await getDeployment(deps.store, ctx, input.ApiId, input.DeploymentId));
    },

    async GetDeployments(input, ctx) {
      await loadApi(deps.store, ctx, input.ApiId);
      return pageChildren(
        deps.store,
        DEPLOYMENTS,
        childPrefix(input.ApiId),
        (d) => d.deploymentId,
        deploymentOut,
        input,
      );
    },

    async UpdateDeployment(input, ctx) {
      return mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          const old = await getDeployment(tx, ctx, api.apiId, input.DeploymentId);
          const next = compact({ ...old, description: input.Description ?? old.description });
          await tx.put(DEPLOYMENTS, childKey(api.apiId, old.deploymentId), next);
          return deploymentOut(next);
        },
        false,
      );
    },

    async DeleteDeployment(input, ctx) {
      await mutateApi(
        deps,
        ctx,
        input.ApiId,
        async (tx, api) => {
          await getDeployment(tx, ctx, api.apiId, input.DeploymentId);
          const stages = await tx.list<StageRecord>(STAGES, { prefix: childPrefix(api.apiId) });
          const user = stages.find((s) => s.value.deploymentId === input.DeploymentId);
          if (user) {
            throw badRequest(
              `Active stages pointing to this deployment must be moved or deleted (${user.value.stageName}).`,
            );
          }
          await tx.delete(DEPLOYMENTS, childKey(api.apiId, input.DeploymentId));
          await tx.delete(SNAPSHOTS, childKey(api.apiId, input.DeploymentId));
        },
        false,
      );
    },
  };
}

function mergeRouteSettings(
  old: StageRecord['routeSettings'],
  next: StageRecord['routeSettings'] | undefined,
): StageRecord['routeSettings'] {
  if (!next) return old;
  const out = { ...old };
  for (const [key, settings] of Object.entries(next)) {
    checkThrottle(settings);
    out[key] = { ...out[key], ...settings };
  }
  return out;
}
