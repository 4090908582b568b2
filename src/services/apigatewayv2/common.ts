/**
 * What the API Gateway v2 operation modules share: deps, ids, AWS's error messages, the
 * API lookup every child resource goes through, auto-deployment and paging.
 */
import { BadRequestException, NotFoundException } from '../../api/apigatewayv2/errors.js';
import { buildArn } from '../../shared/arn.js';
import { randomId } from '../apigateway-shared/ids.js';
import type { RequestContext } from '../../shared/context.js';
import { pageArray } from '../../shared/paging.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import {
  APIS,
  type ApiRecord,
  childKey,
  childPrefix,
  DEPLOYMENTS,
  type DeploymentRecord,
  SNAPSHOTS,
  STAGES,
  type StageRecord,
  takeSnapshot,
} from './store.js';

export interface ApiGatewayV2Deps {
  store: MetadataStore;
  /** Milliseconds since the epoch. */
  now(): number;
  /** The URL clients reach Stratus at (http://127.0.0.1:4566), read late. */
  endpoint(): string;
  /** Told after a transaction changed what an API serves (drops the data plane's cache). */
  changed(apiId: string): void;
}

/** A lowercase alphanumeric id like AWS's (7 characters for routes, 6 for deployments). */
export const newId = (length: number): string => randomId(length);

export const notFound = (kind: string, account: string, id: string): NotFoundException =>
  new NotFoundException(`Invalid ${kind} identifier specified ${account}:${id}`, {
    ResourceType: kind,
  });

export const badRequest = (message: string): BadRequestException =>
  new BadRequestException(message);

/** The API `apiId` of the caller's account and region, else AWS's NotFoundException. */
export async function loadApi(
  ops: MetadataOps,
  ctx: RequestContext,
  apiId: string,
): Promise<ApiRecord> {
  const api = await ops.get<ApiRecord>(APIS, apiId);
  if (!api || api.account !== ctx.account || api.region !== ctx.region) {
    throw notFound('API', ctx.account, apiId);
  }
  return api;
}

/** One child resource of an API, else NotFoundException naming its kind. */
export async function loadChild<T>(
  ops: MetadataOps,
  table: string,
  ctx: RequestContext,
  apiId: string,
  id: string,
  kind: string,
): Promise<T> {
  const row = await ops.get<T>(table, childKey(apiId, id));
  if (row === undefined) throw notFound(kind, ctx.account, id);
  return row;
}

/** Freezes the API as it is now into a new deployment. */
export async function createDeployment(
  tx: MetadataOps,
  api: ApiRecord,
  now: number,
  auto: boolean,
  description?: string,
): Promise<DeploymentRecord> {
  const deployment: DeploymentRecord = compact({
    deploymentId: newId(6),
    autoDeployed: auto,
    description,
    createdDate: now,
  });
  await tx.put(DEPLOYMENTS, childKey(api.apiId, deployment.deploymentId), deployment);
  await tx.put(
    SNAPSHOTS,
    childKey(api.apiId, deployment.deploymentId),
    await takeSnapshot(tx, api),
  );
  return deployment;
}

/**
 * Creates a deployment of the API as it is now and points `stage` at it.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html
 */
export async function deployStage(
  tx: MetadataOps,
  api: ApiRecord,
  stage: StageRecord,
  now: number,
  auto: boolean,
  description?: string,
): Promise<DeploymentRecord> {
  const deployment = await createDeployment(tx, api, now, auto, description);
  await tx.put<StageRecord>(STAGES, childKey(api.apiId, stage.stageName), {
    ...stage,
    deploymentId: deployment.deploymentId,
    lastUpdatedDate: now,
    lastDeploymentStatusMessage: auto
      ? `Successfully deployed stage with deployment ID '${deployment.deploymentId}'`
      : stage.lastDeploymentStatusMessage,
  });
  return deployment;
}

/**
 * After a change to routes, integrations, authorizers or the API itself: stages with
 * AutoDeploy get a new deployment ("API Gateway automatically deploys … each time you
 * make a change"), and the data plane forgets what it compiled.
 */
export async function afterChange(
  deps: ApiGatewayV2Deps,
  tx: MetadataOps,
  api: ApiRecord,
): Promise<void> {
  const stages = await tx.list<StageRecord>(STAGES, { prefix: childPrefix(api.apiId) });
  for (const { value } of stages) {
    if (value.autoDeploy) await deployStage(tx, api, value, deps.now(), true);
  }
}

/** Runs a mutation of one API in a transaction, then auto-deploys and drops caches. */
export async function mutateApi<T>(
  deps: ApiGatewayV2Deps,
  ctx: RequestContext,
  apiId: string,
  fn: (tx: MetadataOps, api: ApiRecord) => Promise<T>,
  redeploy = true,
): Promise<T> {
  const out = await deps.store.transaction(async (tx) => {
    const api = await loadApi(tx, ctx, apiId);
    const result = await fn(tx, api);
    if (redeploy) await afterChange(deps, tx, (await tx.get<ApiRecord>(APIS, apiId)) ?? api);
    return result;
  });
  deps.changed(apiId);
  return out;
}

/** `arn:aws:apigateway:<region>::/apis/<id>` (the ARN tags take). */
export const apiArn = (region: string, apiId: string): string =>
  buildArn('apigateway', region, '', `/apis/${apiId}`);

export const stageArn = (region: string, apiId: string, stage: string): string =>
  buildArn('apigateway', region, '', `/apis/${apiId}/stages/${stage}`);

/** Pages a list the v2 way: MaxResults arrives as a string, NextToken is opaque. */
export function page<T>(
  items: readonly T[],
  keyOf: (v: T) => string,
  input: { MaxResults?: string; NextToken?: string },
): { Items: T[]; NextToken?: string } {
  const max = input.MaxResults === undefined ? 100 : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1) {
    throw badRequest('Invalid MaxResults: must be a positive integer');
  }
  const got = pageArray(items, keyOf, {
    marker: input.NextToken,
    max,
    resume: 'after',
    invalid: () => badRequest('Invalid NextToken'),
  });
  return { Items: got.items, ...(got.next !== undefined && { NextToken: got.next }) };
}

/** One page of an API's children (routes, stages, …) stored in `table` under `prefix`. */
export async function pageChildren<R, O>(
  store: MetadataOps,
  table: string,
  prefix: string,
  keyOf: (r: R) => string,
  out: (r: R) => O,
  input: { MaxResults?: string; NextToken?: string },
): Promise<{ Items: O[]; NextToken?: string }> {
  const rows = await store.list<R>(table, { prefix });
  const got = page(
    rows.map((r) => r.value),
    keyOf,
    input,
  );
  return { ...got, Items: got.Items.map(out) };
}

/** Drops undefined members so outputs carry only what is set. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The invoke URL AWS reports as ApiEndpoint, on this server's host form. */
export function apiEndpoint(deps: ApiGatewayV2Deps, api: ApiRecord): string {
  const { port } = new URL(deps.endpoint());
  const scheme = api.protocolType === 'WEBSOCKET' ? 'ws' : 'http';
  return `${scheme}://${api.apiId}.execute-api.localhost${port ? `:${port}` : ''}`;
}
