/**
 * Lambda versions, aliases (weighted routing, RevisionId preconditions) and layers through
 * SDK v3, with AWS's messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DeleteFunctionCommand,
  DeleteLayerVersionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetLayerVersionByArnCommand,
  GetLayerVersionCommand,
  ListAliasesCommand,
  ListLayerVersionsCommand,
  ListLayersCommand,
  ListVersionsByFunctionCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { createZip } from './helpers/zip-writer.js';
import { failure } from './helpers/failure.js';
import {
  ACCOUNT,
  REGION,
  arn,
  handlerZip,
  openControlFixture,
  sha256b64,
  type ControlFixture,
} from './helpers/lambda.js';

describe('Lambda versions, aliases and layers', () => {
  let fx: ControlFixture;
  let lambda: LambdaClient;

  const create = (...args: Parameters<ControlFixture['create']>) => fx.create(...args);

  before(async () => {
    fx = await openControlFixture();
    ({ lambda } = fx);
  });
  after(async () => {
    await fx.close();
  });

  test('versions and weighted aliases', async () => {
    await create('ver');
    const v1 = await lambda.send(
      new PublishVersionCommand({ FunctionName: 'ver', Description: 'first' }),
    );
    assert.equal(v1.$metadata.httpStatusCode, 201);
    assert.equal(v1.Version, '1');
    assert.equal(v1.FunctionArn, `${arn('ver')}:1`);
    assert.equal(v1.Description, 'first');
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: 'ver' }));
    assert.equal(again.Version, '1', 'nothing changed: the last version comes back');

    const zip2 = handlerZip('exports.handler = async () => "v2";\n');
    const mismatch = await failure(
      lambda.send(new PublishVersionCommand({ FunctionName: 'ver', CodeSha256: sha256b64(zip2) })),
    );
    assert.equal(mismatch.name, 'InvalidParameterValueException');
    const v2 = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: 'ver', ZipFile: zip2, Publish: true }),
    );
    assert.equal(v2.Version, '2');
    assert.equal(v2.FunctionArn, `${arn('ver')}:2`);

    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'ver' }));
    assert.deepEqual(
      versions.Versions?.map((v) => v.Version),
      ['$LATEST', '1', '2'],
    );
    assert.deepEqual(
      versions.Versions?.map((v) => v.FunctionArn),
      [`${arn('ver')}:$LATEST`, `${arn('ver')}:1`, `${arn('ver')}:2`],
    );

    const alias = await lambda.send(
      new CreateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.5 } },
      }),
    );
    assert.equal(alias.AliasArn, `${arn('ver')}:live`);
    assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: { '2': 0.5 } });
    assert.equal(
      (
        await failure(
          lambda.send(
            new CreateAliasCommand({ FunctionName: 'ver', Name: 'live', FunctionVersion: '1' }),
          ),
        )
      ).message,
      `Alias already exists: ${arn('ver')}:live`,
    );
    const weighted = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '$LATEST',
          RoutingConfig: { AdditionalVersionWeights: { '1': 0.1 } },
        }),
      ),
    );
    assert.equal(
      weighted.message,
      '$LATEST is not supported for an alias pointing to more than 1 version',
    );
    const two = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { '2': 0.1, '3': 0.1 } },
        }),
      ),
    );
    assert.equal(
      two.message,
      'Number of items in AdditionalVersionWeights cannot be greater than 1',
    );
    const overweight = await failure(
      lambda.send(
        new CreateAliasCommand({
          FunctionName: 'ver',
          Name: 'bad',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { '2': 1.5 } },
        }),
      ),
    );
    assert.equal(overweight.name, 'ValidationException');
    assert.equal(
      (
        await failure(
          lambda.send(
            new CreateAliasCommand({ FunctionName: 'ver', Name: 'bad', FunctionVersion: '9' }),
          ),
        )
      ).message,
      `Function not found: ${arn('ver')}:9`,
    );

    const viaAlias = await lambda.send(
      new GetFunctionCommand({ FunctionName: 'ver', Qualifier: 'live' }),
    );
    assert.equal(viaAlias.Configuration?.FunctionArn, `${arn('ver')}:live`);
    assert.equal(viaAlias.Configuration?.Version, '1');
    const viaArn = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: `${arn('ver')}:2` }),
    );
    assert.equal(viaArn.Version, '2');
    assert.equal(
      (
        await failure(
          lambda.send(
            new GetFunctionConfigurationCommand({ FunctionName: 'ver', Qualifier: 'nope' }),
          ),
        )
      ).message,
      `Function not found: ${arn('ver')}:nope`,
    );

    const inUse = await failure(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '2' })),
    );
    assert.equal(inUse.name, 'ResourceConflictException');
    const got = await lambda.send(new GetAliasCommand({ FunctionName: 'ver', Name: 'live' }));
    const staleAlias = await failure(
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: 'ver',
          Name: 'live',
          RevisionId: 'stale',
          Description: 'x',
        }),
      ),
    );
    assert.equal(staleAlias.name, 'PreconditionFailedException');
    const moved = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: 'ver',
        Name: 'live',
        FunctionVersion: '2',
        RoutingConfig: {},
        RevisionId: got.RevisionId,
      }),
    );
    assert.equal(moved.FunctionVersion, '2');
    assert.equal(moved.RoutingConfig, undefined);
    assert.notEqual(moved.RevisionId, got.RevisionId);
    const listed = await lambda.send(
      new ListAliasesCommand({ FunctionName: 'ver', FunctionVersion: '2' }),
    );
    assert.deepEqual(
      listed.Aliases?.map((a) => a.Name),
      ['live'],
    );

    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '1' }));
    const afterDelete = await lambda.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'ver' }),
    );
    assert.deepEqual(
      afterDelete.Versions?.map((v) => v.Version),
      ['$LATEST', '2'],
    );
    const latest = await failure(
      lambda.send(new DeleteFunctionCommand({ FunctionName: 'ver', Qualifier: '$LATEST' })),
    );
    assert.equal(
      latest.message,
      '$LATEST version cannot be deleted without deleting the function.',
    );
    await lambda.send(new DeleteAliasCommand({ FunctionName: 'ver', Name: 'live' }));
    assert.deepEqual(
      (await lambda.send(new ListAliasesCommand({ FunctionName: 'ver' }))).Aliases,
      [],
    );
  });

  test('layers: publish, read, list, reference (≤ 5), delete', async () => {
    const layerZip = createZip([
      { name: 'nodejs/node_modules/lib/index.js', data: 'module.exports = 1;\n' },
    ]);
    const l1 = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: layerZip },
        CompatibleRuntimes: ['nodejs20.x'],
      }),
    );
    assert.equal(l1.$metadata.httpStatusCode, 201);
    assert.equal(l1.Version, 1);
    assert.equal(l1.LayerVersionArn, `arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:1`);
    assert.equal(l1.Content?.CodeSha256, sha256b64(layerZip));
    assert.equal(l1.Content?.CodeSize, layerZip.length);
    const l2 = await lambda.send(
      new PublishLayerVersionCommand({
        LayerName: 'shared',
        Content: { ZipFile: layerZip },
        CompatibleRuntimes: ['python3.12'],
        Description: 'py',
      }),
    );
    assert.equal(l2.Version, 2);
    const byArn = await lambda.send(new GetLayerVersionByArnCommand({ Arn: l1.LayerVersionArn }));
    assert.equal(byArn.Version, 1);
    const byName = await lambda.send(
      new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 2 }),
    );
    assert.equal(byName.Description, 'py');
    assert.equal(
      (
        await failure(
          lambda.send(new GetLayerVersionCommand({ LayerName: 'shared', VersionNumber: 9 })),
        )
      ).message,
      'The resource you requested does not exist.',
    );
    const layers = await lambda.send(new ListLayersCommand({}));
    assert.deepEqual(
      layers.Layers?.map((l) => [l.LayerName, l.LatestMatchingVersion?.Version]),
      [['shared', 2]],
    );
    const nodeOnly = await lambda.send(new ListLayersCommand({ CompatibleRuntime: 'nodejs20.x' }));
    assert.equal(nodeOnly.Layers?.[0]?.LatestMatchingVersion?.Version, 1);
    const versions = await lambda.send(new ListLayerVersionsCommand({ LayerName: 'shared' }));
    assert.deepEqual(
      versions.LayerVersions?.map((v) => v.Version),
      [2, 1],
    );

    const fn = await create('layered', { Layers: [l1.LayerVersionArn as string] });
    assert.deepEqual(fn.Layers, [{ Arn: l1.LayerVersionArn, CodeSize: layerZip.length }]);
    const missing = await failure(
      create('layered2', { Layers: [`arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:7`] }),
    );
    assert.equal(
      missing.message,
      `Layer version arn:aws:lambda:${REGION}:${ACCOUNT}:layer:shared:7 does not exist.`,
    );
    const same = await failure(
      create('layered2', { Layers: [l1.LayerVersionArn as string, l2.LayerVersionArn as string] }),
    );
    assert.match(same.message, /^Two different versions of the same layer are not allowed/);

    await lambda.send(new DeleteLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    await lambda.send(new DeleteLayerVersionCommand({ LayerName: 'shared', VersionNumber: 1 }));
    assert.deepEqual(
      (await lambda.send(new ListLayerVersionsCommand({ LayerName: 'shared' }))).LayerVersions?.map(
        (v) => v.Version,
      ),
      [2],
    );
    const still = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: 'layered' }),
    );
    assert.deepEqual(still.Layers, [{ Arn: l1.LayerVersionArn, CodeSize: layerZip.length }]);
    const l3 = await lambda.send(
      new PublishLayerVersionCommand({ LayerName: 'shared', Content: { ZipFile: layerZip } }),
    );
    assert.equal(l3.Version, 3, 'version numbers are never reused');
  });
});
