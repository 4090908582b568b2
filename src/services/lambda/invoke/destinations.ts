/**
 * Destinations for asynchronous invocations: the record Lambda sends to OnSuccess /
 * OnFailure, as AWS documents it.
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 *   {"version":"1.0","timestamp":"2019-11-14T18:16:05.568Z",
 *    "requestContext":{"requestId":"…","functionArn":"arn:…:function:my-function:$LATEST",
 *                      "condition":"RetriesExhausted","approximateInvokeCount":3},
 *    "requestPayload":{…},
 *    "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},
 *    "responsePayload":{"errorMessage":"…"}}
 * A Lambda function destination is invoked asynchronously with that record. Stratus does
 * not run SQS, SNS, EventBridge or S3 yet: such destinations are reported and skipped.
 */
import { isAccountId, parseArn } from '../../../shared/arn.js';
import type { FunctionEventInvokeConfig } from '../../../api/lambda/types.js';
import type { InvokeOutcome } from '../execution/types.js';

export type DestinationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

export interface DestinationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: DestinationCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext?: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload?: unknown;
}

export interface RecordInput {
  requestId: string;
  /** The ARN of the version that ran (qualified). */
  functionArn: string;
  condition: DestinationCondition;
  attempts: number;
  payload: Buffer;
  executedVersion: string;
  /** The last attempt's outcome, when there was one. */
  outcome?: InvokeOutcome;
  now: number;
}

export function destinationRecord(input: RecordInput): DestinationRecord {
  const record: DestinationRecord = {
    version: '1.0',
    timestamp: new Date(input.now).toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.attempts,
    },
    requestPayload: parseOrText(input.payload),
  };
  const o = input.outcome;
  if (o !== undefined) {
    record.responseContext = { statusCode: 200, executedVersion: input.executedVersion };
    if (o.kind !== 'success') record.responseContext.functionError = 'Unhandled';
    record.responsePayload = parseOrText(o.payload);
  }
  return record;
}

/** The destination ARN configured for a condition, if any. */
export function destinationFor(
  config: FunctionEventInvokeConfig | undefined,
  condition: DestinationCondition,
): string | undefined {
  const d = config?.DestinationConfig;
  return condition === 'Success' ? d?.OnSuccess?.Destination : d?.OnFailure?.Destination;
}

export interface LambdaDestination {
  account: string;
  region: string;
  /** The function ARN as configured (qualified or not). */
  functionName: string;
}

const REGION = /^[a-z0-9-]+$/;
const FUNCTION = /^function:[^:]+(?::[^:]+)?$/;

/** A Lambda function destination, or undefined for other services. */
export function lambdaDestination(arn: string): LambdaDestination | undefined {
  const p = parseArn(arn);
  return p?.service === 'lambda' &&
    REGION.test(p.region) &&
    isAccountId(p.account) &&
    FUNCTION.test(p.resource)
    ? { region: p.region, account: p.account, functionName: arn }
    : undefined;
}

function parseOrText(b: Buffer): unknown {
  const text = b.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
