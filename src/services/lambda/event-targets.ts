/**
 * Lambda as a target of EventBridge rules and Scheduler schedules: an asynchronous
 * invocation (the function's retry and destination settings apply). A rule needs the
 * function's resource policy to let `events.amazonaws.com` invoke it ("Amazon EventBridge
 * needs permission to invoke the function": lambda add-permission); Scheduler invokes
 * with the schedule's execution role instead.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions
 */
import { parseArn, rootPrincipal } from '../../shared/arn.js';
import { DeliveryRefused, type TargetService } from '../../events/targets.js';
import type { LambdaFunctions } from './functions-api.js';
import type { InvokePath } from './invoke/index.js';
import { allowsService } from './s3-events.js';

export function eventBridgeTarget(
  functions: LambdaFunctions,
  invoke: Pick<InvokePath, 'enqueueEvent'>,
): TargetService {
  return {
    async deliver(d) {
      const arn = parseArn(d.arn);
      const [kind, name, qualifier] = arn?.resource.split(':') ?? [];
      if (!arn || kind !== 'function' || !name)
        throw new DeliveryRefused(`not a function ARN: ${d.arn}`);
      const ctx = {
        account: arn.account,
        region: arn.region,
        principal: rootPrincipal(arn.account),
      };
      if (d.service === 'events.amazonaws.com') {
        await functions.resolve(ctx, name, qualifier);
        const statements = await functions.getPolicy(
          { account: arn.account, region: arn.region },
          name,
          qualifier,
        );
        if (!statements.some((s) => allowsService(s, d.service, d.sourceArn))) {
          throw new DeliveryRefused(
            `The function's resource policy does not let ${d.service} invoke it for ${d.sourceArn}`,
          );
        }
      }
      await invoke.enqueueEvent(ctx, d.arn, d.deliveryId, d.payload);
    },
  };
}
