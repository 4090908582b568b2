/**
 * How API Gateway (REST and HTTP APIs alike) invokes a Lambda function: only when the
 * function's resource-based policy lets `apigateway.amazonaws.com` invoke it for the
 * calling API's `execute-api` ARN, as on AWS, and never longer than the integration
 * timeout (29 s by default).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 * https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html#apigateway-permissions
 *
 * A missing permission is the client's "500 Internal server error"; the execution log
 * says "Execution failed due to configuration error: Invalid permissions on Lambda
 * function", which `log` carries for the caller's execution log.
 */
import { RequestFacts } from '../../policy/context.js';
import { evaluatePolicies } from '../../policy/document.js';
import type { ResourcePolicySource } from '../../policy/sources.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { FunctionInvoker } from '../lambda/invoke/service-invoker.js';
import { BoundedMap } from '../../shared/bounded-map.js';

export const APIGATEWAY_PRINCIPAL = 'apigateway.amazonaws.com';

const MAX_VERDICTS = 10_000;

/** AWS's default (and, for REST APIs, maximum by default) integration timeout. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

export interface ApiLambdaCall {
  /** The API's account and region (a function named without an ARN lives there). */
  account: string;
  region: string;
  /**
   * The integration URI: `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/
   * <function-arn>/invocations`, or (HTTP APIs) the function ARN itself.
   */
  uri: string;
  /** `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`. */
  sourceArn: string;
  payload: Buffer;
  /** Default DEFAULT_INTEGRATION_TIMEOUT_MS. */
  timeoutMs?: number;
}

export type ApiLambdaOutcome =
  /** The function returned `payload`. */
  | { kind: 'ok'; payload: Buffer }
  /** The function failed (X-Amz-Function-Error): its error JSON. */
  | { kind: 'function-error'; payload: Buffer }
  /** No answer within the integration timeout: AWS's 504 "Endpoint request timed out". */
  | { kind: 'timeout'; log: string }
  /** Not allowed, not found, throttled: AWS's 500 "Internal server error". */
  | { kind: 'failed'; log: string };

export class ApiLambdaInvoker {
  private readonly lambdaPolicies: ResourcePolicySource | undefined;
  /**
   * Permission verdicts by function ARN and source ARN: every request of a route asks the
   * same question, and answering it meant two store reads (which wait for any transaction
   * in flight), rendering, compiling and evaluating the policy. Only kept when Lambda
   * announces function changes (AddPermission and RemovePermission are changes); any
   * change empties it.
   */
  private readonly verdicts = new BoundedMap<string, boolean>(MAX_VERDICTS);
  private readonly cacheVerdicts: boolean;
  /** Bumped by every change: a verdict read before one is not kept. */
  private generation = 0;

  constructor(
    private readonly functions: FunctionInvoker,
    resourcePolicies: readonly ResourcePolicySource[],
  ) {
    this.lambdaPolicies = resourcePolicies.find((s) => s.prefix === 'lambda');
    this.cacheVerdicts = functions.onChange !== undefined;
    functions.onChange?.(() => this.forgetVerdicts());
  }

  /** Forgets every cached permission verdict (a function changed, or the state was reset). */
  forgetVerdicts(): void {
    this.generation++;
    this.verdicts.clear();
  }

  async invoke(call: ApiLambdaCall): Promise<ApiLambdaOutcome> {
    const fnArn = functionArnOf(call.uri, call.account, call.region);
    if (!fnArn) {
      return { kind: 'failed', log: `Execution failed: invalid Lambda function URI ${call.uri}` };
    }
    if (!(await this.permitted(fnArn, call.sourceArn))) {
      return {
        kind: 'failed',
        log: 'Execution failed due to configuration error: Invalid permissions on Lambda function',
      };
    }
    const arn = parseArn(fnArn);
    const invoking = this.functions
      .invoke(arn?.account ?? call.account, arn?.region ?? call.region, fnArn, call.payload)
      .then(
        (r): ApiLambdaOutcome =>
          r.ok
            ? { kind: 'ok', payload: r.payload }
            : { kind: 'function-error', payload: r.payload },
        (err: unknown): ApiLambdaOutcome => ({
          kind: 'failed',
          log: `Execution failed due to configuration error: ${errorText(err)}`,
        }),
      );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ApiLambdaOutcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ kind: 'timeout', log: 'Execution failed due to a timeout error' }),
        call.timeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([invoking, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether the function's policy allows `lambda:InvokeFunction` to API Gateway for this
   * source ARN (the condition AddPermission's `--source-arn` writes: ArnLike AWS:SourceArn).
   */
  async permitted(fnArn: string, sourceArn: string): Promise<boolean> {
    if (!this.cacheVerdicts) return this.evaluate(fnArn, sourceArn);
    const key = `${fnArn}\0${sourceArn}`;
    const cached = this.verdicts.get(key);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const verdict = await this.evaluate(fnArn, sourceArn);
    if (generation === this.generation) {
      // A source ARN names a path: bound the cache against a client walking many paths.
      this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  private async evaluate(fnArn: string, sourceArn: string): Promise<boolean> {
    const info = await this.lambdaPolicies?.resource(fnArn);
    if (!info?.policy) return false;
    const source = parseArn(sourceArn);
    const facts = new RequestFacts([
      ['aws:SourceArn', sourceArn],
      ['aws:SourceAccount', source?.account],
    ]);
    const verdict = evaluatePolicies(
      [info.policy],
      { action: 'lambda:InvokeFunction', resource: fnArn, facts },
      { service: APIGATEWAY_PRINCIPAL },
    );
    return verdict.allow !== undefined && !verdict.deny;
  }
}

const URI_FUNCTION =
  /^arn:[\w-]+:apigateway:[^:]*:lambda:path\/[^/]+\/functions\/(.+)\/invocations$/;

/**
 * The function ARN an integration URI names (a Lambda ARN or the `apigateway:lambda:path`
 * form), completed with the API's account and region when it names the function only.
 * Undefined for a URI that names no function.
 */
export function functionArnOf(uri: string, account: string, region: string): string | undefined {
  const m = URI_FUNCTION.exec(uri);
  const ref = m ? decodeURIComponent(m[1] as string) : uri;
  const arn = parseArn(ref);
  if (arn) {
    return arn.service === 'lambda' && arn.resource.startsWith('function:') ? ref : undefined;
  }
  // `name` or `name:qualifier`, as Lambda's own APIs accept them.
  if (!/^[\w-]+(:[\w$-]+)?$/.test(ref)) return undefined;
  return buildArn('lambda', region, account, `function:${ref}`);
}

/** `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path without leading />`. */
export function executeApiArn(
  region: string,
  account: string,
  apiId: string,
  stage: string,
  method: string,
  path: string,
): string {
  return buildArn(
    'execute-api',
    region,
    account,
    `${apiId}/${stage}/${method}/${path.replace(/^\//, '')}`,
  );
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
