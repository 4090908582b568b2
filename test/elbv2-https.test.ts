/**
 * HTTPS listeners on an Application Load Balancer: IAM server certificates uploaded with
 * the SDK, TLS terminated on the listener's port and checked with curl (`--cacert`) and
 * node:tls (the certificate served, SNI choosing from the certificate list), the HTTP →
 * HTTPS redirect end to end, security policies (DescribeSSLPolicies through the AWS CLI;
 * a TLS 1.3-only policy refusing TLS 1.2) and AWS's errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type PeerCertificate } from 'node:tls';
import {
  AddListenerCertificatesCommand,
  CertificateNotFoundException,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
  SSLPolicyNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient, UploadServerCertificateCommand } from '@aws-sdk/client-iam';
import { generate } from 'selfsigned';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backend, type Echo, freePort, startBackend } from './helpers/backends.js';
import { awsCli, curl } from './helpers/clients.js';
import { eventually } from './helpers/lambda.js';
import { httpTargetGroup } from './helpers/elbv2.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

interface Pem {
  cert: string;
  key: string;
}

/** A self-signed certificate for `names` (the first is also the subject's CN). */
async function selfSigned(...names: string[]): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: names[0] }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: names.map((value) => ({ type: 2, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** The certificate the listener presents for `servername` (none: no SNI at all). */
function servedCertificate(
  port: number,
  servername?: string,
  maxVersion?: 'TLSv1.2' | 'TLSv1.3',
): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ...(servername !== undefined && { servername }),
        ...(maxVersion !== undefined && { maxVersion }),
      },
      () => {
        resolve(socket.getPeerCertificate());
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

describe('ELBv2: HTTPS listeners', () => {
  let server: TestServer;
  let elb: ElasticLoadBalancingV2Client;
  let iam: IAMClient;
  let backend: Backend;
  let dir: string;
  let lbArn: string;
  let tg: string;
  let httpsPort: number;
  let httpsArn: string;
  const certArn: Record<string, string> = {};
  const caFile: Record<string, string> = {};

  const upload = async (name: string, pem: Pem) => {
    const out = await iam.send(
      new UploadServerCertificateCommand({
        ServerCertificateName: name,
        CertificateBody: pem.cert,
        PrivateKey: pem.key,
      }),
    );
    certArn[name] = out.ServerCertificateMetadata!.Arn!;
    caFile[name] = join(dir, `${name}.pem`);
    writeFileSync(caFile[name], pem.cert);
  };

  before(async () => {
    server = await startTestServer();
    elb = new ElasticLoadBalancingV2Client(clientConfig(server.endpoint));
    iam = new IAMClient(clientConfig(server.endpoint));
    dir = mkdtempSync(join(tmpdir(), 'stratus-elb-tls-'));
    await upload('site-a', await selfSigned('a.example.com'));
    await upload('site-b', await selfSigned('b.example.com', '*.b.example.com'));
    backend = await startBackend('secure');
    lbArn = (await elb.send(new CreateLoadBalancerCommand({ Name: 'tls' }))).LoadBalancers![0]
      .LoadBalancerArn!;
    tg = (await httpTargetGroup(elb, 'tls-tg', [{ Id: '127.0.0.1', Port: backend.port }]))
      .TargetGroupArn!;
    httpsPort = await freePort();
    const created = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lbArn,
        Protocol: 'HTTPS',
        Port: httpsPort,
        Certificates: [{ CertificateArn: certArn['site-a'] }],
        DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
      }),
    );
    httpsArn = created.Listeners![0].ListenerArn!;
    await eventually(
      'target healthy',
      async () => {
        const out = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
        return out.TargetHealthDescriptions?.[0]?.TargetHealth?.State === 'healthy'
          ? true
          : undefined;
      },
      120_000,
    );
  });
  after(async () => {
    elb.destroy();
    iam.destroy();
    await server.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the listener is described with its certificate and the default policy', async () => {
    const l = (await elb.send(new DescribeListenersCommand({ ListenerArns: [httpsArn] })))
      .Listeners![0];
    assert.equal(l.Protocol, 'HTTPS');
    assert.equal(l.SslPolicy, 'ELBSecurityPolicy-2016-08');
    assert.deepEqual(l.Certificates, [{ CertificateArn: certArn['site-a'] }]);
  });

  test('curl reaches the target over TLS, which sees X-Forwarded-Proto https', async () => {
    const r = await curl([
      '--cacert',
      caFile['site-a'],
      '--resolve',
      `a.example.com:${httpsPort}:127.0.0.1`,
      `https://a.example.com:${httpsPort}/hello?x=1`,
    ]);
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body) as Echo;
    assert.equal(echo.backend, 'secure');
    assert.equal(echo.url, '/hello?x=1');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(echo.headers['x-forwarded-port'], String(httpsPort));
    assert.equal(echo.headers.host, `a.example.com:${httpsPort}`);
    // The other certificate is not the one served: curl trusting only it refuses.
    await assert.rejects(
      curl([
        '--cacert',
        caFile['site-b'],
        '--resolve',
        `a.example.com:${httpsPort}:127.0.0.1`,
        `https://a.example.com:${httpsPort}/`,
      ]),
      /failed \(60\)/,
    );
  });

  test('SNI picks from the certificate list; anything else gets the default', async () => {
    const added = await elb.send(
      new AddListenerCertificatesCommand({
        ListenerArn: httpsArn,
        Certificates: [{ CertificateArn: certArn['site-b'] }],
      }),
    );
    assert.deepEqual(added.Certificates, [{ CertificateArn: certArn['site-b'], IsDefault: false }]);
    const listed = await elb.send(
      new DescribeListenerCertificatesCommand({ ListenerArn: httpsArn }),
    );
    assert.deepEqual(listed.Certificates, [
      { CertificateArn: certArn['site-a'], IsDefault: true },
      { CertificateArn: certArn['site-b'], IsDefault: false },
    ]);
    assert.equal((await servedCertificate(httpsPort, 'b.example.com')).subject.CN, 'b.example.com');
    assert.equal(
      (await servedCertificate(httpsPort, 'x.b.example.com')).subject.CN,
      'b.example.com',
    );
    assert.equal((await servedCertificate(httpsPort, 'a.example.com')).subject.CN, 'a.example.com');
    assert.equal((await servedCertificate(httpsPort, 'other.test')).subject.CN, 'a.example.com');
    assert.equal((await servedCertificate(httpsPort)).subject.CN, 'a.example.com');
    const viaB = await curl([
      '--cacert',
      caFile['site-b'],
      '--resolve',
      `www.b.example.com:${httpsPort}:127.0.0.1`,
      `https://www.b.example.com:${httpsPort}/sni`,
    ]);
    assert.equal((JSON.parse(viaB.body) as Echo).url, '/sni');

    await assert.rejects(
      elb.send(
        new RemoveListenerCertificatesCommand({
          ListenerArn: httpsArn,
          Certificates: [{ CertificateArn: certArn['site-a'] }],
        }),
      ),
      { name: 'OperationNotPermittedException' },
    );
    await elb.send(
      new RemoveListenerCertificatesCommand({
        ListenerArn: httpsArn,
        Certificates: [{ CertificateArn: certArn['site-b'] }],
      }),
    );
    assert.equal((await servedCertificate(httpsPort, 'b.example.com')).subject.CN, 'a.example.com');
  });

  test('an HTTP listener redirects to HTTPS, which answers', async () => {
    const httpPort = await freePort();
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: lbArn,
        Protocol: 'HTTP',
        Port: httpPort,
        DefaultActions: [
          {
            Type: 'redirect',
            RedirectConfig: { Protocol: 'HTTPS', Port: String(httpsPort), StatusCode: 'HTTP_301' },
          },
        ],
      }),
    );
    const moved = await curl([
      '--resolve',
      `a.example.com:${httpPort}:127.0.0.1`,
      `http://a.example.com:${httpPort}/path/x?q=1`,
    ]);
    assert.equal(moved.status, 301);
    const location = `https://a.example.com:${httpsPort}/path/x?q=1`;
    assert.equal(moved.headers.location, location);
    const followed = await curl([
      '--cacert',
      caFile['site-a'],
      '--resolve',
      `a.example.com:${httpsPort}:127.0.0.1`,
      location,
    ]);
    assert.equal(followed.status, 200);
    const echo = JSON.parse(followed.body) as Echo;
    assert.equal(echo.url, '/path/x?q=1');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
  });

  test("a redirect keeping '#{protocol}' on the HTTPS listener stays on https", async () => {
    const out = await elb.send(
      new ModifyListenerCommand({
        ListenerArn: httpsArn,
        DefaultActions: [
          { Type: 'redirect', RedirectConfig: { Host: 'www.#{host}', StatusCode: 'HTTP_302' } },
        ],
      }),
    );
    assert.equal(out.Listeners![0].Protocol, 'HTTPS');
    try {
      const r = await curl([
        '--cacert',
        caFile['site-a'],
        '--resolve',
        `a.example.com:${httpsPort}:127.0.0.1`,
        `https://a.example.com:${httpsPort}/r`,
      ]);
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, `https://www.a.example.com:${httpsPort}/r`);
    } finally {
      await elb.send(
        new ModifyListenerCommand({
          ListenerArn: httpsArn,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
        }),
      );
    }
  });

  test('a TLS 1.3-only policy refuses TLS 1.2 clients', async () => {
    const out = await elb.send(
      new ModifyListenerCommand({
        ListenerArn: httpsArn,
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-3-2021-06',
      }),
    );
    assert.equal(out.Listeners![0].SslPolicy, 'ELBSecurityPolicy-TLS13-1-3-2021-06');
    try {
      assert.equal(
        (await servedCertificate(httpsPort, 'a.example.com')).subject.CN,
        'a.example.com',
      );
      await assert.rejects(servedCertificate(httpsPort, 'a.example.com', 'TLSv1.2'));
    } finally {
      await elb.send(
        new ModifyListenerCommand({
          ListenerArn: httpsArn,
          SslPolicy: 'ELBSecurityPolicy-2016-08',
        }),
      );
    }
    assert.ok(await servedCertificate(httpsPort, 'a.example.com', 'TLSv1.2'));
  });

  test("AWS's errors: no certificate, an ACM certificate, an unknown policy", async () => {
    const base = {
      LoadBalancerArn: lbArn,
      Protocol: 'HTTPS' as const,
      Port: await freePort(),
      DefaultActions: [{ Type: 'forward' as const, TargetGroupArn: tg }],
    };
    await assert.rejects(elb.send(new CreateListenerCommand(base)), {
      name: 'ValidationError',
      message: 'A certificate must be specified for HTTPS listeners',
    });
    const acm =
      'arn:aws:acm:us-east-1:000000000000:certificate/12345678-1234-1234-1234-123456789012';
    await assert.rejects(
      elb.send(new CreateListenerCommand({ ...base, Certificates: [{ CertificateArn: acm }] })),
      (e: Error) => {
        assert.ok(e instanceof CertificateNotFoundException);
        assert.equal(e.message, `Certificate '${acm}' not found`);
        return true;
      },
    );
    await assert.rejects(
      elb.send(
        new CreateListenerCommand({
          ...base,
          Certificates: [{ CertificateArn: certArn['site-a'] }],
          SslPolicy: 'ELBSecurityPolicy-Nope',
        }),
      ),
      (e: Error) => e instanceof SSLPolicyNotFoundException,
    );
    // Turning an HTTP listener into an HTTPS one needs a certificate too.
    const http = await elb.send(
      new CreateListenerCommand({ ...base, Protocol: 'HTTP', Port: await freePort() }),
    );
    await assert.rejects(
      elb.send(
        new ModifyListenerCommand({
          ListenerArn: http.Listeners![0].ListenerArn,
          Protocol: 'HTTPS',
        }),
      ),
      { name: 'ValidationError', message: 'A certificate must be specified for HTTPS listeners' },
    );
  });

  test('DescribeSSLPolicies through the AWS CLI', async () => {
    const one = await awsCli(server.endpoint, [
      'elbv2',
      'describe-ssl-policies',
      '--names',
      'ELBSecurityPolicy-2016-08',
    ]);
    assert.equal(one.code, 0, one.stderr);
    const policy = (
      JSON.parse(one.stdout) as {
        SslPolicies: {
          Name: string;
          SslProtocols: string[];
          Ciphers: { Name: string; Priority: number }[];
        }[];
      }
    ).SslPolicies[0];
    assert.equal(policy.Name, 'ELBSecurityPolicy-2016-08');
    assert.deepEqual(policy.SslProtocols, ['TLSv1', 'TLSv1.1', 'TLSv1.2']);
    assert.equal(policy.Ciphers.length, 18);
    assert.deepEqual(policy.Ciphers[0], { Name: 'ECDHE-ECDSA-AES128-GCM-SHA256', Priority: 1 });
    const all = await awsCli(server.endpoint, ['elbv2', 'describe-ssl-policies']);
    assert.equal(all.code, 0, all.stderr);
    const names = (JSON.parse(all.stdout) as { SslPolicies: { Name: string }[] }).SslPolicies.map(
      (p) => p.Name,
    );
    assert.ok(names.includes('ELBSecurityPolicy-TLS13-1-2-2021-06'));
    assert.ok(names.includes('ELBSecurityPolicy-FS-1-2-Res-2020-10'));
    const missing = await awsCli(server.endpoint, [
      'elbv2',
      'describe-ssl-policies',
      '--names',
      'ELBSecurityPolicy-Nope',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /SSLPolicyNotFound/);
  });
});
