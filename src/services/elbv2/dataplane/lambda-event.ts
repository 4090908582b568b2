/**
 * Lambda functions as ALB targets: the request event and the answer an ALB expects back.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
 *
 * "If you enable multi-value headers, … the load balancer uses `multiValueHeaders` and
 * `multiValueQueryStringParameters`"; otherwise the last value of a repeated header or
 * query parameter wins. Query values are passed as they arrived (still URL-encoded).
 * Bodies that are not text are base64 (`isBase64Encoded: true`). "The maximum size of
 * the response JSON that the Lambda function can send is 1 MB."
 */
export interface AlbRequest {
  method: string;
  path: string;
  rawQuery: string;
  /** Node's rawHeaders: name, value, name, value… */
  rawHeaders: readonly string[];
  body: Buffer;
  targetGroupArn: string;
  multiValue: boolean;
}

const TEXT =
  /^(text\/|application\/(json|javascript|xml|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

export function albEvent(r: AlbRequest): Record<string, unknown> {
  const pairs: [string, string][] =
    r.rawQuery === ''
      ? []
      : r.rawQuery.split('&').map((p): [string, string] => {
          const eq = p.indexOf('=');
          return eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
        });
  const headerPairs: [string, string][] = [];
  for (let i = 0; i + 1 < r.rawHeaders.length; i += 2) {
    headerPairs.push([r.rawHeaders[i].toLowerCase(), r.rawHeaders[i + 1]]);
  }
  const contentType = headerPairs.find(([k]) => k === 'content-type')?.[1] ?? '';
  const binary = r.body.length > 0 && !TEXT.test(contentType);
  const event: Record<string, unknown> = {
    requestContext: { elb: { targetGroupArn: r.targetGroupArn } },
    httpMethod: r.method,
    path: r.path,
  };
  if (r.multiValue) {
    event.multiValueQueryStringParameters = group(pairs);
    event.multiValueHeaders = group(headerPairs);
  } else {
    event.queryStringParameters = Object.fromEntries(pairs);
    event.headers = Object.fromEntries(headerPairs);
  }
  event.body = binary ? r.body.toString('base64') : r.body.toString('utf8');
  event.isBase64Encoded = binary;
  return event;
}

function group(pairs: readonly (readonly [string, string])[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of pairs) (out[k] ??= []).push(v);
  return out;
}

export interface AlbAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export const MAX_LAMBDA_RESPONSE = 1024 * 1024;
export const MAX_LAMBDA_REQUEST = 1024 * 1024;

/** The function's answer as HTTP; undefined when it is not one an ALB accepts (502). */
export function albAnswer(payload: Buffer): AlbAnswer | undefined {
  if (payload.length > MAX_LAMBDA_RESPONSE) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const o = parsed as Record<string, unknown>;
  const status = Number(o.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  if (typeof o.headers === 'object' && o.headers !== null) {
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>))
      headers[k.toLowerCase()] = String(v);
  }
  if (typeof o.multiValueHeaders === 'object' && o.multiValueHeaders !== null) {
    for (const [k, v] of Object.entries(o.multiValueHeaders as Record<string, unknown>)) {
      if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String);
    }
  }
  const text = typeof o.body === 'string' ? o.body : '';
  const body = o.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status, headers, body };
}
