/**
 * The serverless HTTP API example's REST half (examples/http-api/rest/run.sh) against a
 * test server, as a user runs it: deployed with the AWS CLI v2, answered by curl at both
 * invoke URL forms. Skipped where the CLI v2 or curl is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { cliEnv, startTestServer, type TestServer } from './helpers/server.js';

const run = promisify(execFile);
const AWS_V2 = '/usr/bin/aws';
const missing = [AWS_V2, '/usr/bin/curl'].filter((p) => !existsSync(p));

let server: TestServer;
before(async () => {
  if (missing.length === 0) server = await startTestServer();
});
after(async () => {
  await server?.stop();
});

test(
  'examples/http-api/rest: CLI deploy, curl at the host and path forms',
  { skip: missing.length > 0 ? `needs ${missing.join(' and ')}` : false, timeout: 300_000 },
  async () => {
    const { stdout } = await run('bash', ['examples/http-api/rest/run.sh', server.endpoint], {
      env: cliEnv({ AWS_CLI: AWS_V2 }),
      timeout: 280_000,
    });
    assert.match(
      stdout,
      /POST http:\/\/[a-z0-9]{10}\.execute-api\.localhost:\d+\/prod\/items -> \{"id"/,
    );
    assert.match(
      stdout,
      /GET {2}http:\/\/127\.0\.0\.1:\d+\/restapis\/[a-z0-9]{10}\/prod\/_user_request_\/items\/[\w-]+ -> \{.*"name":"widget"/,
    );
    assert.match(stdout, /no-such-item -> 404/);
  },
);
