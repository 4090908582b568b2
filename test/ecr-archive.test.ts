/**
 * ECR archive: UpdateImageStorageClass to ARCHIVE makes an image unpullable (404 on the
 * registry, a BatchGetImage failure) while DescribeImages and ListImages still show it
 * when asked for ARCHIVED; STANDARD restores it through ACTIVATING; re-pushing restores it;
 * a lifecycle policy's `transition` rule archives images for real.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  ECRClient,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  ListImagesCommand,
  PutImageCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { OCI_MANIFEST, pushImage } from './helpers/ecr.js';
import { failure } from './helpers/failure.js';
import { assertError, call } from './helpers/registry-http.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

describe('ECR archive storage class', () => {
  let server: TestServer;
  let ecr: ECRClient;

  before(async () => {
    server = await startTestServer({ logLevel: 'error' });
    ecr = new ECRClient(clientConfig(server.endpoint));
  });
  after(async () => {
    ecr.destroy();
    await server.stop();
  });

  const status = async (repositoryName: string, imageTag: string) =>
    (
      await ecr.send(
        new DescribeImagesCommand({
          repositoryName,
          imageIds: [{ imageTag }],
        }),
      )
    ).imageDetails?.[0];

  test('archive, refuse pulls, restore through ACTIVATING', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'cold' }));
    const pushed = await pushImage(ecr, 'cold', 'v1');
    const archived = await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'cold',
        imageId: { imageTag: 'v1' },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    assert.equal(archived.imageStatus, 'ARCHIVED');
    assert.equal(archived.imageId?.imageDigest, pushed.digest);

    const detail = await status('cold', 'v1');
    assert.equal(detail?.imageStatus, 'ARCHIVED');
    assert.ok(detail?.lastArchivedAt instanceof Date);

    // Pulls fail with a 404.
    const pull = await call(server.endpoint, 'GET', '/v2/cold/manifests/v1', {
      headers: { Accept: OCI_MANIFEST },
    });
    assertError(pull, 404, 'MANIFEST_UNKNOWN');
    const batch = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'cold', imageIds: [{ imageTag: 'v1' }] }),
    );
    assert.deepEqual(batch.images, []);
    assert.equal(batch.failures?.[0]?.failureCode, 'ImageNotFound');

    // Listed only when asked for ARCHIVED (or ANY).
    const active = await ecr.send(new ListImagesCommand({ repositoryName: 'cold' }));
    assert.deepEqual(active.imageIds, []);
    const cold = await ecr.send(
      new ListImagesCommand({ repositoryName: 'cold', filter: { imageStatus: 'ARCHIVED' } }),
    );
    assert.deepEqual(cold.imageIds, [{ imageDigest: pushed.digest, imageTag: 'v1' }]);
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'cold', filter: { imageStatus: 'ANY' } }),
    );
    assert.equal(described.imageDetails?.length, 1);

    // Archiving twice is refused.
    const twice = await failure(
      ecr.send(
        new UpdateImageStorageClassCommand({
          repositoryName: 'cold',
          imageId: { imageTag: 'v1' },
          targetStorageClass: 'ARCHIVE',
        }),
      ),
    );
    assert.equal(twice.name, 'ImageStorageClassUpdateNotSupportedException');

    const restoring = await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'cold',
        imageId: { imageDigest: pushed.digest },
        targetStorageClass: 'STANDARD',
      }),
    );
    assert.ok(['ACTIVATING', 'ACTIVE'].includes(restoring.imageStatus ?? ''));
    // The restore completes after a short delay: poll for it.
    const deadline = Date.now() + 60_000;
    while ((await status('cold', 'v1'))?.imageStatus !== 'ACTIVE') {
      assert.ok(Date.now() < deadline, 'the image never became ACTIVE');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok((await status('cold', 'v1'))?.lastActivatedAt instanceof Date);
    const again = await call(server.endpoint, 'GET', '/v2/cold/manifests/v1', {
      headers: { Accept: OCI_MANIFEST },
    });
    assert.equal(again.status, 200);
  });

  test('re-pushing an archived image makes it ACTIVE again', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'repush' }));
    const pushed = await pushImage(ecr, 'repush', 'v1');
    await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: 'repush',
        imageId: { imageTag: 'v1' },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    await ecr.send(
      new PutImageCommand({
        repositoryName: 'repush',
        imageManifest: pushed.manifest,
        imageManifestMediaType: OCI_MANIFEST,
        imageTag: 'v1',
      }),
    );
    assert.equal((await status('repush', 'v1'))?.imageStatus, 'ACTIVE');
  });

  test('a lifecycle transition rule archives the images it selects', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'aging' }));
    const old = await pushImage(ecr, 'aging', 'old');
    const fresh = await pushImage(ecr, 'aging', 'new');
    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'transition', targetStorageClass: 'archive' },
        },
      ],
    });
    await ecr.send(
      new StartLifecyclePolicyPreviewCommand({
        repositoryName: 'aging',
        lifecyclePolicyText: policy,
      }),
    );
    const preview = await ecr.send(
      new GetLifecyclePolicyPreviewCommand({ repositoryName: 'aging' }),
    );
    assert.deepEqual(
      preview.previewResults?.map((r) => [
        r.imageDigest,
        r.action?.type,
        r.action?.targetStorageClass,
      ]),
      [[old.digest, 'TRANSITION', 'ARCHIVE']],
    );
    assert.deepEqual(preview.summary, {
      expiringImageTotalCount: 0,
      transitioningImageTotalCounts: [{ targetStorageClass: 'ARCHIVE', imageTotalCount: 1 }],
    });

    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: 'aging', lifecyclePolicyText: policy }),
    );
    // The runner applies a policy shortly after it is put: poll for the archived image.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const archived = await ecr.send(
        new ListImagesCommand({ repositoryName: 'aging', filter: { imageStatus: 'ARCHIVED' } }),
      );
      if (archived.imageIds?.length) {
        assert.deepEqual(archived.imageIds, [{ imageDigest: old.digest, imageTag: 'old' }]);
        break;
      }
      assert.ok(Date.now() < deadline, 'the lifecycle policy never archived the older image');
      await new Promise((r) => setTimeout(r, 200));
    }
    const active = await ecr.send(new ListImagesCommand({ repositoryName: 'aging' }));
    assert.deepEqual(active.imageIds, [{ imageDigest: fresh.digest, imageTag: 'new' }]);
  });

  test('an unknown image is ImageNotFoundException', async () => {
    const missing = await failure(
      ecr.send(
        new UpdateImageStorageClassCommand({
          repositoryName: 'cold',
          imageId: { imageTag: 'nope' },
          targetStorageClass: 'ARCHIVE',
        }),
      ),
    );
    assert.equal(missing.name, 'ImageNotFoundException');
  });
});
