/**
 * Listeners: create (idempotent for the same settings), describe with paging, modify,
 * delete (with their rules), attributes. Each listener is also served on a real socket
 * on 127.0.0.1 (dataplane/sockets.ts): its own port when free, another one otherwise;
 * DescribeListenerAttributes reports where as `stratus.local_address`.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html
 */
import {
  DuplicateListenerException,
  UnsupportedProtocolException,
} from '../../api/elbv2/errors.js';
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { Listener } from '../../api/elbv2/types.js';
import { pageStore } from '../../shared/paging.js';
import type { MetadataOps } from '../../storage/types.js';
import { checkActions } from './actions.js';
import { type CertificateDeps, checkTls, verifyCertificates } from './certificates.js';
import {
  attributeList,
  badMarker,
  listenerArn,
  listenerNotFound,
  ownedBy,
  pageSize,
  parentLoadBalancerArn,
  parseElbArn,
  resourceId,
  scopeOf,
  validation,
} from './common.js';
import { loadBalancerOf } from './load-balancers.js';
import {
  childKey,
  childPrefix,
  type ListenerRecord,
  type LoadBalancerRecord,
  type Scope,
  T,
} from './store.js';

type ListenerOps = Pick<
  Elbv2Operations,
  | 'CreateListener'
  | 'DescribeListeners'
  | 'ModifyListener'
  | 'DeleteListener'
  | 'DescribeListenerAttributes'
  | 'ModifyListenerAttributes'
>;

export interface ListenerDeps extends CertificateDeps {
  /** Where the data plane serves a listener on this machine (`127.0.0.1:<port>`). */
  localAddress(listenerArn: string): string | undefined;
}

/** The attribute Stratus adds to DescribeListenerAttributes: the listener's real socket. */
export const LOCAL_ADDRESS_ATTRIBUTE = 'stratus.local_address';

const HTTP_ATTRIBUTES: Record<string, string> = {
  'routing.http.response.server.enabled': 'true',
};
const TCP_ATTRIBUTES: Record<string, string> = { 'tcp.idle_timeout.seconds': '350' };

export function describeListener(l: ListenerRecord): Listener {
  return {
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol as Listener['Protocol'],
    ...(l.certificates !== undefined
      ? { Certificates: l.certificates.map((c) => ({ CertificateArn: c.CertificateArn })) }
      : {}),
    ...(l.sslPolicy !== undefined ? { SslPolicy: l.sslPolicy } : {}),
    DefaultActions: l.defaultActions,
  };
}

/** The listener an ARN names, or ListenerNotFound. */
export async function listenerOf(ops: MetadataOps, arn: string, s: Scope): Promise<ListenerRecord> {
  const p = parseElbArn(arn);
  const lbArn = parentLoadBalancerArn(arn);
  if (!p || p.kind !== 'listener' || lbArn === undefined) {
    throw validation(`'${arn}' is not a valid listener ARN`);
  }
  if (!ownedBy(arn, s)) throw listenerNotFound();
  const l = await ops.get<ListenerRecord>(T.listeners, childKey(lbArn, p.parts[3]));
  if (!l) throw listenerNotFound();
  return l;
}

function checkProtocol(
  lb: LoadBalancerRecord,
  protocol: string | undefined,
  port: number | undefined,
): string {
  if (protocol === undefined) throw validation('A listener protocol must be specified');
  if (port === undefined) throw validation('A listener port must be specified');
  const supported = lb.type === 'application' ? ['HTTP', 'HTTPS'] : ['TCP'];
  if (!supported.includes(protocol)) {
    throw new UnsupportedProtocolException(
      `Protocol '${protocol}' is not supported for '${lb.type}' load balancers in Stratus (${supported.join(', ')} only)`,
    );
  }
  return protocol;
}

export function listenerOperations(deps: ListenerDeps): ListenerOps {
  const { store } = deps;

  function attributesOf(l: ListenerRecord) {
    const local = deps.localAddress(l.arn);
    return [
      ...attributeList(l.attributes),
      ...(local !== undefined ? [{ Key: LOCAL_ADDRESS_ATTRIBUTE, Value: local }] : []),
    ];
  }

  return {
    async CreateListener(input, ctx) {
      const s = scopeOf(ctx);
      await verifyCertificates(deps, s, input.Certificates);
      const l = await store.transaction(async (tx) => {
        const lb = await loadBalancerOf(tx, input.LoadBalancerArn, s);
        const protocol = checkProtocol(lb, input.Protocol, input.Port);
        const port = input.Port!;
        const actions = await checkActions(tx, s, lb, input.DefaultActions, protocol);
        const tls = checkTls(protocol, input);
        const siblings = await tx.list<ListenerRecord>(T.listeners, {
          prefix: childPrefix(lb.arn),
        });
        const clash = siblings.find((x) => x.value.port === port)?.value;
        if (clash) {
          if (
            clash.protocol === protocol &&
            JSON.stringify(clash.defaultActions) === JSON.stringify(actions) &&
            JSON.stringify(clash.certificates) === JSON.stringify(tls.certificates) &&
            clash.sslPolicy === tls.sslPolicy
          ) {
            return clash;
          }
          throw new DuplicateListenerException(
            `A listener already exists on this port for this load balancer '${lb.arn}'`,
          );
        }
        const id = resourceId();
        const record: ListenerRecord = {
          arn: listenerArn(lb.arn, id),
          loadBalancerArn: lb.arn,
          id,
          port,
          protocol,
          ...tls,
          defaultActions: actions,
          defaultRuleId: resourceId(),
          attributes: { ...(protocol === 'TCP' ? TCP_ATTRIBUTES : HTTP_ATTRIBUTES) },
          tags: (input.Tags ?? []).map((t) => ({ ...t })),
        };
        await tx.insert(T.listeners, childKey(lb.arn, id), record);
        return record;
      });
      await deps.changed();
      return { Listeners: [describeListener(l)] };
    },

    async DescribeListeners(input, ctx) {
      const s = scopeOf(ctx);
      if (input.ListenerArns !== undefined) {
        if (input.LoadBalancerArn !== undefined) {
          throw validation(
            'Listener ARNs and a load balancer ARN cannot be specified at the same time',
          );
        }
        const out: Listener[] = [];
        for (const arn of input.ListenerArns)
          out.push(describeListener(await listenerOf(store, arn, s)));
        return { Listeners: out };
      }
      if (input.LoadBalancerArn === undefined) {
        throw validation('You must specify either listener ARNs or a load balancer ARN');
      }
      const lb = await loadBalancerOf(store, input.LoadBalancerArn, s);
      const page = await pageStore<ListenerRecord>(store, T.listeners, {
        prefix: childPrefix(lb.arn),
        marker: input.Marker,
        max: pageSize(input.PageSize),
        invalid: badMarker,
      });
      return {
        Listeners: page.items.map((i) => describeListener(i.value)),
        ...(page.next ? { NextMarker: page.next } : {}),
      };
    },

    async ModifyListener(input, ctx) {
      const s = scopeOf(ctx);
      await verifyCertificates(deps, s, input.Certificates);
      const l = await store.transaction(async (tx) => {
        const l = await listenerOf(tx, input.ListenerArn, s);
        const lb = await loadBalancerOf(tx, l.loadBalancerArn, s);
        const protocol = checkProtocol(lb, input.Protocol ?? l.protocol, input.Port ?? l.port);
        if (input.Port !== undefined && input.Port !== l.port) {
          const siblings = await tx.list<ListenerRecord>(T.listeners, {
            prefix: childPrefix(lb.arn),
          });
          if (siblings.some((x) => x.value.port === input.Port)) {
            throw new DuplicateListenerException(
              `A listener already exists on this port for this load balancer '${lb.arn}'`,
            );
          }
          l.port = input.Port;
        }
        const tls = checkTls(protocol, input, l);
        l.protocol = protocol;
        delete l.certificates;
        delete l.sslPolicy;
        delete l.extraCertificates;
        Object.assign(l, tls);
        if (input.DefaultActions !== undefined) {
          l.defaultActions = await checkActions(tx, s, lb, input.DefaultActions, protocol);
        }
        await tx.put(T.listeners, childKey(lb.arn, l.id), l);
        return l;
      });
      await deps.changed();
      return { Listeners: [describeListener(l)] };
    },

    async DeleteListener(input, ctx) {
      const s = scopeOf(ctx);
      await store.transaction(async (tx) => {
        const l = await listenerOf(tx, input.ListenerArn, s);
        await tx.deletePrefix(T.rules, childPrefix(l.arn));
        await tx.delete(T.listeners, childKey(l.loadBalancerArn, l.id));
      });
      await deps.changed();
      return {};
    },

    async DescribeListenerAttributes(input, ctx) {
      const l = await listenerOf(store, input.ListenerArn, scopeOf(ctx));
      return { Attributes: attributesOf(l) };
    },

    async ModifyListenerAttributes(input, ctx) {
      const s = scopeOf(ctx);
      const l = await store.transaction(async (tx) => {
        const l = await listenerOf(tx, input.ListenerArn, s);
        for (const { Key, Value } of input.Attributes) {
          if (Key === undefined || !(Key in l.attributes)) {
            throw validation(`Listener attribute key '${Key ?? ''}' is not recognized`);
          }
          l.attributes[Key] = Value ?? '';
        }
        await tx.put(T.listeners, childKey(l.loadBalancerArn, l.id), l);
        return l;
      });
      await deps.changed();
      return { Attributes: attributesOf(l) };
    },
  };
}
