/**
 * The two calls the benchmark makes, each signed once per phase with the SDK's own SigV4
 * signer (credentials test/test, us-east-1). Re-sending the same signed bytes is fine:
 * permissive mode does not look at the date, strict mode allows 15 minutes of skew.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export type CallName = 'GetCallerIdentity' | 'DescribeLogGroups';

export const CALLS: readonly CallName[] = ['GetCallerIdentity', 'DescribeLogGroups'];

interface CallSpec {
  /** SigV4 signing name. */
  service: string;
  contentType: string;
  target?: string;
  body: string;
}

const SPECS: Record<CallName, CallSpec> = {
  // STS, query protocol: form body.
  GetCallerIdentity: {
    service: 'sts',
    contentType: 'application/x-www-form-urlencoded; charset=utf-8',
    body: 'Action=GetCallerIdentity&Version=2011-06-15',
  },
  // CloudWatch Logs, json 1.1.
  DescribeLogGroups: {
    service: 'logs',
    contentType: 'application/x-amz-json-1.1',
    target: 'Logs_20140328.DescribeLogGroups',
    body: '{}',
  },
};

export interface SignedCall {
  /** A CallName for the signed calls; benchmarks of data planes name their own requests. */
  name: string;
  method: string;
  path: string;
  /** In wire order; `host` included. No content-length: clients add it. */
  headers: [string, string][];
  body: string;
}

export async function signCall(
  name: CallName,
  endpoint: string,
  credentials = { accessKeyId: 'test', secretAccessKey: 'test' },
): Promise<SignedCall> {
  const spec = SPECS[name];
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: spec.service,
    region: 'us-east-1',
    credentials,
    sha256: Sha256,
  });
  const headers: Record<string, string> = { host: url.host, 'content-type': spec.contentType };
  if (spec.target) headers['x-amz-target'] = spec.target;
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      headers,
      body: spec.body,
    }),
  );
  return {
    name,
    method: signed.method,
    path: signed.path,
    headers: Object.entries(signed.headers),
    body: spec.body,
  };
}

/** The request as bytes on the wire (HTTP/1.1, keep-alive), for the socket load generator. */
export function wireBytes(call: SignedCall): Buffer {
  const body = Buffer.from(call.body);
  let head = `${call.method} ${call.path} HTTP/1.1\r\n`;
  for (const [k, v] of call.headers) head += `${k}: ${v}\r\n`;
  head += `content-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}
