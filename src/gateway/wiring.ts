/**
 * The one place links between services are wired (see services/links.ts). Every node (a
 * plugin, or the gateway itself) declares the links it needs and provides; `wire` orders
 * the nodes so each provider is created before its users, hands every node exactly the
 * links it declared, and refuses a missing, doubly provided or circular need before
 * anything is created.
 */
import { linkKind, type LinkName, type Links, type Provided } from '../services/links.js';

export interface LinkNode {
  /** Named in start-up errors (the plugin name, or 'gateway'). */
  name: string;
  needs: readonly LinkName[];
  provides: readonly LinkName[];
}

export interface WireNode extends LinkNode {
  /** Creates the node from its declared links; resolves what it provides. */
  create(links: Links<LinkName>): Promise<Partial<Provided<LinkName>> | undefined>;
}

/** A declaration the server cannot start with. */
export class LinkError extends Error {
  constructor(message: string) {
    super(`Stratus cannot start: ${message}`);
    this.name = 'LinkError';
  }
}

/**
 * Orders `nodes` providers first, keeping the given order where the links allow it.
 * Throws LinkError when a need has no provider, a single link has two, or needs form a
 * cycle (the message names each step of it).
 */
export function linkOrder<T extends LinkNode>(nodes: readonly T[]): T[] {
  const providers = new Map<LinkName, T[]>();
  for (const node of nodes) {
    for (const name of node.provides) {
      const list = providers.get(name) ?? [];
      list.push(node);
      providers.set(name, list);
      if (list.length > 1 && linkKind(name) === 'one') {
        throw new LinkError(
          `the link '${name}' is provided by both ${list[0].name} and ${node.name}; ` +
            'only one plugin in src/plugins.ts may provide it',
        );
      }
    }
  }
  const dependsOn = (node: T): { link: LinkName; on: T }[] =>
    node.needs.flatMap((link) => {
      const found = providers.get(link);
      if (!found && linkKind(link) === 'one') {
        throw new LinkError(
          `${node.name} needs the link '${link}', which no plugin in src/plugins.ts provides`,
        );
      }
      return (found ?? []).map((on) => ({ link, on }));
    });

  const order: T[] = [];
  const done = new Set<T>();
  // The path being visited, for naming a cycle: each node with the link that led onwards.
  const path: { node: T; link?: LinkName }[] = [];
  const visit = (node: T): void => {
    if (done.has(node)) return;
    const at = path.findIndex((p) => p.node === node);
    if (at >= 0) {
      const steps = path
        .slice(at)
        .map(
          (p, i, all) =>
            `${p.node.name} needs '${p.link}' from ${(all[i + 1] ?? { node }).node.name}`,
        );
      throw new LinkError(`circular links: ${steps.join(', ')}`);
    }
    const step: { node: T; link?: LinkName } = { node };
    path.push(step);
    for (const { link, on } of dependsOn(node)) {
      step.link = link;
      visit(on);
    }
    path.pop();
    done.add(node);
    order.push(node);
  };
  for (const node of nodes) visit(node);
  return order;
}

/**
 * Creates every node in link order, each with the links it declared (a `many` link as the
 * list of everything provided under that name). Resolves each node's provisions by name.
 */
export async function wire(nodes: readonly WireNode[]): Promise<void> {
  const provided = new Map<LinkName, unknown[]>();
  for (const node of linkOrder(nodes)) {
    const links: Record<string, unknown> = {};
    for (const name of node.needs) {
      const all = provided.get(name) ?? [];
      links[name] = linkKind(name) === 'many' ? all : all[0];
    }
    const offers: Partial<Record<LinkName, unknown>> =
      (await node.create(links as Links<LinkName>)) ?? {};
    for (const name of node.provides) {
      const offer = offers[name];
      if (offer === undefined) {
        throw new LinkError(
          `${node.name} declares it provides '${name}' but its instance has none`,
        );
      }
      provided.set(name, [...(provided.get(name) ?? []), offer]);
    }
  }
}
