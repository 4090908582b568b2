/**
 * The ECR API (json 1.1) through the real clients: repositories, images pushed through the
 * layer-upload operations and PutImage, listing and describing them, immutable tags,
 * deletion, layer download URLs, registry credentials and lifecycle policies that really
 * expire images (and whose layers are then collected). SDK v3 throughout, plus the AWS CLI
 * v2 and boto3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DeleteSigningConfigurationCommand,
  DeregisterPullTimeUpdateExclusionCommand,
  DescribeImageSigningStatusCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  GetRepositoryPolicyCommand,
  GetSigningConfigurationCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  ListPullTimeUpdateExclusionsCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutSigningConfigurationCommand,
  RegisterPullTimeUpdateExclusionCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UploadLayerPartCommand,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import { failure, failureDetail } from './helpers/failure.js';
import {
  OCI_CONFIG,
  OCI_LAYER,
  OCI_MANIFEST,
  pushImage as pushImageWith,
  sha256,
  uploadBlob as uploadBlobWith,
} from './helpers/ecr.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

describe('ECR API', () => {
  let server: TestServer;
  let ecr: ECRClient;

  before(async () => {
    server = await startTestServer();
    ecr = new ECRClient(clientConfig(server.endpoint));
  });
  after(async () => {
    ecr.destroy();
    await server.stop();
  });

  const createRepo = (repositoryName: string, extra: Record<string, unknown> = {}) =>
    ecr.send(new CreateRepositoryCommand({ repositoryName, ...extra }));

  const uploadBlob = (repo: string, bytes: Buffer, partSize?: number) =>
    uploadBlobWith(ecr, repo, bytes, partSize);
  const pushImage = (repo: string, tag?: string, layerBytes?: number) =>
    pushImageWith(ecr, repo, tag, layerBytes);

  const listIds = async (repo: string) =>
    (await ecr.send(new ListImagesCommand({ repositoryName: repo }))).imageIds ?? [];

  test('repository lifecycle: create with settings, describe, page, tag, policy, delete', async () => {
    const created = await createRepo('team/app', {
      tags: [{ Key: 'team', Value: 'core' }],
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS' },
    });
    const repo = created.repository!;
    const arn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`;
    assert.equal(repo.repositoryArn, arn);
    assert.equal(repo.registryId, ACCOUNT);
    assert.equal(
      repo.repositoryUri,
      `127.0.0.1:${server.port}/${ACCOUNT}.dkr.ecr.${REGION}/team/app`,
    );
    assert.ok(repo.createdAt instanceof Date);
    assert.equal(repo.imageTagMutability, 'IMMUTABLE_WITH_EXCLUSION');
    assert.deepEqual(repo.imageTagMutabilityExclusionFilters, [
      { filterType: 'WILDCARD', filter: 'dev-*' },
    ]);
    assert.deepEqual(repo.imageScanningConfiguration, { scanOnPush: true });
    assert.equal(repo.encryptionConfiguration?.encryptionType, 'KMS');
    assert.match(repo.encryptionConfiguration?.kmsKey ?? '', /^arn:aws:kms:us-east-1:0{12}:key\//);

    const dup = await failure(createRepo('team/app'));
    assert.equal(dup.name, 'RepositoryAlreadyExistsException');
    assert.equal(
      dup.message,
      `The repository with name 'team/app' already exists in the registry with id '${ACCOUNT}'`,
    );
    const bad = await failure(createRepo('Bad_Name'));
    assert.equal(bad.name, 'InvalidParameterException');
    assert.match(bad.message, /'repositoryName'/);
    const noFilters = await failure(
      createRepo('no-filters', { imageTagMutability: 'MUTABLE_WITH_EXCLUSION' }),
    );
    assert.equal(noFilters.name, 'InvalidParameterException');

    const [described] =
      (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/app'] })))
        .repositories ?? [];
    assert.deepEqual(described, repo);
    const missing = await failure(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/app', 'nope'] })),
    );
    assert.equal(missing.name, 'RepositoryNotFoundException');
    assert.equal(
      missing.message,
      `The repository with name 'nope' does not exist in the registry with id '${ACCOUNT}'`,
    );

    // Paging over every repository of the registry.
    await createRepo('page-a');
    await createRepo('page-b');
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1, nextToken }));
      assert.ok((page.repositories ?? []).length <= 1);
      seen.push(...(page.repositories ?? []).map((r) => r.repositoryName!));
      nextToken = page.nextToken;
    } while (nextToken);
    for (const name of ['page-a', 'page-b', 'team/app']) assert.ok(seen.includes(name), name);
    assert.equal(new Set(seen).size, seen.length);

    // Settings.
    await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: 'team/app',
        imageTagMutability: 'MUTABLE',
      }),
    );
    await ecr.send(
      new PutImageScanningConfigurationCommand({
        repositoryName: 'team/app',
        imageScanningConfiguration: { scanOnPush: false },
      }),
    );
    const [changed] =
      (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/app'] })))
        .repositories ?? [];
    assert.equal(changed.imageTagMutability, 'MUTABLE');
    assert.equal(changed.imageTagMutabilityExclusionFilters, undefined);
    assert.deepEqual(changed.imageScanningConfiguration, { scanOnPush: false });

    // Resource tags, by ARN.
    await ecr.send(
      new TagResourceCommand({
        resourceArn: arn,
        tags: [
          { Key: 'team', Value: 'platform' },
          { Key: 'stage', Value: 'dev' },
        ],
      }),
    );
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['stage'] }));
    const { tags } = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    assert.deepEqual(tags, [{ Key: 'team', Value: 'platform' }]);
    const tooMany = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    const overLimit = await failure(
      ecr.send(new TagResourceCommand({ resourceArn: arn, tags: tooMany })),
    );
    assert.equal(overLimit.name, 'TooManyTagsException');
    const longKey = await failure(
      ecr.send(
        new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'k'.repeat(129), Value: '' }] }),
      ),
    );
    assert.equal(longKey.name, 'InvalidTagParameterException');

    // Repository policy.
    const noPolicy = await failure(
      ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'team/app' })),
    );
    assert.equal(noPolicy.name, 'RepositoryPolicyNotFoundException');
    const invalid = await failure(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'team/app', policyText: '{nope' })),
    );
    assert.equal(invalid.name, 'InvalidParameterException');
    const policyText = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'pull',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: ['ecr:BatchGetImage'],
        },
      ],
    });
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'team/app', policyText }));
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'team/app' }));
    assert.equal(got.policyText, policyText);
    const deletedPolicy = await ecr.send(
      new DeleteRepositoryPolicyCommand({ repositoryName: 'team/app' }),
    );
    assert.equal(deletedPolicy.policyText, policyText);

    const deleted = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/app' }));
    assert.equal(deleted.repository?.repositoryArn, arn);
    const gone = await failure(
      ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/app' })),
    );
    assert.equal(gone.name, 'RepositoryNotFoundException');
  });

  test('layer upload: parts in order, digest checked, existing layer refused', async () => {
    await createRepo('layers');
    const bytes = randomBytes(3000);
    const multi = await uploadBlob('layers', bytes, 1024);
    assert.equal(multi.size, 3000);

    const { uploadId, partSize } = await ecr.send(
      new InitiateLayerUploadCommand({ repositoryName: 'layers' }),
    );
    assert.equal(partSize, 10 * 1024 * 1024);
    const part = (first: number, data: Buffer) =>
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'layers',
          uploadId,
          partFirstByte: first,
          partLastByte: first + data.length - 1,
          layerPartBlob: data,
        }),
      );
    await part(0, Buffer.from('hello '));
    const gap = await failureDetail(part(10, Buffer.from('world')));
    assert.equal(gap.name, 'InvalidLayerPartException');
    assert.equal(gap.lastValidByteReceived, 5);
    assert.equal(gap.uploadId, uploadId);
    assert.equal(gap.repositoryName, 'layers');
    await part(6, Buffer.from('world'));
    const wrong = await failure(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'layers',
          uploadId,
          layerDigests: [sha256('something else')],
        }),
      ),
    );
    assert.equal(wrong.name, 'InvalidLayerException');

    const again = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'layers' }));
    const empty = await failure(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'layers',
          uploadId: again.uploadId,
          layerDigests: [sha256(bytes)],
        }),
      ),
    );
    assert.equal(empty.name, 'EmptyUploadException');
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'layers',
        uploadId: again.uploadId,
        partFirstByte: 0,
        partLastByte: bytes.length - 1,
        layerPartBlob: bytes,
      }),
    );
    const exists = await failure(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'layers',
          uploadId: again.uploadId,
          layerDigests: [sha256(bytes)],
        }),
      ),
    );
    assert.equal(exists.name, 'LayerAlreadyExistsException');

    // The wrong digest discarded the upload.
    const rewound = await failure(part(0, Buffer.from('x')));
    assert.equal(rewound.name, 'UploadNotFoundException');
    const noUpload = await failure(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'layers',
          uploadId: '00000000-0000-4000-8000-000000000000',
          partFirstByte: 0,
          partLastByte: 0,
          layerPartBlob: Buffer.from('x'),
        }),
      ),
    );
    assert.equal(noUpload.name, 'UploadNotFoundException');

    const check = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: 'layers',
        layerDigests: [multi.digest, sha256('missing'), 'sha256:short'],
      }),
    );
    assert.deepEqual(check.layers, [
      { layerDigest: multi.digest, layerAvailability: 'AVAILABLE', layerSize: 3000 },
    ]);
    assert.deepEqual(
      check.failures?.map((f) => f.failureCode),
      ['MissingLayerDigest', 'InvalidLayerDigest'],
    );
  });

  test('signing configuration: stored, returned, deleted; images it selects report FAILED', async () => {
    const none = await failure(ecr.send(new GetSigningConfigurationCommand({})));
    assert.equal(none.name, 'SigningConfigurationNotFoundException');
    assert.equal(none.status, 400);
    const profile = 'arn:aws:signer:us-east-1:000000000000:/signing-profiles/stratus_profile';
    const other = 'arn:aws:signer:us-east-1:000000000000:/signing-profiles/other_profile';
    const rules = [
      { signingProfileArn: profile },
      {
        signingProfileArn: other,
        repositoryFilters: [{ filter: 'nomatch/*', filterType: 'WILDCARD_MATCH' as const }],
      },
    ];
    const put = await ecr.send(
      new PutSigningConfigurationCommand({ signingConfiguration: { rules } }),
    );
    assert.deepEqual(put.signingConfiguration, { rules });
    const got = await ecr.send(new GetSigningConfigurationCommand({}));
    assert.equal(got.registryId, '000000000000');
    assert.deepEqual(got.signingConfiguration, { rules });
    const bad = await failure(
      ecr.send(
        new PutSigningConfigurationCommand({
          signingConfiguration: { rules: [{ signingProfileArn: 'not-an-arn' }] },
        }),
      ),
    );
    assert.equal(bad.status, 400);

    await createRepo('signed/app');
    const pushed = await pushImage('signed/app', 'v1');
    const status = await ecr.send(
      new DescribeImageSigningStatusCommand({
        repositoryName: 'signed/app',
        imageId: { imageTag: 'v1' },
      }),
    );
    assert.equal(status.imageId?.imageDigest, pushed.digest);
    assert.deepEqual(
      status.signingStatuses?.map((s) => [s.signingProfileArn, s.status]),
      [[profile, 'FAILED']],
    );
    assert.ok(status.signingStatuses?.[0].failureReason);
    const missing = await failure(
      ecr.send(
        new DescribeImageSigningStatusCommand({
          repositoryName: 'signed/app',
          imageId: { imageTag: 'nope' },
        }),
      ),
    );
    assert.equal(missing.name, 'ImageNotFoundException');

    const deleted = await ecr.send(new DeleteSigningConfigurationCommand({}));
    assert.deepEqual(deleted.signingConfiguration, { rules });
    const again = await failure(ecr.send(new DeleteSigningConfigurationCommand({})));
    assert.equal(again.name, 'SigningConfigurationNotFoundException');
  });

  test('pull time update exclusions: register, list in pages, refuse duplicates, deregister', async () => {
    const arns = ['arn:aws:iam::000000000000:role/ci', 'arn:aws:iam::000000000000:user/scanner'];
    for (const principalArn of arns) {
      const r = await ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn }));
      assert.equal(r.principalArn, principalArn);
      assert.ok(r.createdAt instanceof Date);
    }
    const dup = await failure(
      ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: arns[0] })),
    );
    assert.equal(dup.name, 'ExclusionAlreadyExistsException');
    const invalid = await failure(
      ecr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: 'nobody' })),
    );
    assert.equal(invalid.status, 400);
    const first = await ecr.send(new ListPullTimeUpdateExclusionsCommand({ maxResults: 1 }));
    assert.deepEqual(first.pullTimeUpdateExclusions, [arns[0]]);
    const second = await ecr.send(
      new ListPullTimeUpdateExclusionsCommand({ maxResults: 1, nextToken: first.nextToken }),
    );
    assert.deepEqual(second.pullTimeUpdateExclusions, [arns[1]]);
    assert.equal(second.nextToken, undefined);
    await ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: arns[0] }));
    const gone = await failure(
      ecr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: arns[0] })),
    );
    assert.equal(gone.name, 'ExclusionNotFoundException');
    const left = await ecr.send(new ListPullTimeUpdateExclusionsCommand({}));
    assert.deepEqual(left.pullTimeUpdateExclusions, [arns[1]]);
  });

  test('images: PutImage, ListImages, DescribeImages, BatchGetImage with acceptedMediaTypes', async () => {
    await createRepo('images');
    const first = await pushImage('images', 'v1', 700);
    await ecr.send(
      new PutImageCommand({
        repositoryName: 'images',
        imageManifest: first.manifest,
        imageTag: 'latest',
      }),
    );
    const second = await pushImage('images', undefined, 300);

    const ids = await listIds('images');
    assert.deepEqual(
      ids
        .filter((i) => i.imageDigest === first.digest)
        .map((i) => i.imageTag)
        .sort(),
      ['latest', 'v1'],
    );
    assert.deepEqual(
      ids.filter((i) => i.imageDigest === second.digest),
      [{ imageDigest: second.digest }],
    );
    const tagged = await ecr.send(
      new ListImagesCommand({ repositoryName: 'images', filter: { tagStatus: 'TAGGED' } }),
    );
    assert.equal(tagged.imageIds?.length, 2);
    const untagged = await ecr.send(
      new ListImagesCommand({ repositoryName: 'images', filter: { tagStatus: 'UNTAGGED' } }),
    );
    assert.deepEqual(untagged.imageIds, [{ imageDigest: second.digest }]);
    // Paging one id at a time gives every id once.
    const paged: ImageIdentifier[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.send(
        new ListImagesCommand({ repositoryName: 'images', maxResults: 1, nextToken }),
      );
      paged.push(...(page.imageIds ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    assert.deepEqual(paged, ids);

    const [detail] =
      (
        await ecr.send(
          new DescribeImagesCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'v1' }] }),
        )
      ).imageDetails ?? [];
    assert.equal(detail.registryId, ACCOUNT);
    assert.equal(detail.repositoryName, 'images');
    assert.equal(detail.imageDigest, first.digest);
    assert.deepEqual([...(detail.imageTags ?? [])].sort(), ['latest', 'v1']);
    assert.equal(detail.imageSizeInBytes, first.config.size + first.layers[0].size);
    assert.equal(detail.imageManifestMediaType, OCI_MANIFEST);
    assert.equal(detail.artifactMediaType, OCI_CONFIG);
    assert.ok(detail.imagePushedAt instanceof Date);
    assert.ok(Math.abs(detail.imagePushedAt.getTime() - Date.now()) < 60_000);
    assert.equal(detail.lastRecordedPullTime, undefined);
    const all = await ecr.send(new DescribeImagesCommand({ repositoryName: 'images' }));
    assert.equal(all.imageDetails?.length, 2);
    const onePage = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'images', maxResults: 1 }),
    );
    assert.equal(onePage.imageDetails?.length, 1);
    const rest = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'images', nextToken: onePage.nextToken }),
    );
    assert.equal(rest.imageDetails?.length, 1);
    assert.equal(rest.nextToken, undefined);
    assert.notEqual(rest.imageDetails?.[0].imageDigest, onePage.imageDetails?.[0].imageDigest);
    const notThere = await failure(
      ecr.send(
        new DescribeImagesCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'v9' }] }),
      ),
    );
    assert.equal(notThere.name, 'ImageNotFoundException');
    assert.equal(
      notThere.message,
      `The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'images' in the registry with id '${ACCOUNT}'`,
    );

    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'images',
        imageIds: [{ imageTag: 'v1' }, { imageDigest: second.digest }, { imageTag: 'nope' }, {}],
        acceptedMediaTypes: [OCI_MANIFEST],
      }),
    );
    assert.equal(got.images?.length, 2);
    assert.deepEqual(got.images?.[0].imageId, { imageDigest: first.digest, imageTag: 'v1' });
    assert.equal(got.images?.[0].imageManifest, first.manifest);
    assert.equal(got.images?.[0].imageManifestMediaType, OCI_MANIFEST);
    assert.equal(got.images?.[1].imageManifest, second.manifest);
    assert.deepEqual(
      got.failures?.map((f) => [f.imageId, f.failureCode, f.failureReason]),
      [
        [{ imageTag: 'nope' }, 'ImageNotFound', 'Requested image not found'],
        [
          {},
          'MissingDigestAndTag',
          'Invalid request parameters: both tag and digest cannot be null',
        ],
      ],
    );
    // A Docker-only client gets the OCI manifest converted when it asks by tag (its own
    // digest reported), and nothing when it asks by digest: ECR never converts those.
    const dockerOnly = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'images',
        imageIds: [{ imageTag: 'v1' }, { imageDigest: first.digest }],
        acceptedMediaTypes: [DOCKER_MANIFEST],
      }),
    );
    const converted = dockerOnly.images?.[0];
    assert.equal(converted?.imageManifestMediaType, DOCKER_MANIFEST);
    assert.equal(converted?.imageId?.imageDigest, sha256(converted?.imageManifest ?? ''));
    assert.equal(
      (JSON.parse(converted?.imageManifest ?? '{}') as { config: { digest: string } }).config
        .digest,
      (JSON.parse(first.manifest) as { config: { digest: string } }).config.digest,
    );
    assert.equal(dockerOnly.images?.length, 1);
    assert.deepEqual(dockerOnly.failures?.[0].imageId, { imageDigest: first.digest });
    assert.equal(dockerOnly.failures?.[0].failureCode, 'ImageNotFound');
    const pulled = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'images', imageIds: [{ imageTag: 'v1' }] }),
    );
    assert.ok(pulled.imageDetails?.[0].lastRecordedPullTime instanceof Date);

    // PutImage refusals.
    const same = await failure(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'images',
          imageManifest: first.manifest,
          imageTag: 'v1',
        }),
      ),
    );
    assert.equal(same.name, 'ImageAlreadyExistsException');
    assert.equal(
      same.message,
      `Image with digest '${first.digest}' and tag 'v1' already exists in the repository with name 'images' in registry with id '${ACCOUNT}'`,
    );
    const mismatch = await failure(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'images',
          imageManifest: first.manifest,
          imageTag: 'v2',
          imageDigest: second.digest,
        }),
      ),
    );
    assert.equal(mismatch.name, 'ImageDigestDoesNotMatchException');
    const missingLayer = JSON.stringify({
      ...JSON.parse(first.manifest),
      layers: [{ mediaType: OCI_LAYER, digest: sha256('not uploaded'), size: 12 }],
    });
    const noLayer = await failure(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'images',
          imageManifest: missingLayer,
          imageTag: 'x',
        }),
      ),
    );
    assert.equal(noLayer.name, 'LayersNotFoundException');
    const { mediaType: _omitted, ...untyped } = JSON.parse(first.manifest) as Record<
      string,
      unknown
    >;
    const noType = await failure(
      ecr.send(
        new PutImageCommand({ repositoryName: 'images', imageManifest: JSON.stringify(untyped) }),
      ),
    );
    assert.equal(noType.name, 'InvalidParameterException');
    assert.equal(noType.message, 'image manifest mediatype not provided in manifest or parameter');
    const typed = await ecr.send(
      new PutImageCommand({
        repositoryName: 'images',
        imageManifest: JSON.stringify(untyped),
        imageManifestMediaType: OCI_MANIFEST,
        imageTag: 'typed',
      }),
    );
    assert.equal(typed.image?.imageManifestMediaType, OCI_MANIFEST);
  });

  test('an OCI index: size is its largest image, its images cannot go while it stays', async () => {
    await createRepo('multi');
    const small = await pushImage('multi', undefined, 100);
    const large = await pushImage('multi', undefined, 2000);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [small, large].map((img, i) => ({
        mediaType: OCI_MANIFEST,
        digest: img.digest,
        size: Buffer.byteLength(img.manifest),
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    });
    await ecr.send(
      new PutImageCommand({ repositoryName: 'multi', imageManifest: index, imageTag: 'all' }),
    );
    const [detail] =
      (
        await ecr.send(
          new DescribeImagesCommand({ repositoryName: 'multi', imageIds: [{ imageTag: 'all' }] }),
        )
      ).imageDetails ?? [];
    assert.equal(detail.imageManifestMediaType, OCI_INDEX);
    assert.equal(detail.imageSizeInBytes, large.config.size + large.layers[0].size);
    assert.equal(detail.artifactMediaType, undefined);
    const refused = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'multi',
        imageIds: [{ imageDigest: small.digest }],
      }),
    );
    assert.deepEqual(refused.imageIds, []);
    assert.equal(refused.failures?.[0].failureCode, 'ImageReferencedByManifestList');
  });

  test('immutable tags cannot move, excluded tags can', async () => {
    await createRepo('frozen', {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
    });
    const a = await pushImage('frozen', 'v1');
    const b = await pushImage('frozen', 'dev-1');
    const put = (manifest: string, imageTag: string) =>
      ecr.send(
        new PutImageCommand({ repositoryName: 'frozen', imageManifest: manifest, imageTag }),
      );
    const moved = await failure(put(b.manifest, 'v1'));
    assert.equal(moved.name, 'ImageTagAlreadyExistsException');
    assert.match(moved.message, /The image tag 'v1' already exists in the 'frozen' repository/);
    await put(a.manifest, 'dev-1');
    await put(a.manifest, 'v2');
    const ids = await listIds('frozen');
    assert.deepEqual(
      ids.filter((i) => i.imageDigest === a.digest).map((i) => i.imageTag),
      ['dev-1', 'v1', 'v2'],
    );
    await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'frozen', imageTagMutability: 'MUTABLE' }),
    );
    await put(b.manifest, 'v1');
  });

  test('BatchDeleteImage by tag and by digest; repository deletion needs force', async () => {
    await createRepo('deletes');
    const a = await pushImage('deletes', 'a1');
    await ecr.send(
      new PutImageCommand({ repositoryName: 'deletes', imageManifest: a.manifest, imageTag: 'a2' }),
    );
    const b = await pushImage('deletes', 'b1');
    const c = await pushImage('deletes', 'c1');
    const del = (imageIds: ImageIdentifier[]) =>
      ecr.send(new BatchDeleteImageCommand({ repositoryName: 'deletes', imageIds }));

    // One of two tags: only the tag goes.
    const untag = await del([{ imageTag: 'a1' }]);
    assert.deepEqual(untag.imageIds, [{ imageDigest: a.digest, imageTag: 'a1' }]);
    assert.deepEqual(
      await listIds('deletes').then((ids) => ids.filter((i) => i.imageDigest === a.digest)),
      [{ imageDigest: a.digest, imageTag: 'a2' }],
    );
    // The last tag: the image goes with it.
    await del([{ imageTag: 'a2' }]);
    assert.ok(!(await listIds('deletes')).some((i) => i.imageDigest === a.digest));
    // By digest, with failures for what is not there.
    const result = await del([
      { imageDigest: b.digest },
      { imageDigest: a.digest },
      { imageTag: 'gone' },
      { imageDigest: 'nonsense' },
    ]);
    assert.deepEqual(result.imageIds, [{ imageDigest: b.digest, imageTag: 'b1' }]);
    assert.deepEqual(
      result.failures?.map((f) => f.failureCode),
      ['ImageNotFound', 'ImageNotFound', 'InvalidImageDigest'],
    );
    assert.deepEqual(await listIds('deletes'), [{ imageDigest: c.digest, imageTag: 'c1' }]);

    const notEmpty = await failure(
      ecr.send(new DeleteRepositoryCommand({ repositoryName: 'deletes' })),
    );
    assert.equal(notEmpty.name, 'RepositoryNotEmptyException');
    assert.equal(
      notEmpty.message,
      `The repository with name 'deletes' in registry with id '${ACCOUNT}' cannot be deleted because it still contains images`,
    );
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'deletes', force: true }));
    const gone = await failure(ecr.send(new ListImagesCommand({ repositoryName: 'deletes' })));
    assert.equal(gone.name, 'RepositoryNotFoundException');
  });

  test('GetDownloadUrlForLayer: the URL serves the exact bytes, and only with its signature', async () => {
    await createRepo('download');
    const image = await pushImage('download', 'v1', 5000);
    const layer = image.layers[0];
    const answer = await ecr.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: 'download', layerDigest: layer.digest }),
    );
    assert.equal(answer.layerDigest, layer.digest);
    const downloadUrl = answer.downloadUrl ?? '';
    assert.ok(downloadUrl.startsWith(`${server.endpoint}/_stratus/ecr/layer/`));
    const res = await fetch(downloadUrl);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(layer.bytes));
    const ranged = await fetch(downloadUrl, { headers: { Range: 'bytes=100-199' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(layer.bytes.subarray(100, 200)));
    const forged = await fetch(downloadUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /SignatureDoesNotMatch/);

    const missing = await failure(
      ecr.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: 'download', layerDigest: sha256('x') }),
      ),
    );
    assert.equal(missing.name, 'LayersNotFoundException');
    const loose = await uploadBlob('download', randomBytes(64));
    const unused = await failure(
      ecr.send(
        new GetDownloadUrlForLayerCommand({
          repositoryName: 'download',
          layerDigest: loose.digest,
        }),
      ),
    );
    assert.equal(unused.name, 'LayerInaccessibleException');
  });

  test('GetAuthorizationToken: base64 of AWS:<password>, for 12 hours, with the proxy endpoint', async () => {
    const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
    assert.equal(authorizationData?.length, 1);
    const [data] = authorizationData ?? [];
    const decoded = Buffer.from(data.authorizationToken ?? '', 'base64').toString('utf8');
    assert.match(decoded, /^AWS:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    assert.equal(data.proxyEndpoint, `https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
    const hours = ((data.expiresAt?.getTime() ?? 0) - Date.now()) / 3_600_000;
    assert.ok(hours > 11.9 && hours <= 12, String(hours));
    const registry = await ecr.send(new DescribeRegistryCommand({}));
    assert.equal(registry.registryId, ACCOUNT);
    assert.deepEqual(registry.replicationConfiguration, { rules: [] });
  });
});
