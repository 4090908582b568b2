/**
 * Asynchronous invocation settings per qualifier: retries (0–2), maximum event age
 * (60–21,600 s; both ranges enforced by the model) and OnSuccess / OnFailure destinations.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
 * Put replaces the whole configuration, Update changes only what it is given.
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  DeleteFunctionEventInvokeConfigRequest,
  DestinationConfig,
  FunctionEventInvokeConfig,
  GetFunctionEventInvokeConfigRequest,
  ListFunctionEventInvokeConfigsRequest,
  ListFunctionEventInvokeConfigsResponse,
  PutFunctionEventInvokeConfigRequest,
  UpdateFunctionEventInvokeConfigRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, parseFunctionRef, qualifiedArn, type Scope } from './arns.js';
import { locate, pageStore, qualifierExists, type LambdaDeps, type Located } from './common.js';
import { invalidParameter, notFound } from './errors.js';
import {
  T,
  childPrefix,
  functionKey,
  qualifierKey,
  type EventInvokeConfigRecord,
  type FunctionRecord,
} from './store.js';

type EventInvokeOps = Pick<
  LambdaOperations,
  | 'PutFunctionEventInvokeConfig'
  | 'GetFunctionEventInvokeConfig'
  | 'UpdateFunctionEventInvokeConfig'
  | 'DeleteFunctionEventInvokeConfig'
  | 'ListFunctionEventInvokeConfigs'
>;

export function eventInvokeConfigView(
  scope: Scope,
  functionName: string,
  rec: EventInvokeConfigRecord,
): FunctionEventInvokeConfig {
  const out: FunctionEventInvokeConfig = {
    LastModified: new Date(rec.lastModified),
    FunctionArn: qualifiedArn(scope, functionName, rec.qualifier),
  };
  if (rec.maximumRetryAttempts !== undefined) out.MaximumRetryAttempts = rec.maximumRetryAttempts;
  if (rec.maximumEventAgeInSeconds !== undefined) {
    out.MaximumEventAgeInSeconds = rec.maximumEventAgeInSeconds;
  }
  out.DestinationConfig = rec.destinationConfig;
  return out;
}

/** Services AWS accepts as destinations (SQS, SNS, EventBridge, S3, Lambda). */
const DESTINATION_SERVICES = new Set(['sqs', 'sns', 'events', 's3', 'lambda']);

/**
 * A Lambda destination must be an existing function other than this one; other services
 * must at least be destinations AWS knows. Returns false for an unknown service.
 */
async function checkDestination(tx: MetadataOps, at: Located, arn: string): Promise<boolean> {
  const service = arn.split(':')[2];
  if (!DESTINATION_SERVICES.has(service)) return false;
  if (service !== 'lambda') return true;
  const ref = parseFunctionRef(arn);
  if (!ref || ref.account === undefined || ref.region === undefined) {
    throw invalidParameter(`The destination ARN ${arn} is invalid.`);
  }
  const scope = { account: ref.account, region: ref.region };
  if (
    scope.account === at.scope.account &&
    scope.region === at.scope.region &&
    ref.name === at.name
  ) {
    throw invalidParameter("You can't specify the function as a destination for itself.");
  }
  if (!(await tx.get<FunctionRecord>(T.functions, functionKey(scope, ref.name)))) {
    throw invalidParameter(`The destination ARN ${arn} is invalid.`);
  }
  return true;
}

async function normalisedDestinations(
  tx: MetadataOps,
  at: Located,
  given: DestinationConfig | undefined,
): Promise<DestinationConfig> {
  const onSuccess = given?.OnSuccess?.Destination || undefined;
  const onFailure = given?.OnFailure?.Destination || undefined;
  let valid = true;
  if (onSuccess) valid = (await checkDestination(tx, at, onSuccess)) && valid;
  if (onFailure) valid = (await checkDestination(tx, at, onFailure)) && valid;
  if (!valid) {
    const s = onSuccess ? `OnSuccess(destination=${onSuccess})` : 'null';
    const f = onFailure ? `OnFailure(destination=${onFailure})` : 'null';
    throw invalidParameter(
      `The provided destination config DestinationConfig(onSuccess=${s}, onFailure=${f}) is invalid.`,
    );
  }
  return {
    OnSuccess: onSuccess ? { Destination: onSuccess } : {},
    OnFailure: onFailure ? { Destination: onFailure } : {},
  };
}

type Settings = Pick<
  PutFunctionEventInvokeConfigRequest,
  'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | 'DestinationConfig'
>;

const nothingGiven = (s: Settings) =>
  s.MaximumRetryAttempts === undefined &&
  s.MaximumEventAgeInSeconds === undefined &&
  s.DestinationConfig === undefined;

export function eventInvokeOperations(deps: LambdaDeps): EventInvokeOps {
  const { store, lifecycle } = deps;

  const noConfig = (at: Located, qualifier: string) =>
    notFound(
      `The function ${qualifiedArn(at.scope, at.name, qualifier)} doesn't have an EventInvokeConfig`,
    );

  /** The function and qualifier must exist: "The function doesn't exist." */
  async function requireTarget(tx: MetadataOps, at: Located, qualifier: string): Promise<void> {
    if (!(await tx.get(T.functions, at.key)) || !(await qualifierExists(tx, at.key, qualifier))) {
      throw notFound("The function doesn't exist.");
    }
  }

  async function write(
    input: PutFunctionEventInvokeConfigRequest,
    ctx: RequestContext,
    merge: boolean,
  ): Promise<FunctionEventInvokeConfig> {
    const action = merge ? 'UpdateFunctionEventInvokeConfig' : 'PutFunctionEventInvokeConfig';
    const at = locate(ctx, input.FunctionName, input.Qualifier, { action });
    if (nothingGiven(input)) {
      throw invalidParameter(
        'You must specify at least one of error handling or destination setting.',
      );
    }
    const qualifier = at.qualifier ?? LATEST;
    const rec = await store.transaction(async (tx) => {
      await requireTarget(tx, at, qualifier);
      const key = qualifierKey(at.key, qualifier);
      const previous = await tx.get<EventInvokeConfigRecord>(T.eventInvoke, key);
      if (merge && !previous) throw noConfig(at, qualifier);
      const rec: EventInvokeConfigRecord =
        merge && previous
          ? previous
          : { qualifier, destinationConfig: { OnSuccess: {}, OnFailure: {} }, lastModified: 0 };
      if (input.MaximumRetryAttempts !== undefined || !merge) {
        rec.maximumRetryAttempts = input.MaximumRetryAttempts;
      }
      if (input.MaximumEventAgeInSeconds !== undefined || !merge) {
        rec.maximumEventAgeInSeconds = input.MaximumEventAgeInSeconds;
      }
      if (input.DestinationConfig !== undefined || !merge) {
        rec.destinationConfig = await normalisedDestinations(tx, at, input.DestinationConfig);
      }
      if (rec.maximumRetryAttempts === undefined) delete rec.maximumRetryAttempts;
      if (rec.maximumEventAgeInSeconds === undefined) delete rec.maximumEventAgeInSeconds;
      rec.lastModified = deps.now();
      await tx.put(T.eventInvoke, key, rec);
      return rec;
    });
    lifecycle.changed('updated', at.scope, at.name);
    return eventInvokeConfigView(at.scope, at.name, rec);
  }

  return {
    PutFunctionEventInvokeConfig: (input, ctx) => write(input, ctx, false),
    UpdateFunctionEventInvokeConfig: (input: UpdateFunctionEventInvokeConfigRequest, ctx) =>
      write(input, ctx, true),

    async GetFunctionEventInvokeConfig(
      input: GetFunctionEventInvokeConfigRequest,
      ctx: RequestContext,
    ): Promise<FunctionEventInvokeConfig> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'GetFunctionEventInvokeConfig',
      });
      const qualifier = at.qualifier ?? LATEST;
      const rec = await store.get<EventInvokeConfigRecord>(
        T.eventInvoke,
        qualifierKey(at.key, qualifier),
      );
      if (!rec) throw noConfig(at, qualifier);
      return eventInvokeConfigView(at.scope, at.name, rec);
    },

    async DeleteFunctionEventInvokeConfig(
      input: DeleteFunctionEventInvokeConfigRequest,
      ctx: RequestContext,
    ): Promise<void> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'DeleteFunctionEventInvokeConfig',
      });
      const qualifier = at.qualifier ?? LATEST;
      const deleted = await store.transaction((tx) =>
        tx.delete(T.eventInvoke, qualifierKey(at.key, qualifier)),
      );
      if (!deleted) throw noConfig(at, qualifier);
      lifecycle.changed('updated', at.scope, at.name);
    },

    async ListFunctionEventInvokeConfigs(
      input: ListFunctionEventInvokeConfigsRequest,
      ctx: RequestContext,
    ): Promise<ListFunctionEventInvokeConfigsResponse> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'ListFunctionEventInvokeConfigs',
        allowQualifier: false,
      });
      if (!(await store.get(T.functions, at.key))) throw notFound("The function doesn't exist.");
      const page = await pageStore<EventInvokeConfigRecord>(
        store,
        T.eventInvoke,
        childPrefix(at.key),
        input.Marker,
        input.MaxItems,
      );
      const out: ListFunctionEventInvokeConfigsResponse = {
        FunctionEventInvokeConfigs: page.items.map(({ value }) =>
          eventInvokeConfigView(at.scope, at.name, value),
        ),
      };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },
  };
}
