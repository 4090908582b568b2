/**
 * Load balancers reached through Stratus's own port, beside each listener's socket:
 * `http://<DNSName>:4566/…` (`<name>-<digits>.<region>.elb.localhost`, which curl and
 * browsers resolve to loopback) or `http://127.0.0.1:4566/_stratus/elb/<name>/…` (the
 * load balancer's name or DNS label). Either reaches the listener on port 80, or else
 * the one with the lowest port.
 */
import type { DataPlane } from '../../plugin.js';
import type { LoadBalancerRecord } from '../store.js';
import type { ListenerView, Snapshot } from '../snapshot.js';
import { errorPage, type HttpProxy } from './proxy.js';

export const ELB_PATH_PREFIX = '/_stratus/elb/';

function defaultListener(
  snap: Snapshot,
  lb: LoadBalancerRecord | undefined,
): ListenerView | undefined {
  if (!lb) return undefined;
  const list = (snap.listenersOf.get(lb.arn) ?? []).filter((v) => v.listener.protocol !== 'TCP');
  return list.find((v) => v.listener.port === 80) ?? list[0];
}

function byName(snap: Snapshot, name: string): LoadBalancerRecord | undefined {
  const lower = name.toLowerCase();
  const byLabel = snap.byDnsLabel.get(lower);
  if (byLabel) return byLabel;
  for (const lb of snap.loadBalancers.values()) if (lb.name.toLowerCase() === lower) return lb;
  return undefined;
}

export function gatewayPlane(snapshot: () => Snapshot, proxy: HttpProxy): DataPlane {
  return {
    name: 'elb',
    title: 'Load balancer listeners',
    hosts: ['{name}.elb.localhost', '{name}.{region}.elb.amazonaws.com'],
    paths: [`${ELB_PATH_PREFIX}{name}/`],
    async handle(req, res, match) {
      const snap = snapshot();
      const url = req.url ?? '/';
      let view: ListenerView | undefined;
      let rest = url;
      if (match.host !== undefined) {
        // `<label>.<region>` before `.elb.localhost`; the label alone before `.<region>.elb.amazonaws.com`.
        const label = (match.host.name ?? '').split('.')[0];
        view = defaultListener(snap, byName(snap, label));
      } else {
        const after = url.slice(ELB_PATH_PREFIX.length);
        const slash = after.search(/[/?]/);
        const name = slash < 0 ? after : after.slice(0, slash);
        rest =
          slash < 0 ? '/' : after[slash] === '?' ? `/${after.slice(slash)}` : after.slice(slash);
        view = defaultListener(snap, byName(snap, decodeURIComponent(name)));
      }
      if (!view) {
        req.resume();
        return errorPage(res, 503, req.method === 'HEAD');
      }
      await proxy.handle(view, req, res, { url: rest });
    },
  };
}
