/**
 * Listener and rule actions as AWS checks them: one terminal action (forward, redirect,
 * fixed-response) last, the target groups a forward names exist, are of a kind an ALB
 * forwards to, and belong to no other load balancer.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html
 */
import {
  IncompatibleProtocolsException,
  InvalidLoadBalancerActionException,
  TargetGroupAssociationLimitException,
  TooManyActionsException,
} from '../../api/elbv2/errors.js';
import type { Action } from '../../api/elbv2/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { validation } from './common.js';
import type { LoadBalancerRecord, Scope } from './store.js';
import { targetGroupOf } from './target-groups.js';
import { groupUsage } from './usage.js';

const TERMINAL = new Set(['forward', 'redirect', 'fixed-response']);
const CONTENT_TYPES = new Set([
  'text/plain',
  'text/css',
  'text/html',
  'application/javascript',
  'application/json',
]);

/** Checks `actions` for a listener of `lb`; returns them in order, normalised as AWS describes them. */
export async function checkActions(
  ops: MetadataOps,
  s: Scope,
  lb: LoadBalancerRecord,
  actions: readonly Action[],
  listenerProtocol: string,
): Promise<Action[]> {
  if (actions.length === 0) throw validation('At least one action must be specified');
  if (actions.length > 5)
    throw new TooManyActionsException('You have reached the maximum number of actions per rule');
  const ordered = actions
    .map((a, i) => ({ a, order: a.Order ?? i + 1 }))
    .sort((x, y) => x.order - y.order);
  const terminal = ordered.filter(({ a }) => TERMINAL.has(a.Type));
  if (terminal.length !== 1 || !TERMINAL.has(ordered[ordered.length - 1].a.Type)) {
    throw new InvalidLoadBalancerActionException(
      'The last action must be one of the following types: forward, redirect, fixed-response, and there can be only one',
    );
  }
  const usage = await groupUsage(ops, s);
  const out: Action[] = [];
  for (const { a, order } of ordered) {
    switch (a.Type) {
      case 'forward':
        out.push({ ...(await checkForward(ops, s, lb, a, usage, listenerProtocol)), Order: order });
        break;
      case 'fixed-response': {
        const c = a.FixedResponseConfig;
        if (!c)
          throw validation('A fixed response config must be specified for fixed-response actions');
        if (!/^[245]\d\d$/.test(c.StatusCode)) {
          throw validation(`Fixed response status code '${c.StatusCode}' must be 2XX, 4XX or 5XX`);
        }
        if (c.ContentType !== undefined && !CONTENT_TYPES.has(c.ContentType)) {
          throw validation(`Fixed response content type '${c.ContentType}' is not valid`);
        }
        if ((c.MessageBody ?? '').length > 1024) {
          throw validation('Fixed response message body cannot be longer than 1024 characters');
        }
        out.push({ Type: 'fixed-response', FixedResponseConfig: { ...c }, Order: order });
        break;
      }
      case 'redirect': {
        const c = a.RedirectConfig;
        if (!c) throw validation('A redirect config must be specified for redirect actions');
        const protocol = c.Protocol ?? '#{protocol}';
        if (!['HTTP', 'HTTPS', '#{protocol}'].includes(protocol)) {
          throw validation(
            `Redirect protocol '${protocol}' must be 'HTTP', 'HTTPS' or '#{protocol}'`,
          );
        }
        const path = c.Path ?? '/#{path}';
        if (!path.startsWith('/'))
          throw validation(`Redirect path '${path}' must start with a '/'`);
        out.push({
          Type: 'redirect',
          RedirectConfig: {
            Protocol: protocol,
            Port: c.Port ?? '#{port}',
            Host: c.Host ?? '#{host}',
            Path: path,
            Query: c.Query ?? '#{query}',
            StatusCode: c.StatusCode,
          },
          Order: order,
        });
        break;
      }
      case 'authenticate-oidc':
      case 'authenticate-cognito':
      case 'jwt-validation':
        throw new InvalidLoadBalancerActionException(
          listenerProtocol === 'HTTPS'
            ? `Action type '${a.Type}' is not supported by Stratus`
            : `Action type '${a.Type}' is supported only on HTTPS listeners`,
        );
      default: {
        const never: never = a.Type;
        throw validation(`Action type '${String(never)}' is not valid`);
      }
    }
  }
  return out;
}

async function checkForward(
  ops: MetadataOps,
  s: Scope,
  lb: LoadBalancerRecord,
  a: Action,
  usage: Map<string, Set<string>>,
  listenerProtocol: string,
): Promise<Action> {
  const tuples = a.ForwardConfig?.TargetGroups;
  if (a.TargetGroupArn === undefined && (tuples === undefined || tuples.length === 0)) {
    throw validation('A target group ARN must be specified for forward actions');
  }
  if (a.TargetGroupArn !== undefined && tuples !== undefined) {
    if (tuples.length !== 1 || tuples[0].TargetGroupArn !== a.TargetGroupArn) {
      throw validation(
        'You cannot specify both a top-level target group ARN and a forward config with different target groups',
      );
    }
  }
  if (tuples !== undefined && tuples.length > 5) {
    throw validation('A forward action can have at most 5 target groups');
  }
  const arns =
    a.TargetGroupArn !== undefined
      ? [a.TargetGroupArn]
      : tuples!.map((t) => t.TargetGroupArn ?? '');
  for (const arn of arns) {
    const tg = await targetGroupOf(ops, arn, s);
    const lbs = usage.get(tg.arn);
    if (lbs && !lbs.has(lb.arn)) {
      throw new TargetGroupAssociationLimitException(
        `The following target groups cannot be associated with more than one load balancer: ${tg.arn}`,
      );
    }
    const tcp = listenerProtocol === 'TCP';
    const ok =
      tg.targetType === 'lambda'
        ? !tcp
        : tcp
          ? tg.protocol === 'TCP'
          : tg.protocol === 'HTTP' || tg.protocol === 'HTTPS';
    if (!ok) {
      throw new IncompatibleProtocolsException(
        `The target group '${tg.arn}' is not compatible with the protocol '${listenerProtocol}' of the listener`,
      );
    }
  }
  if (tuples === undefined) {
    return {
      Type: 'forward',
      TargetGroupArn: a.TargetGroupArn,
      ForwardConfig: {
        TargetGroups: [{ TargetGroupArn: a.TargetGroupArn, Weight: 1 }],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    };
  }
  const out: Action = {
    Type: 'forward',
    ForwardConfig: {
      TargetGroups: tuples.map((t) => ({
        TargetGroupArn: t.TargetGroupArn,
        Weight: t.Weight ?? 1,
      })),
      TargetGroupStickinessConfig: {
        Enabled: a.ForwardConfig?.TargetGroupStickinessConfig?.Enabled ?? false,
        ...(a.ForwardConfig?.TargetGroupStickinessConfig?.DurationSeconds !== undefined
          ? { DurationSeconds: a.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds }
          : {}),
      },
    },
  };
  if (tuples.length === 1) out.TargetGroupArn = tuples[0].TargetGroupArn;
  return out;
}
