/**
 * One real request to Stratus, keeping the exact status, headers and body it answered
 * with, so the raw baseline server and the boto3 stub can answer with the same bytes.
 */
import { request } from 'node:http';
import type { SignedCall } from './calls.js';

export interface CannedResponse {
  status: number;
  /** As Stratus sent them, minus those node:http writes itself (date, connection, ...). */
  headers: [string, string][];
  body: string;
}

/** Headers every node:http server adds on its own; replaying them would duplicate them. */
const NODE_OWNED = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

export function capture(endpoint: string, call: SignedCall): Promise<CannedResponse> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: call.method,
        path: call.path,
        headers: Object.fromEntries(call.headers),
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const name = res.rawHeaders[i];
            if (!NODE_OWNED.has(name.toLowerCase())) headers.push([name, res.rawHeaders[i + 1]]);
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${call.name}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(call.body);
  });
}
