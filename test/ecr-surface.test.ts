/**
 * ECR's wider surface through real clients: the local repositoryUri form that skopeo pushes
 * to with no configuration, replication that really copies pushed images to the regions
 * and accounts the configuration names (cross-account only where the destination's
 * registry policy allows it), and manifest conversion between Docker schema 2 and OCI for
 * clients that accept only one of them (curl's Accept header, BatchGetImage's
 * acceptedMediaTypes); pull through cache rules and image scans, which need a network this
 * machine does not have, say so with AWS's statuses and errors.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageReplicationStatusCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutRegistryPolicyCommand,
  PutReplicationConfigurationCommand,
  CreatePullThroughCacheRuleCommand,
  DescribeImageScanFindingsCommand,
  DescribePullThroughCacheRulesCommand,
  StartImageScanCommand,
  ValidatePullThroughCacheRuleCommand,
  ListImageReferrersCommand,
  PutImageCommand,
  type ImageReplicationStatus,
} from '@aws-sdk/client-ecr';
import {
  buildImage,
  copyImage,
  imageToolsMissing,
  inspectImage,
  type BuiltImage,
} from './helpers/oci-image.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { OCI_MANIFEST, pushImage, sha256 as digestOf, uploadBlob } from './helpers/ecr.js';

const skip = imageToolsMissing();
if (skip) console.log(`# ECR surface tests skipped: ${skip}`);

const SOURCE = '000000000000';
const PARTNER = '111111111111';
const STRANGER = '222222222222';
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

function ecrClient(server: TestServer, account: string, region = 'us-east-1'): ECRClient {
  return new ECRClient({
    endpoint: server.endpoint,
    region,
    credentials: { accessKeyId: account, secretAccessKey: 'x' },
  });
}

interface CurlReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** `curl -i` with one Accept header; the status line, headers and body parsed. */
function curl(url: string, accept: string): Promise<CurlReply> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '-i', '-H', `Accept: ${accept}`, url],
      { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (err, stdout) => {
        if (err) return reject(err);
        const split = stdout.indexOf('\r\n\r\n');
        const [statusLine, ...lines] = stdout.slice(0, split).split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        resolve({
          status: Number(statusLine.split(' ')[1]),
          headers,
          body: stdout.slice(split + 4),
        });
      },
    );
  });
}

const sha256 = async (text: string): Promise<string> => {
  const { createHash } = await import('node:crypto');
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
};

describe(
  'ECR surface: repository URIs, replication, manifest conversion, pull through, scans',
  { skip },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecr-surface-'));
    let server: TestServer;
    let source: ECRClient;
    let image: BuiltImage;

    before(async () => {
      server = await startTestServer();
      source = ecrClient(server, SOURCE);
      image = await buildImage(join(dir, 'img'), { tag: 'v1' });
    });
    after(async () => {
      source?.destroy();
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('repositoryUri is a local reference skopeo pushes to and pulls from as it is', async () => {
      const created = await source.send(new CreateRepositoryCommand({ repositoryName: 'uri/app' }));
      const uri = created.repository?.repositoryUri ?? '';
      assert.equal(uri, `127.0.0.1:${server.port}/${SOURCE}.dkr.ecr.us-east-1/uri/app`);
      await copyImage(image.ref, `docker://${uri}:v1`);
      const pulled = await inspectImage(`docker://${uri}:v1`);
      assert.equal(pulled.Digest, image.digest);

      // Another account's URI names that account's registry, whatever the caller's token.
      const partner = ecrClient(server, PARTNER, 'eu-west-1');
      try {
        const other = await partner.send(
          new CreateRepositoryCommand({ repositoryName: 'uri/app' }),
        );
        assert.equal(
          other.repository?.repositoryUri,
          `127.0.0.1:${server.port}/${PARTNER}.dkr.ecr.eu-west-1/uri/app`,
        );
        await assert.rejects(
          inspectImage(`docker://${other.repository?.repositoryUri}:v1`),
          /manifest unknown|MANIFEST_UNKNOWN/i,
        );
      } finally {
        partner.destroy();
      }
    });

    test("STRATUS_ECR_REPOSITORY_URI=aws reports AWS's own form", async () => {
      process.env.STRATUS_ECR_REPOSITORY_URI = 'aws';
      let aws: TestServer | undefined;
      try {
        aws = await startTestServer();
      } finally {
        delete process.env.STRATUS_ECR_REPOSITORY_URI;
      }
      const ecr = ecrClient(aws, SOURCE);
      try {
        const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'aws/app' }));
        assert.equal(
          created.repository?.repositoryUri,
          `${SOURCE}.dkr.ecr.us-east-1.amazonaws.com/aws/app`,
        );
      } finally {
        ecr.destroy();
        await aws.stop();
      }
    });

    test('a pushed image is replicated to the regions and accounts the rules name', async () => {
      const partner = ecrClient(server, PARTNER);
      try {
        // The destination account lets the source replicate into it, as AWS documents.
        await partner.send(
          new PutRegistryPolicyCommand({
            policyText: JSON.stringify({
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'ReplicationAccessCrossAccount',
                  Effect: 'Allow',
                  Principal: { AWS: `arn:aws:iam::${SOURCE}:root` },
                  Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
                  Resource: `arn:aws:ecr:us-east-1:${PARTNER}:repository/*`,
                },
              ],
            }),
          }),
        );
        await source.send(
          new PutReplicationConfigurationCommand({
            replicationConfiguration: {
              rules: [
                {
                  destinations: [
                    { region: 'us-west-2', registryId: SOURCE },
                    { region: 'us-east-1', registryId: PARTNER },
                    { region: 'us-east-1', registryId: STRANGER },
                  ],
                  repositoryFilters: [{ filter: 'rep', filterType: 'PREFIX_MATCH' }],
                },
              ],
            },
          }),
        );
        const repo = await source.send(new CreateRepositoryCommand({ repositoryName: 'rep/app' }));
        const unmatched = await source.send(
          new CreateRepositoryCommand({ repositoryName: 'other/app' }),
        );
        await copyImage(image.ref, `docker://${repo.repository?.repositoryUri}:v1`);
        await copyImage(image.ref, `docker://${unmatched.repository?.repositoryUri}:v1`);

        const statuses = await settled(source, 'rep/app', 'v1');
        assert.deepEqual(statuses.map((s) => [s.registryId, s.region, s.status]).sort(), [
          [SOURCE, 'us-west-2', 'COMPLETE'],
          [PARTNER, 'us-east-1', 'COMPLETE'],
          [STRANGER, 'us-east-1', 'FAILED'],
        ]);
        assert.match(
          statuses.find((s) => s.registryId === STRANGER)?.failureCode ?? '',
          /registry policy of account 222222222222 .* does not allow account 000000000000 to perform ecr:ReplicateImage/,
        );
        assert.deepEqual(await settled(source, 'other/app', 'v1'), []);

        // The replicas pull with skopeo, layers and all, from the other region and account.
        for (const registry of [`${SOURCE}.dkr.ecr.us-west-2`, `${PARTNER}.dkr.ecr.us-east-1`]) {
          const ref = `docker://127.0.0.1:${server.port}/${registry}/rep/app:v1`;
          assert.equal((await inspectImage(ref)).Digest, image.digest);
          await copyImage(ref, `oci:${join(dir, registry)}:v1`);
        }
        const west = ecrClient(server, SOURCE, 'us-west-2');
        try {
          const described = await west.send(
            new DescribeRepositoriesCommand({ repositoryNames: ['rep/app'] }),
          );
          assert.equal(described.repositories?.[0]?.imageTagMutability, 'MUTABLE');
        } finally {
          west.destroy();
        }

        // A new tag of the same image is replicated too.
        await copyImage(image.ref, `docker://${repo.repository?.repositoryUri}:v2`);
        await settled(source, 'rep/app', 'v2');
        const replica = await inspectImage(
          `docker://127.0.0.1:${server.port}/${PARTNER}.dkr.ecr.us-east-1/rep/app:v2`,
        );
        assert.equal(replica.Digest, image.digest);
      } finally {
        partner.destroy();
      }
    });

    test('manifests convert between Docker schema 2 and OCI for a tag, never for a digest', async () => {
      const repo = await source.send(new CreateRepositoryCommand({ repositoryName: 'conv/app' }));
      const uri = repo.repository?.repositoryUri ?? '';
      await copyImage(image.ref, `docker://${uri}:docker`, { args: ['--format', 'v2s2'] });
      await copyImage(image.ref, `docker://${uri}:oci`, { args: ['--format', 'oci'] });
      const base = `http://127.0.0.1:${server.port}/v2/conv/app/manifests`;

      const stored = await curl(`${base}/docker`, DOCKER);
      assert.equal(stored.status, 200);
      assert.equal(stored.headers['content-type'], DOCKER);
      const storedDigest = stored.headers['docker-content-digest'];

      // An OCI-only client gets the Docker manifest as OCI, under the converted bytes' digest.
      const asOci = await curl(`${base}/docker`, OCI);
      assert.equal(asOci.status, 200, asOci.body);
      assert.equal(asOci.headers['content-type'], OCI);
      const ociDigest = asOci.headers['docker-content-digest'];
      assert.equal(ociDigest, await sha256(asOci.body));
      assert.notEqual(ociDigest, storedDigest);
      const oci = JSON.parse(asOci.body) as {
        mediaType: string;
        config: { mediaType: string; digest: string };
        layers: { mediaType: string; digest: string }[];
      };
      const docker = JSON.parse(stored.body) as typeof oci;
      assert.equal(oci.mediaType, OCI);
      assert.equal(oci.config.mediaType, 'application/vnd.oci.image.config.v1+json');
      assert.equal(oci.config.digest, docker.config.digest);
      assert.deepEqual(
        oci.layers.map((l) => [l.mediaType, l.digest]),
        docker.layers.map((l) => ['application/vnd.oci.image.layer.v1.tar+gzip', l.digest]),
      );
      // The digest it was given fetches the same bytes (containerd resolves, then fetches).
      const again = await curl(`${base}/${ociDigest}`, OCI);
      assert.equal(again.status, 200);
      assert.equal(again.body, asOci.body);
      // By the stored digest there is no conversion.
      const byDigest = await curl(`${base}/${storedDigest}`, OCI);
      assert.equal(byDigest.status, 404);
      assert.equal(
        (JSON.parse(byDigest.body) as { errors: { code: string }[] }).errors[0].code,
        'MANIFEST_UNKNOWN',
      );

      // The reverse: an OCI manifest served to a Docker-only client.
      const asDocker = await curl(`${base}/oci`, DOCKER);
      assert.equal(asDocker.status, 200, asDocker.body);
      assert.equal(asDocker.headers['content-type'], DOCKER);
      const reversed = JSON.parse(asDocker.body) as typeof oci;
      assert.equal(reversed.config.mediaType, 'application/vnd.docker.container.image.v1+json');
      assert.ok(
        reversed.layers.every(
          (l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        ),
      );

      // BatchGetImage honours acceptedMediaTypes the same way.
      const got = await source.send(
        new BatchGetImageCommand({
          repositoryName: 'conv/app',
          imageIds: [{ imageTag: 'docker' }, { imageDigest: storedDigest }],
          acceptedMediaTypes: [OCI],
        }),
      );
      assert.equal(got.images?.length, 1);
      assert.equal(got.images?.[0]?.imageManifestMediaType, OCI);
      assert.equal(got.images?.[0]?.imageManifest, asOci.body);
      assert.deepEqual(got.images?.[0]?.imageId, { imageDigest: ociDigest, imageTag: 'docker' });
      assert.equal(got.failures?.[0]?.failureCode, 'ImageNotFound');
      assert.deepEqual(got.failures?.[0]?.imageId, { imageDigest: storedDigest });
    });

    test('pull through cache rules are kept; pulling through says the upstream is out of reach', async () => {
      const rule = await source.send(
        new CreatePullThroughCacheRuleCommand({
          ecrRepositoryPrefix: 'hub',
          upstreamRegistryUrl: 'public.ecr.aws',
        }),
      );
      assert.equal(rule.upstreamRegistry, 'ecr-public');
      const described = await source.send(new DescribePullThroughCacheRulesCommand({}));
      assert.deepEqual(
        described.pullThroughCacheRules?.map((r) => [r.ecrRepositoryPrefix, r.upstreamRegistryUrl]),
        [['hub', 'public.ecr.aws']],
      );
      const validated = await source.send(
        new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'hub' }),
      );
      assert.equal(validated.isValid, false);
      assert.match(validated.failure ?? '', /no network access/);

      const ref = `docker://127.0.0.1:${server.port}/${SOURCE}.dkr.ecr.us-east-1/hub/docker/library/alpine:3`;
      await assert.rejects(inspectImage(ref), /public\.ecr\.aws.*no network access/s);
      await assert.rejects(
        source.send(
          new BatchGetImageCommand({
            repositoryName: 'hub/docker/library/alpine',
            imageIds: [{ imageTag: '3' }],
          }),
        ),
        (err: Error) =>
          err.name === 'UnableToGetUpstreamImageException' && /no network access/.test(err.message),
      );
      // Outside every rule's prefix a missing repository is just missing.
      await assert.rejects(
        source.send(
          new BatchGetImageCommand({ repositoryName: 'hubble/app', imageIds: [{ imageTag: '3' }] }),
        ),
        { name: 'RepositoryNotFoundException' },
      );
    });

    test('image scans report FAILED with the reason, never findings; scanOnPush scans each push', async () => {
      const repo = await source.send(
        new CreateRepositoryCommand({
          repositoryName: 'scan/app',
          imageScanningConfiguration: { scanOnPush: true },
        }),
      );
      const plain = await source.send(
        new CreateRepositoryCommand({ repositoryName: 'scan/plain' }),
      );
      await copyImage(image.ref, `docker://${repo.repository?.repositoryUri}:v1`);
      await copyImage(image.ref, `docker://${plain.repository?.repositoryUri}:v1`);

      const onPush = await source.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: 'scan/app',
          imageId: { imageTag: 'v1' },
        }),
      );
      assert.equal(onPush.imageScanStatus?.status, 'FAILED');
      assert.match(onPush.imageScanStatus?.description ?? '', /no vulnerability database/);
      assert.equal(onPush.imageScanFindings, undefined);

      await assert.rejects(
        source.send(
          new DescribeImageScanFindingsCommand({
            repositoryName: 'scan/plain',
            imageId: { imageTag: 'v1' },
          }),
        ),
        { name: 'ScanNotFoundException' },
      );
      const started = await source.send(
        new StartImageScanCommand({ repositoryName: 'scan/plain', imageId: { imageTag: 'v1' } }),
      );
      assert.equal(started.imageScanStatus?.status, 'IN_PROGRESS');
      assert.equal(started.imageId?.imageDigest, image.digest);
      const findings = await source.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: 'scan/plain',
          imageId: { imageTag: 'v1' },
        }),
      );
      assert.equal(findings.imageScanStatus?.status, 'FAILED');
      assert.equal(findings.imageScanFindings, undefined);
    });

    test('ListImageReferrers lists the artifacts whose subject is the image', async () => {
      await source.send(new CreateRepositoryCommand({ repositoryName: 'refs/app' }));
      const subject = await pushImage(source, 'refs/app', 'v1');
      const list = (artifactTypes?: string[]) =>
        source.send(
          new ListImageReferrersCommand({
            repositoryName: 'refs/app',
            subjectId: { imageDigest: subject.digest },
            ...(artifactTypes ? { filter: { artifactTypes } } : {}),
          }),
        );
      assert.deepEqual((await list()).referrers, []);
      const empty = await uploadBlob(source, 'refs/app', Buffer.from('{}'));
      const emptyDescriptor = {
        mediaType: 'application/vnd.oci.empty.v1+json',
        digest: empty.digest,
        size: empty.size,
      };
      const sbom = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/spdx+json',
        config: emptyDescriptor,
        layers: [emptyDescriptor],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
      });
      await source.send(new PutImageCommand({ repositoryName: 'refs/app', imageManifest: sbom }));
      assert.deepEqual((await list()).referrers, [
        {
          digest: digestOf(sbom),
          mediaType: OCI_MANIFEST,
          artifactType: 'application/spdx+json',
          size: sbom.length,
          artifactStatus: 'ACTIVE',
        },
      ]);
      assert.deepEqual(
        (await list(['application/vnd.dev.cosign.simplesigning.v1+json'])).referrers,
        [],
      );
    });
  },
);

/** The replication statuses of an image once none is IN_PROGRESS (polled, generous deadline). */
async function settled(
  ecr: ECRClient,
  repositoryName: string,
  imageTag: string,
): Promise<ImageReplicationStatus[]> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await ecr.send(
      new DescribeImageReplicationStatusCommand({ repositoryName, imageId: { imageTag } }),
    );
    const statuses = r.replicationStatuses ?? [];
    if (!statuses.some((s) => s.status === 'IN_PROGRESS')) return statuses;
    if (Date.now() > deadline)
      assert.fail(`replication still in progress: ${JSON.stringify(statuses)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
