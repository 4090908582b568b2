/**
 * Which target of a group takes a request: the group's algorithm over its routable
 * targets (`round_robin`, `least_outstanding_requests`, `weighted_random` — equal weights
 * here, so random), unless duration-based stickiness (`stickiness.type` `lb_cookie`) sends
 * the client back to the target its `AWSALB` cookie names.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#sticky-sessions
 */
import { decodeToken, encodeToken } from '../../../shared/paging.js';
import type { HealthMonitor } from '../health.js';
import type { TargetGroupRecord, TargetRecord } from '../store.js';

export interface Pick {
  target: TargetRecord;
  /** Set-Cookie values to send with the answer (stickiness). */
  cookies?: string[];
}

const STICKY_COOKIE = 'AWSALB';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const isSticky = (v: unknown): v is { t: string; p: number; g: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { t: unknown }).t === 'string' &&
  typeof (v as { p: unknown }).p === 'number' &&
  typeof (v as { g: unknown }).g === 'string';

export class TargetPicker {
  private readonly cursors = new Map<string, number>();

  constructor(private readonly health: HealthMonitor) {}

  pick(
    tg: TargetGroupRecord,
    registered: readonly TargetRecord[],
    cookieHeader: string | undefined,
  ): Pick | undefined {
    const candidates = this.health.routable(tg.arn, registered);
    if (candidates.length === 0) return undefined;
    const a = tg.attributes;
    const sticky = a['stickiness.enabled'] === 'true' && a['stickiness.type'] === 'lb_cookie';
    if (sticky) {
      const wanted = decodeToken(cookieValue(cookieHeader, STICKY_COOKIE) ?? '');
      if (isSticky(wanted) && wanted.g === tg.id) {
        const target = candidates.find((t) => t.id === wanted.t && t.port === wanted.p);
        if (target) return { target };
      }
    }
    const target = this.choose(tg, candidates);
    if (!sticky) return { target };
    const value = encodeToken({ t: target.id, p: target.port, g: tg.id });
    const seconds = Number(a['stickiness.lb_cookie.duration_seconds'] ?? 86400);
    const expires = new Date(Date.now() + seconds * 1000).toUTCString();
    return {
      target,
      cookies: [
        `${STICKY_COOKIE}=${value}; Expires=${expires}; Path=/`,
        `${STICKY_COOKIE}CORS=${value}; Expires=${expires}; Path=/; SameSite=None; Secure`,
      ],
    };
  }

  private choose(tg: TargetGroupRecord, candidates: readonly TargetRecord[]): TargetRecord {
    const algorithm = tg.attributes['load_balancing.algorithm.type'];
    if (algorithm === 'weighted_random') {
      return candidates[Math.floor(Math.random() * candidates.length)];
    }
    const n = this.cursors.get(tg.arn) ?? 0;
    this.cursors.set(tg.arn, (n + 1) % 1_000_000_007);
    if (algorithm !== 'least_outstanding_requests') return candidates[n % candidates.length];
    // The fewest requests in flight; ties go round robin.
    let best = candidates[n % candidates.length];
    let least = this.health.inFlight(tg.arn, best);
    for (let i = 1; i < candidates.length && least > 0; i++) {
      const t = candidates[(n + i) % candidates.length];
      const count = this.health.inFlight(tg.arn, t);
      if (count < least) {
        best = t;
        least = count;
      }
    }
    return best;
  }
}
