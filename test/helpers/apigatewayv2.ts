/**
 * Shared by the API Gateway v2 tests: one in-process server per file with SDK clients, an
 * execution role, functions that API Gateway may invoke, and the invoke URL forms.
 */
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { AddPermissionCommand, CreateFunctionCommand } from '@aws-sdk/client-lambda';
import { clients, createRole, destroy, nodeZip, ACCOUNT, REGION, type Clients } from './lambda.js';
import { clientConfig, startTestServer, type TestServer } from './server.js';

export interface V2Fixture {
  server: TestServer;
  c: Clients;
  apigw: ApiGatewayV2Client;
  /** Creates a Node function from `code` (index.js); returns its ARN. */
  fn(name: string, code: string, handler?: string): Promise<string>;
  /** Lets API Gateway invoke `fnArn` for every route of `apiId` (AddPermission). */
  allow(fnArn: string, apiId: string): Promise<void>;
  /** `http://127.0.0.1:<port>/restapis/<api>/<stage>/_user_request_<path>` */
  pathUrl(apiId: string, stage: string, path: string): string;
  /** `http://<api>.execute-api.localhost:<port><path>` (curl resolves it; Node does not). */
  hostUrl(apiId: string, path: string): string;
  close(): Promise<void>;
}

export async function openV2Fixture(): Promise<V2Fixture> {
  const server = await startTestServer();
  const c = clients(server.endpoint);
  const apigw = new ApiGatewayV2Client({ ...clientConfig(server.endpoint), maxAttempts: 1 });
  const role = await createRole(c.iam, 'apigw-v2-role');
  let statement = 0;
  return {
    server,
    c,
    apigw,
    async fn(name, code, handler = 'index.handler') {
      const out = await c.lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs20.x',
          Handler: handler,
          Role: role,
          Code: { ZipFile: nodeZip(code) },
          // Not AWS's 3 s default: under CI load a first invoke of a fresh environment
          // took longer and turned a 200 into a function-error 500 (seen in CI).
          Timeout: 30,
        }),
      );
      return out.FunctionArn as string;
    },
    async allow(fnArn, apiId) {
      await c.lambda.send(
        new AddPermissionCommand({
          FunctionName: fnArn,
          StatementId: `apigw-${++statement}`,
          Action: 'lambda:InvokeFunction',
          Principal: 'apigateway.amazonaws.com',
          SourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${apiId}/*`,
        }),
      );
    },
    pathUrl: (apiId, stage, path) =>
      `${server.endpoint}/restapis/${apiId}/${stage}/_user_request_${path}`,
    hostUrl: (apiId, path) => `http://${apiId}.execute-api.localhost:${server.port}${path}`,
    async close() {
      apigw.destroy();
      destroy(c);
      await server.stop();
    },
  };
}
