/**
 * Calls API Gateway invoke URLs the way a client does, at either URL form: the host form
 * (`Host: <api-id>.execute-api.localhost`, sent to the server's loopback address because
 * `*.localhost` names do not resolve through glibc) or the path form
 * (`/restapis/<api-id>/<stage>/_user_request_/<path>`).
 */
import { Agent, request } from 'node:http';
import {
  type APIGatewayClient,
  CreateResourceCommand,
  CreateRestApiCommand,
} from '@aws-sdk/client-api-gateway';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): unknown;
}

export interface ApiCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  form?: 'host' | 'path';
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export function callApi(
  endpoint: string,
  apiId: string,
  stage: string,
  path: string,
  call: ApiCall = {},
): Promise<ApiResponse> {
  const url = new URL(endpoint);
  const form = call.form ?? 'path';
  const target =
    form === 'host' ? `/${stage}${path}` : `/restapis/${apiId}/${stage}/_user_request_${path}`;
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  if (form === 'host') headers.host = `${apiId}.execute-api.localhost:${url.port}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: call.method ?? 'GET',
        path: target,
        headers,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as unknown,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

/** A new REST API: its id and root resource id. */
export async function createApi(
  apigw: APIGatewayClient,
  name: string,
): Promise<{ id: string; root: string }> {
  const api = await apigw.send(new CreateRestApiCommand({ name }));
  return { id: api.id as string, root: api.rootResourceId as string };
}

/** A new resource under `parent`: its id. */
export async function createResource(
  apigw: APIGatewayClient,
  api: string,
  parent: string,
  part: string,
): Promise<string> {
  const r = await apigw.send(
    new CreateResourceCommand({ restApiId: api, parentId: parent, pathPart: part }),
  );
  return r.id as string;
}
