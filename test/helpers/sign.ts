/**
 * Raw SigV4-signed HTTP requests, for the hostile inputs no SDK would send
 * (malformed bodies, oversized payloads, odd paths). Signed with the SDK's own signer.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';

export interface RawRequest {
  service: string;
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body's bytes (binary answers: CBOR). */
  bytes: Buffer;
}

/** The request signed as the SDK signs it: its path (with the query), method and headers. */
export async function signRequest(
  endpoint: string,
  r: RawRequest,
): Promise<{ path: string; method: string; headers: Record<string, string> }> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: r.service,
    region: r.region ?? 'us-east-1',
    credentials: {
      accessKeyId: r.accessKeyId ?? 'test',
      secretAccessKey: r.secretAccessKey ?? 'test',
    },
    sha256: Sha256,
  });
  const request = new HttpRequest({
    method: r.method ?? 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: r.path ?? '/',
    query: r.query,
    headers: { host: url.host, ...(r.headers ?? {}) },
    body: r.body,
  });
  const signed = await signer.sign(request);
  const qs = new URLSearchParams(r.query ?? {}).toString();
  return {
    path: `${signed.path}${qs ? `?${qs}` : ''}`,
    method: signed.method,
    headers: signed.headers,
  };
}

export async function signedFetch(endpoint: string, r: RawRequest): Promise<RawResponse> {
  const signed = await signRequest(endpoint, r);
  const res = await fetch(`${endpoint}${signed.path}`, {
    method: signed.method,
    headers: Object.fromEntries(
      Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== 'host'),
    ),
    body: r.body,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, text: bytes.toString('utf8'), bytes };
}
