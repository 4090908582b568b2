/**
 * Lambda as a target of S3 bucket notifications: S3 checks at configuration time that the
 * function exists and that its resource policy lets `s3.amazonaws.com` invoke it, and each
 * matching object event becomes an asynchronous invocation.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-s3.html
 */
import { parseArn, rootPrincipal } from '../../shared/arn.js';
import type { LambdaEventTarget } from '../s3/plugin.js';
import type { LambdaFunctions } from './functions-api.js';
import type { InvokePath } from './invoke/index.js';
import type { PolicyStatement } from './store.js';

export function s3EventTarget(
  functions: LambdaFunctions,
  invoke: Pick<InvokePath, 'enqueueEvent'>,
): LambdaEventTarget {
  const callerOf = (arn: string) => {
    const parsed = parseArn(arn);
    if (!parsed || parsed.service !== 'lambda') return undefined;
    const [kind, name, qualifier] = parsed.resource.split(':');
    if (kind !== 'function' || !name) return undefined;
    return {
      ctx: {
        account: parsed.account,
        region: parsed.region,
        principal: rootPrincipal(parsed.account),
      },
      name,
      qualifier,
    };
  };
  return {
    async check(functionArn, bucketArn, account) {
      const at = callerOf(functionArn);
      if (!at || at.ctx.account !== account) return 'The destination function ARN is not valid';
      try {
        await functions.resolve(at.ctx, at.name, at.qualifier);
      } catch {
        return `Function does not exist: ${functionArn}`;
      }
      const statements = await functions.getPolicy(
        { account: at.ctx.account, region: at.ctx.region },
        at.name,
        at.qualifier,
      );
      return statements.some((s) => allowsService(s, 's3.amazonaws.com', bucketArn))
        ? undefined
        : 'Not authorized to invoke function [' + functionArn + ']';
    },
    async deliver(functionArn, event, requestId) {
      const at = callerOf(functionArn);
      if (!at) throw new Error(`not a function ARN: ${functionArn}`);
      await invoke.enqueueEvent(at.ctx, functionArn, requestId, event);
    },
  };
}

/**
 * A statement that lets an AWS service (S3 for a bucket, EventBridge for a rule) invoke the
 * function, for this source ARN when the statement names one.
 */
export function allowsService(s: PolicyStatement, service: string, sourceArn: string): boolean {
  const principal =
    typeof s.Principal === 'string' ? s.Principal : Object.values(s.Principal).join(',');
  if (principal !== '*' && !principal.includes(service)) return false;
  if (s.Action !== 'lambda:InvokeFunction' && s.Action !== 'lambda:*') return false;
  const source =
    s.Condition?.ArnLike?.['AWS:SourceArn'] ?? s.Condition?.ArnEquals?.['AWS:SourceArn'];
  if (source === undefined || sourceArn === '') return true;
  const pattern = new RegExp(
    `^${source.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`,
  );
  return pattern.test(sourceArn);
}
