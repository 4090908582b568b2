/**
 * One health check against one target: an HTTP GET of the check path on a new connection
 * (closed afterwards, as ELB's are), a TCP connect, or a Lambda invoke with the ALB
 * health check event.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { ProbeResult } from '../health.js';
import type { TargetGroupRecord, TargetRecord } from '../store.js';

/** Instance targets are slices of this machine: their address is loopback. */
export const targetHost = (tg: TargetGroupRecord, t: TargetRecord): string =>
  tg.targetType === 'ip' ? t.id : '127.0.0.1';

const FAILED: ProbeResult = {
  ok: false,
  reason: 'Target.FailedHealthChecks',
  description: 'Health checks failed',
};
const TIMEOUT: ProbeResult = {
  ok: false,
  reason: 'Target.Timeout',
  description: 'Request timed out',
};

/** Whether `status` is one of a matcher's codes (`200`, `200,202`, `200-299`). */
export function matches(matcher: string, status: number): boolean {
  return matcher.split(',').some((part) => {
    const [lo, hi] = part.trim().split('-').map(Number);
    return hi === undefined ? status === lo : status >= lo && status <= hi;
  });
}

export function httpProbe(tg: TargetGroupRecord, t: TargetRecord): Promise<ProbeResult> {
  const hc = tg.healthCheck;
  const port = hc.port === 'traffic-port' ? t.port : Number(hc.port);
  const host = targetHost(tg, t);
  if (hc.protocol === 'TCP') return tcpProbe(host, port, hc.timeoutSeconds);
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port,
        path: hc.path ?? '/',
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close', accept: '*/*' },
        timeout: hc.timeoutSeconds * 1000,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(
          matches(hc.matcher ?? '200', status)
            ? { ok: true }
            : {
                ok: false,
                reason: 'Target.ResponseCodeMismatch',
                description: `Health checks failed with these codes: [${status}]`,
              },
        );
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve(TIMEOUT);
    });
    req.on('error', () => resolve(FAILED));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutSeconds: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutSeconds * 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(TIMEOUT);
    });
    socket.once('error', () => resolve(FAILED));
  });
}
