/**
 * What people see of Stratus itself: `GET /` (text for curl, HTML for a browser, JSON on
 * request), who may `POST /_stratus/reset`, the memory report and garbage collection
 * (`/_stratus/memory`, `/_stratus/gc`), and the access log (pretty and JSON lines).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { curl } from './helpers/clients.js';
import { nodeZip } from './helpers/lambda.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('GET / says what is running', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  test('plain text for curl', async () => {
    const res = await curl([`${server.endpoint}/`]);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^text\/plain/);
    assert.match(res.body, /^Stratus \d+\.\d+\.\d+ \(running\) at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(res.body, /state: ephemeral/);
    assert.match(res.body, /auth: permissive/);
    assert.match(res.body, /\n {2}lambda +\d+ \/ \d+\n/);
    assert.match(res.body, /\n {2}ec2 +0 \/ \d+\n/);
    assert.ok(res.body.includes(`${server.endpoint}/_stratus/lambda-url/<url-id>/`));
    assert.ok(res.body.includes(`http://<url-id>.lambda-url.<region>.localhost:${server.port}/`));
    assert.ok(res.body.includes(`${server.endpoint}/v2/`));
  });

  test('HTML for a browser, JSON on request', async () => {
    const page = await curl([
      '-H',
      'Accept: text/html,application/xhtml+xml',
      `${server.endpoint}/`,
    ]);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.body, /<h1>Stratus \d+\.\d+\.\d+/);
    assert.match(page.body, /<td>lambda<\/td><td>\d+ \/ \d+<\/td>/);

    const res = await fetch(`${server.endpoint}/`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as {
      auth: string;
      services: { name: string; implemented: number; modelled: number }[];
      dataPlanes: { name: string; urls: string[] }[];
    };
    assert.equal(body.auth, 'permissive');
    const lambda = body.services.find((s) => s.name === 'lambda');
    assert.ok(lambda && lambda.implemented > 30 && lambda.implemented <= lambda.modelled);
    assert.equal(body.services.find((s) => s.name === 'ec2')?.implemented, 0);
    assert.ok(body.dataPlanes.some((p) => p.name === 'lambda-url'));
    assert.ok(body.dataPlanes.some((p) => p.name === 'registry'));

    // The icon a browser asks for next is a plain 404.
    const icon = await fetch(`${server.endpoint}/favicon.ico`);
    assert.equal(icon.status, 404);
    await icon.body?.cancel();
  });

  test('a signed call to / is still an API call', async () => {
    // STS's query protocol posts to /; GET / with a signature is not the overview either.
    const logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    const out = await logs.send(new DescribeLogGroupsCommand({}));
    assert.deepEqual(out.logGroups, []);
    logs.destroy();
  });
});

describe('POST /_stratus/reset', () => {
  test('is open in permissive mode on loopback', async () => {
    const server = await startTestServer();
    try {
      const res = await curl(['-X', 'POST', `${server.endpoint}/_stratus/reset`]);
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { reset: true });
    } finally {
      await server.stop();
    }
  });

  test('needs a SigV4 signature by the root keys in strict mode', async () => {
    const server = await startTestServer({ auth: 'strict' });
    const reset = `${server.endpoint}/_stratus/reset`;
    const logs = new CloudWatchLogsClient(clientConfig(server.endpoint));
    const iam = new IAMClient(clientConfig(server.endpoint));
    try {
      await logs.send(new CreateLogGroupCommand({ logGroupName: '/kept' }));

      const unsigned = await curl(['-X', 'POST', reset]);
      assert.equal(unsigned.status, 403);
      assert.equal(JSON.parse(unsigned.body).__type, 'MissingAuthenticationTokenException');

      const wrongSecret = await curl([
        '-X',
        'POST',
        '--aws-sigv4',
        'aws:amz:us-east-1:stratus',
        '--user',
        'test:wrong',
        reset,
      ]);
      assert.equal(wrongSecret.status, 403);
      assert.equal(JSON.parse(wrongSecret.body).__type, 'InvalidSignatureException');

      // An IAM user's valid keys are not the root's.
      await iam.send(new CreateUserCommand({ UserName: 'ci' }));
      const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'ci' }))).AccessKey;
      assert.ok(key?.AccessKeyId && key.SecretAccessKey);
      const user = await curl([
        '-X',
        'POST',
        '--aws-sigv4',
        'aws:amz:us-east-1:stratus',
        '--user',
        `${key.AccessKeyId}:${key.SecretAccessKey}`,
        reset,
      ]);
      assert.equal(user.status, 403);
      assert.equal(JSON.parse(user.body).__type, 'AccessDeniedException');
      const kept = await logs.send(new DescribeLogGroupsCommand({}));
      assert.deepEqual(
        kept.logGroups?.map((g) => g.logGroupName),
        ['/kept'],
      );

      const root = await curl([
        '-X',
        'POST',
        '--aws-sigv4',
        'aws:amz:us-east-1:stratus',
        '--user',
        'test:test',
        reset,
      ]);
      assert.equal(root.status, 200, root.body);
      const after = await logs.send(new DescribeLogGroupsCommand({}));
      assert.deepEqual(after.logGroups, []);
    } finally {
      logs.destroy();
      iam.destroy();
      await server.stop();
    }
  });
});

describe('GET /_stratus/memory, POST /_stratus/gc', () => {
  interface Memory {
    rss: number;
    heapUsed: number;
    external: number;
    arrayBuffers: number;
    handles: Record<string, number>;
    gcExposed: boolean;
    mallocTrim?: string;
  }

  test('report the memory; gc needs node --expose-gc', async () => {
    const server = await startTestServer();
    try {
      const res = await curl([`${server.endpoint}/_stratus/memory`]);
      assert.equal(res.status, 200);
      const m = JSON.parse(res.body) as Memory;
      assert.ok(m.rss > m.heapUsed && m.heapUsed > 0, res.body);
      assert.ok(m.handles.TCPServerWrap >= 1, res.body);
      if (!m.gcExposed) {
        const gc = await curl(['-X', 'POST', `${server.endpoint}/_stratus/gc`]);
        assert.equal(gc.status, 409);
        assert.match(JSON.parse(gc.body).message, /--expose-gc/);
      }
    } finally {
      await server.stop();
    }
  });

  test('gc with --expose-gc; both need the root keys in strict mode', async () => {
    const server = await spawnServer(['--ephemeral', '--auth', 'strict'], {
      NODE_OPTIONS: '--expose-gc',
    });
    try {
      const unsigned = await curl(['-X', 'POST', `${server.endpoint}/_stratus/gc`]);
      assert.equal(unsigned.status, 403);
      assert.equal(JSON.parse(unsigned.body).__type, 'MissingAuthenticationTokenException');
      const read = await curl([`${server.endpoint}/_stratus/memory`]);
      assert.equal(read.status, 403);

      const signed = ['--aws-sigv4', 'aws:amz:us-east-1:stratus', '--user', 'test:test'];
      const gc = await curl(['-X', 'POST', ...signed, `${server.endpoint}/_stratus/gc`]);
      assert.equal(gc.status, 200, gc.body);
      const m = JSON.parse(gc.body) as Memory;
      assert.equal(m.gcExposed, true);
      assert.ok(m.rss > m.heapUsed && m.heapUsed > 0, gc.body);
      // Then malloc's free memory goes back to the system where glibc is (Linux but musl),
      // through koffi; elsewhere there is nothing to call, and the gc still answers.
      const header = (
        process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
      )?.header;
      if (header?.glibcVersionRuntime) assert.match(m.mallocTrim ?? '', /^(released|none)$/);
      else assert.equal(m.mallocTrim, 'unavailable');
      const read2 = await curl([...signed, `${server.endpoint}/_stratus/memory`]);
      assert.equal(read2.status, 200, read2.body);
      assert.equal(JSON.parse(read2.body).mallocTrim, undefined, 'only the gc trims');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

describe('access log', () => {
  /** Waits until the server logged a line matching `pattern`. */
  async function logged(server: ServerProcess, pattern: RegExp): Promise<string> {
    for (const until = Date.now() + 30_000; Date.now() < until;) {
      const line = server
        .output()
        .split('\n')
        .find((l) => pattern.test(l));
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no log line matches ${pattern}:\n${server.output()}`);
  }

  async function failedCreate(endpoint: string): Promise<void> {
    const lambda = new LambdaClient({ ...clientConfig(endpoint), maxAttempts: 1 });
    await assert.rejects(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'logged',
          Timeout: 30, // not the 3 s default: CI load must not time a test function out
          Runtime: 'nodejs20.x',
          Handler: 'index.handler',
          Role: 'arn:aws:iam::000000000000:role/missing',
          Code: { ZipFile: nodeZip('exports.handler = async () => 1;') },
        }),
      ),
      { name: 'InvalidParameterValueException' },
    );
    lambda.destroy();
    // A data-plane request: the registry's version check, unauthenticated.
    assert.equal((await fetch(`${endpoint}/v2/`)).status, 401);
  }

  test('one readable line per API call and data-plane request', async () => {
    const server = await spawnServer(['--ephemeral', '--log-format', 'pretty']);
    try {
      await failedCreate(server.endpoint);
      await logged(
        server,
        /^[\d:.]+ info +lambda\.CreateFunction 400 InvalidParameterValueException [\d.]+ ms$/,
      );
      await logged(server, /^[\d:.]+ info +registry GET \/v2\/ 401 [\d.]+ ms$/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('JSON lines with --log-format json', async () => {
    const server = await spawnServer(['--ephemeral', '--log-format', 'json']);
    try {
      await failedCreate(server.endpoint);
      const api = JSON.parse(await logged(server, /"operation":"CreateFunction"/)) as Record<
        string,
        unknown
      >;
      assert.equal(api.level, 'info');
      assert.equal(api.service, 'lambda');
      assert.equal(api.status, 400);
      assert.equal(api.error, 'InvalidParameterValueException');
      assert.equal(typeof api.ms, 'number');
      assert.match(String(api.requestId), /^[0-9a-f-]{36}$/);
      assert.match(String(api.msg), /^lambda\.CreateFunction 400 InvalidParameterValueException/);
      const plane = JSON.parse(await logged(server, /"plane":"registry"/)) as Record<
        string,
        unknown
      >;
      assert.equal(plane.method, 'GET');
      assert.equal(plane.path, '/v2/');
      assert.equal(plane.status, 401);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
