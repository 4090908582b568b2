/**
 * The "Serverless CRON job" example (examples/serverless-cron): deployed by its script
 * with the AWS CLI v2, the clock advanced three hours, three runs in the function's logs
 * and three report objects in S3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { clients, destroy, eventually, logMessages, type Clients } from './helpers/lambda.js';
import { cliEnv, clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { clock } from './helpers/events.js';
import { repoRoot } from './helpers/process.js';

const run = promisify(execFile);
let server: TestServer;
let c: Clients;
let s3: S3Client;

describe('example: serverless CRON job', () => {
  before(async () => {
    server = await startTestServer();
    c = clients(server.endpoint);
    s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
  });
  after(async () => {
    destroy(c);
    s3.destroy();
    await server.stop();
  });

  test('deployed by its script, the hourly rule runs three times in three hours', async () => {
    const script = join(repoRoot(), 'examples', 'serverless-cron', 'deploy.sh');
    const out = await run(script, [server.endpoint], {
      env: cliEnv({ AWS_CLI: '/usr/bin/aws' }),
    });
    assert.match(
      out.stdout,
      /rule arn:aws:events:us-east-1:000000000000:rule\/hourly-report invokes/,
    );
    const moved = await clock(server.endpoint, { advanceSeconds: 3 * 3600 });
    assert.equal(moved.fired, 3);
    const runs = await eventually(
      'three runs in the logs',
      async () => {
        const all = await logMessages(c.logs, '/aws/lambda/cron-report');
        const lines = all.filter((l) => l.includes('report written to s3://cron-reports/reports/'));
        const ends = all.filter((l) => l.startsWith('REPORT RequestId:'));
        return lines.length >= 3 && ends.length >= 3 ? lines : undefined;
      },
      120_000,
    );
    assert.equal(runs.length, 3);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: 'cron-reports', Prefix: 'reports/' }),
    );
    const keys = (listed.Contents ?? []).map((o) => o.Key as string);
    assert.equal(keys.length, 3);
    const reports = await Promise.all(
      keys.map(async (Key) => {
        const got = await s3.send(new GetObjectCommand({ Bucket: 'cron-reports', Key }));
        return JSON.parse(
          await (got.Body as { transformToString(): Promise<string> }).transformToString(),
        ) as {
          scheduledTime: string;
          rule: string;
        };
      }),
    );
    const times = reports.map((r) => Date.parse(r.scheduledTime)).sort();
    assert.equal(times[1] - times[0], 3_600_000);
    assert.equal(times[2] - times[1], 3_600_000);
    for (const r of reports)
      assert.equal(r.rule, 'arn:aws:events:us-east-1:000000000000:rule/hourly-report');
  });
});
