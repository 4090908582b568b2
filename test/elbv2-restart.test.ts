/**
 * A load balancer survives a `kill -9` of Stratus: after the restart its listeners answer
 * on the same ports again (the HTTPS one with its IAM certificate), its targets are still
 * registered and health-checked afresh.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type Echo, freePort, startBackend } from './helpers/backends.js';
import { eventually } from './helpers/lambda.js';
import { connect } from 'node:tls';
import { IAMClient, UploadServerCertificateCommand } from '@aws-sdk/client-iam';
import { generate } from 'selfsigned';
import { spawnServer } from './helpers/process.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { clientConfig } from './helpers/server.js';

test('listeners and targets come back after kill -9', async () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'stratus-elb-'));
  const backend = await startBackend('kept');
  const port = await freePort();
  const tlsPort = await freePort();
  const pems = await generate([{ name: 'commonName', value: 'durable.example.com' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  /** The CN of the certificate the HTTPS listener serves. */
  const servedCn = () =>
    new Promise<unknown>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false },
        () => {
          resolve(socket.getPeerCertificate().subject.CN);
          socket.end();
        },
      );
      socket.on('error', reject);
    });
  const healthy = (elb: ElasticLoadBalancingV2Client, tg: string) =>
    eventually('target healthy', async () => {
      const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
      return out.TargetHealthDescriptions?.[0]?.TargetHealth?.State === 'healthy'
        ? true
        : undefined;
    });
  try {
    const first = await spawnServer(['--state-dir', stateDir]);
    const elb = new ElasticLoadBalancingV2Client(clientConfig(first.endpoint));
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'durable' })))
      .LoadBalancers![0];
    const tg = (await httpTargetGroup(elb, 'durable-tg', [{ Id: '127.0.0.1', Port: backend.port }]))
      .TargetGroupArn!;
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTP',
        Port: port,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
      }),
    );
    const iam = new IAMClient(clientConfig(first.endpoint));
    const cert = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: 'durable',
        CertificateBody: pems.cert,
        PrivateKey: pems.private,
      }),
    );
    iam.destroy();
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        Protocol: 'HTTPS',
        Port: tlsPort,
        Certificates: [{ CertificateArn: cert.ServerCertificateMetadata!.Arn }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
      }),
    );
    assert.equal(await servedCn(), 'durable.example.com');
    await healthy(elb, tg);
    assert.equal(
      ((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as Echo).backend,
      'kept',
    );
    elb.destroy();
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnServer(['--state-dir', stateDir]);
    const again = new ElasticLoadBalancingV2Client(clientConfig(second.endpoint));
    try {
      await healthy(again, tg);
      const res = await fetch(`http://127.0.0.1:${port}/after`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as Echo).url, '/after');
      assert.equal(await servedCn(), 'durable.example.com');
    } finally {
      again.destroy();
      second.child.kill('SIGTERM');
      await second.exited;
    }
  } finally {
    await backend.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
