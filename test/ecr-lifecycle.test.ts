/**
 * ECR lifecycle policies applied for real (the expired images' layers are collected), and
 * the ECR API through the AWS CLI v2 and boto3.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  ListImagesCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
} from '@aws-sdk/client-ecr';
import { awsCli, python } from './helpers/clients.js';
import { pushImage as pushImageWith, type Pushed } from './helpers/ecr.js';
import { failure } from './helpers/failure.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ECR lifecycle policies and the CLI and boto3', () => {
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
  const pushImage = (repo: string, tag?: string, layerBytes?: number) =>
    pushImageWith(ecr, repo, tag, layerBytes);
  const listIds = async (repo: string) =>
    (await ecr.send(new ListImagesCommand({ repositoryName: repo }))).imageIds ?? [];

  test('a lifecycle policy keeping the newest 2 expires the rest, and their layers are collected', async () => {
    await createRepo('lifecycle');
    const images: Pushed[] = [];
    for (const tag of ['v1', 'v2', 'v3', 'v4']) {
      images.push(await pushImage('lifecycle', tag));
      await sleep(5); // distinct push times
    }
    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'keep the newest 2',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
          action: { type: 'expire' },
        },
      ],
    });
    const noPolicy = await failure(
      ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lifecycle' })),
    );
    assert.equal(noPolicy.name, 'LifecyclePolicyNotFoundException');
    const noPreview = await failure(
      ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lifecycle' })),
    );
    assert.equal(noPreview.name, 'LifecyclePolicyPreviewNotFoundException');
    const invalid = await failure(
      ecr.send(
        new PutLifecyclePolicyCommand({
          repositoryName: 'lifecycle',
          lifecyclePolicyText: policy.replace('"expire"', '"delete"'),
        }),
      ),
    );
    assert.equal(invalid.name, 'InvalidParameterException');

    // The preview says what would go, and nothing goes.
    const started = await ecr.send(
      new StartLifecyclePolicyPreviewCommand({
        repositoryName: 'lifecycle',
        lifecyclePolicyText: policy,
      }),
    );
    assert.equal(started.lifecyclePolicyText, policy);
    const preview = await ecr.send(
      new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lifecycle' }),
    );
    assert.equal(preview.status, 'COMPLETE');
    assert.equal(preview.summary?.expiringImageTotalCount, 2);
    assert.deepEqual(
      preview.previewResults?.map((r) => [
        r.imageTags,
        r.imageDigest,
        r.action?.type,
        r.appliedRulePriority,
      ]),
      [
        [['v1'], images[0].digest, 'EXPIRE', 1],
        [['v2'], images[1].digest, 'EXPIRE', 1],
      ],
    );
    const firstPage = await ecr.send(
      new GetLifecyclePolicyPreviewCommand({ repositoryName: 'lifecycle', maxResults: 1 }),
    );
    assert.equal(firstPage.previewResults?.[0].imageDigest, images[0].digest);
    const secondPage = await ecr.send(
      new GetLifecyclePolicyPreviewCommand({
        repositoryName: 'lifecycle',
        maxResults: 1,
        nextToken: firstPage.nextToken,
      }),
    );
    assert.equal(secondPage.previewResults?.[0].imageDigest, images[1].digest);
    assert.equal(secondPage.nextToken, undefined);
    assert.equal((await listIds('lifecycle')).length, 4);

    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: 'lifecycle', lifecyclePolicyText: policy }),
    );
    const stored = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lifecycle' }));
    assert.equal(stored.lifecyclePolicyText, policy);
    assert.ok(stored.lastEvaluatedAt instanceof Date);

    let tags: string[] = [];
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      tags = (await listIds('lifecycle')).map((i) => i.imageTag ?? '').sort();
      if (tags.length === 2) break;
    }
    assert.deepEqual(tags, ['v3', 'v4']);

    // Garbage collection runs right after the deletion: the expired images' own blobs go.
    const expiredBlobs = images.slice(0, 2).flatMap((i) => [i.layers[0].digest, i.config.digest]);
    for (const layerDigest of expiredBlobs) {
      let outcome = '';
      for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
        outcome = (
          await failure(
            ecr.send(
              new GetDownloadUrlForLayerCommand({ repositoryName: 'lifecycle', layerDigest }),
            ),
          )
        ).name;
        if (outcome === 'LayersNotFoundException') break;
      }
      assert.equal(outcome, 'LayersNotFoundException', layerDigest);
    }
    const kept = await ecr.send(
      new GetDownloadUrlForLayerCommand({
        repositoryName: 'lifecycle',
        layerDigest: images[3].layers[0].digest,
      }),
    );
    assert.ok(
      Buffer.from(await (await fetch(kept.downloadUrl!)).arrayBuffer()).equals(
        images[3].layers[0].bytes,
      ),
    );

    const deleted = await ecr.send(
      new DeleteLifecyclePolicyCommand({ repositoryName: 'lifecycle' }),
    );
    assert.equal(deleted.lifecyclePolicyText, policy);
    const after = await failure(
      ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'lifecycle' })),
    );
    assert.equal(after.name, 'LifecyclePolicyNotFoundException');
  });

  test('AWS CLI v2: create-repository, describe-images, get-login-password', async () => {
    const created = await awsCli(server.endpoint, [
      'ecr',
      'create-repository',
      '--repository-name',
      'cli/repo',
      '--image-scanning-configuration',
      'scanOnPush=true',
      '--image-tag-mutability',
      'IMMUTABLE',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const repo = (JSON.parse(created.stdout) as { repository: Record<string, unknown> }).repository;
    assert.equal(
      repo.repositoryUri,
      `127.0.0.1:${server.port}/${ACCOUNT}.dkr.ecr.${REGION}/cli/repo`,
    );
    assert.equal(repo.imageTagMutability, 'IMMUTABLE');

    const image = await pushImage('cli/repo', 'v1');
    const described = await awsCli(server.endpoint, [
      'ecr',
      'describe-images',
      '--repository-name',
      'cli/repo',
    ]);
    assert.equal(described.code, 0, described.stderr);
    const details = (JSON.parse(described.stdout) as { imageDetails: Record<string, unknown>[] })
      .imageDetails;
    assert.equal(details.length, 1);
    assert.equal(details[0].imageDigest, image.digest);
    assert.deepEqual(details[0].imageTags, ['v1']);
    assert.equal(details[0].imageSizeInBytes, image.config.size + image.layers[0].size);

    const login = await awsCli(server.endpoint, ['ecr', 'get-login-password']);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout.trim(), /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

    const missing = await awsCli(server.endpoint, [
      'ecr',
      'describe-repositories',
      '--repository-names',
      'cli/none',
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /RepositoryNotFoundException/);
  });

  test('boto3: repositories, images and lifecycle policies', async () => {
    await createRepo('boto/repo');
    const image = await pushImage('boto/repo', 'v1');
    const script = `
import base64, json, os, boto3
ecr = boto3.client("ecr", endpoint_url=os.environ["ENDPOINT"])
repo = ecr.describe_repositories(repositoryNames=["boto/repo"])["repositories"][0]
ids = []
for page in ecr.get_paginator("list_images").paginate(repositoryName="boto/repo"):
    ids.extend(page["imageIds"])
got = ecr.batch_get_image(repositoryName="boto/repo", imageIds=[{"imageTag": "v1"}])
token = ecr.get_authorization_token()["authorizationData"][0]
policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged",
    "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
    "action": {"type": "expire"}}]})
ecr.put_lifecycle_policy(repositoryName="boto/repo", lifecyclePolicyText=policy)
stored = ecr.get_lifecycle_policy(repositoryName="boto/repo")["lifecyclePolicyText"]
try:
    ecr.delete_repository(repositoryName="boto/repo")
    not_empty = None
except ecr.exceptions.RepositoryNotEmptyException as e:
    not_empty = e.response["Error"]["Code"]
ecr.delete_repository(repositoryName="boto/repo", force=True)
print(json.dumps({
    "uri": repo["repositoryUri"],
    "ids": ids,
    "manifest": got["images"][0]["imageManifest"],
    "user": base64.b64decode(token["authorizationToken"]).decode().split(":")[0],
    "policy": stored == policy,
    "notEmpty": not_empty,
    "remaining": [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]],
}))
`;
    const out = await python(server.endpoint, script);
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout) as Record<string, unknown>;
    assert.equal(result.uri, `127.0.0.1:${server.port}/${ACCOUNT}.dkr.ecr.${REGION}/boto/repo`);
    assert.deepEqual(result.ids, [{ imageDigest: image.digest, imageTag: 'v1' }]);
    assert.equal(result.manifest, image.manifest);
    assert.equal(result.user, 'AWS');
    assert.equal(result.policy, true);
    assert.equal(result.notEmpty, 'RepositoryNotEmptyException');
    assert.ok(!(result.remaining as string[]).includes('boto/repo'));
  });
});
