/**
 * Layers: PublishLayerVersion, Get/List/Delete, and how functions reference them (at most
 * five layer versions, in order; extracted under /opt in that order by execution).
 * https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html
 * Layer versions are immutable and numbered from 1, never reused; a function keeps its
 * own reference to a layer's code, so deleting a layer version does not break functions
 * that use it (as AWS documents).
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  Architecture,
  DeleteLayerVersionRequest,
  GetLayerVersionByArnRequest,
  GetLayerVersionRequest,
  GetLayerVersionResponse,
  LayerVersionsListItem,
  LayersListItem,
  ListLayerVersionsRequest,
  ListLayerVersionsResponse,
  ListLayersRequest,
  ListLayersResponse,
  PublishLayerVersionRequest,
  PublishLayerVersionResponse,
  Runtime,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  layerArn,
  layerVersionArn,
  parseLayerArn,
  resolveLayerName,
  type LayerRef,
  type Scope,
} from './arns.js';
import { codeSha256 } from './code-store.js';
import { asBuffer, codeStillUsed, pageArray, scopeOf, type LambdaDeps } from './common.js';
import { lambdaDate } from './dates.js';
import { accessDenied, invalidParameter, resourceMissing, validationException } from './errors.js';
import {
  T,
  layerKey,
  layerVersionKey,
  releaseCode,
  retainCode,
  scopePrefix,
  type CodeRef,
  type FunctionLayerRef,
  type LayerRecord,
  type LayerVersionRecord,
} from './store.js';
import { zipFromS3 } from './functions.js';
import { MAX_LAYERS } from './validation.js';
import { MAX_UNZIPPED_BYTES } from './zip.js';

type LayerOps = Pick<
  LambdaOperations,
  | 'PublishLayerVersion'
  | 'GetLayerVersion'
  | 'GetLayerVersionByArn'
  | 'ListLayers'
  | 'ListLayerVersions'
  | 'DeleteLayerVersion'
>;

async function layerVersionView(
  deps: LambdaDeps,
  scope: Scope,
  rec: LayerVersionRecord,
): Promise<GetLayerVersionResponse> {
  const out: GetLayerVersionResponse = {
    Content: {
      Location: await deps.code.downloadUrl(deps.endpoint(), rec.code.sha),
      CodeSha256: codeSha256(rec.code.sha),
      CodeSize: rec.code.size,
    },
    LayerArn: layerArn(scope, rec.name),
    LayerVersionArn: layerVersionArn(scope, rec.name, rec.version),
    Description: rec.description,
    CreatedDate: rec.createdDate,
    Version: rec.version,
  };
  if (rec.compatibleRuntimes) out.CompatibleRuntimes = rec.compatibleRuntimes;
  if (rec.licenseInfo !== undefined) out.LicenseInfo = rec.licenseInfo;
  if (rec.compatibleArchitectures) out.CompatibleArchitectures = rec.compatibleArchitectures;
  return out;
}

function listItem(scope: Scope, rec: LayerVersionRecord): LayerVersionsListItem {
  const out: LayerVersionsListItem = {
    LayerVersionArn: layerVersionArn(scope, rec.name, rec.version),
    Version: rec.version,
    Description: rec.description,
    CreatedDate: rec.createdDate,
  };
  if (rec.compatibleRuntimes) out.CompatibleRuntimes = rec.compatibleRuntimes;
  if (rec.licenseInfo !== undefined) out.LicenseInfo = rec.licenseInfo;
  if (rec.compatibleArchitectures) out.CompatibleArchitectures = rec.compatibleArchitectures;
  return out;
}

function matches(
  rec: LayerVersionRecord,
  runtime: Runtime | undefined,
  arch: Architecture | undefined,
): boolean {
  if (runtime !== undefined && !rec.compatibleRuntimes?.includes(runtime)) return false;
  if (arch !== undefined && !rec.compatibleArchitectures?.includes(arch)) return false;
  return true;
}

/** Layers are readable by their own account only (no layer permissions yet). */
function ownLayer(ctx: RequestContext, ref: LayerRef, arn: string): void {
  if (ref.scope.account !== ctx.account) {
    throw accessDenied(ctx.principal.arn, 'GetLayerVersion', arn);
  }
  if (ref.scope.region !== ctx.region) throw resourceMissing();
}

const checkVersionNumber = (n: number): void => {
  if (n < 1) throw invalidParameter('Layer Version Cannot be less than 1');
};

/** All versions of a layer, newest first. */
async function versionsOf(
  ops: MetadataOps,
  scope: Scope,
  name: string,
): Promise<LayerVersionRecord[]> {
  const rows = await ops.list<LayerVersionRecord>(T.layerVersions, {
    prefix: layerKey(scope, name) + ':',
    reverse: true,
  });
  return rows.map((r) => r.value);
}

export function layerOperations(deps: LambdaDeps): LayerOps {
  const { store } = deps;

  async function getVersion(ctx: RequestContext, ref: LayerRef, version: number) {
    ownLayer(ctx, ref, layerVersionArn(ref.scope, ref.name, version));
    checkVersionNumber(version);
    const rec = await store.get<LayerVersionRecord>(
      T.layerVersions,
      layerVersionKey(layerKey(ref.scope, ref.name), version),
    );
    if (!rec) throw resourceMissing();
    return layerVersionView(deps, ref.scope, rec);
  }

  return {
    async PublishLayerVersion(
      input: PublishLayerVersionRequest,
      ctx: RequestContext,
    ): Promise<PublishLayerVersionResponse> {
      const ref = resolveLayerName(scopeOf(ctx), input.LayerName);
      if (ref.version !== undefined) {
        throw validationException([
          `Value '${input.LayerName}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+`,
        ]);
      }
      if (ref.scope.account !== ctx.account || ref.scope.region !== ctx.region) {
        throw accessDenied(ctx.principal.arn, 'PublishLayerVersion', input.LayerName);
      }
      const content = input.Content;
      let zip: Buffer;
      if (content.ZipFile) zip = asBuffer(content.ZipFile);
      else if (content.S3Bucket !== undefined || content.S3Key !== undefined)
        zip = await zipFromS3(deps, ctx, content);
      else throw invalidParameter('Please provide a source for the layer content.');
      const lease = await deps.code.ingest(zip);
      let rec: LayerVersionRecord;
      try {
        rec = await store.transaction(async (tx) => {
          const lKey = layerKey(ref.scope, ref.name);
          const layer = (await tx.get<LayerRecord>(T.layers, lKey)) ?? {
            name: ref.name,
            nextVersion: 1,
          };
          const version: LayerVersionRecord = {
            name: ref.name,
            version: layer.nextVersion,
            description: input.Description ?? '',
            createdDate: lambdaDate(deps.now()),
            code: lease.code,
          };
          if (input.CompatibleRuntimes?.length)
            version.compatibleRuntimes = input.CompatibleRuntimes;
          if (input.CompatibleArchitectures?.length) {
            version.compatibleArchitectures = input.CompatibleArchitectures;
          }
          if (input.LicenseInfo !== undefined) version.licenseInfo = input.LicenseInfo;
          layer.nextVersion++;
          await tx.put(T.layers, lKey, layer);
          await tx.put(T.layerVersions, layerVersionKey(lKey, version.version), version);
          await retainCode(tx, lease.code.sha);
          return version;
        });
      } finally {
        lease.release();
      }
      return layerVersionView(deps, ref.scope, rec);
    },

    async GetLayerVersion(input: GetLayerVersionRequest, ctx: RequestContext) {
      return getVersion(ctx, resolveLayerName(scopeOf(ctx), input.LayerName), input.VersionNumber);
    },

    async GetLayerVersionByArn(input: GetLayerVersionByArnRequest, ctx: RequestContext) {
      const ref = parseLayerArn(input.Arn);
      if (!ref || ref.version === undefined) {
        throw validationException([
          `Value '${input.Arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+`,
        ]);
      }
      return getVersion(ctx, ref, ref.version);
    },

    async ListLayers(input: ListLayersRequest, ctx: RequestContext): Promise<ListLayersResponse> {
      const scope = scopeOf(ctx);
      const items: LayersListItem[] = [];
      for (const { value: layer } of await store.list<LayerRecord>(T.layers, {
        prefix: scopePrefix(scope),
      })) {
        const latest = (await versionsOf(store, scope, layer.name)).find((v) =>
          matches(v, input.CompatibleRuntime, input.CompatibleArchitecture),
        );
        if (!latest) continue;
        items.push({
          LayerName: layer.name,
          LayerArn: layerArn(scope, layer.name),
          LatestMatchingVersion: listItem(scope, latest),
        });
      }
      const page = pageArray(items, (i) => i.LayerName ?? '', input.Marker, input.MaxItems);
      const out: ListLayersResponse = { Layers: page.items };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },

    async ListLayerVersions(
      input: ListLayerVersionsRequest,
      ctx: RequestContext,
    ): Promise<ListLayerVersionsResponse> {
      const ref = resolveLayerName(scopeOf(ctx), input.LayerName);
      ownLayer(ctx, ref, layerArn(ref.scope, ref.name));
      const items = (await versionsOf(store, ref.scope, ref.name))
        .filter((v) => matches(v, input.CompatibleRuntime, input.CompatibleArchitecture))
        .map((v) => listItem(ref.scope, v));
      const page = pageArray(items, (i) => i.LayerVersionArn ?? '', input.Marker, input.MaxItems);
      const out: ListLayerVersionsResponse = { LayerVersions: page.items };
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },

    /** Idempotent, as AWS: deleting a missing version succeeds. */
    async DeleteLayerVersion(input: DeleteLayerVersionRequest, ctx: RequestContext): Promise<void> {
      const ref = resolveLayerName(scopeOf(ctx), input.LayerName);
      ownLayer(ctx, ref, layerVersionArn(ref.scope, ref.name, input.VersionNumber));
      checkVersionNumber(input.VersionNumber);
      const key = layerVersionKey(layerKey(ref.scope, ref.name), input.VersionNumber);
      const unused = await store.transaction(async (tx) => {
        const rec = await tx.get<LayerVersionRecord>(T.layerVersions, key);
        if (!rec) return [];
        await tx.delete(T.layerVersions, key);
        await tx.delete(T.layerPolicies, key);
        return (await releaseCode(tx, rec.code.sha)) ? [rec.code.sha] : [];
      });
      await deps.code.collect(unused, codeStillUsed(store));
    },
  };
}

/**
 * Checks a function's Layers parameter (count before the transaction, the rest inside it)
 * and returns the references the function version stores.
 */
export function checkLayerCount(arns: readonly string[] | undefined): void {
  if (arns && arns.length > MAX_LAYERS) {
    throw invalidParameter(`Cannot reference more than ${MAX_LAYERS} layers.`);
  }
}

export async function resolveLayers(
  tx: MetadataOps,
  ctx: RequestContext,
  arns: readonly string[],
): Promise<FunctionLayerRef[]> {
  const out: FunctionLayerRef[] = [];
  const seen = new Map<string, string>();
  for (const arn of arns) {
    const ref = parseLayerArn(arn);
    if (!ref || ref.version === undefined) {
      throw validationException([
        `Value '[${arns.join(', ')}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+, Member must not be null]`,
      ]);
    }
    if (ref.scope.region !== ctx.region) {
      throw invalidParameter(
        `Layers are not in the same region as the function. Layers are expected to be in region ${ctx.region}.`,
      );
    }
    if (ref.scope.account !== ctx.account)
      throw accessDenied(ctx.principal.arn, 'GetLayerVersion', arn);
    const unversioned = layerArn(ref.scope, ref.name);
    const other = seen.get(unversioned);
    if (other !== undefined) {
      throw invalidParameter(
        `Two different versions of the same layer are not allowed to be referenced in the same function. ${other} and ${arn} are versions of the same layer.`,
      );
    }
    seen.set(unversioned, arn);
    const rec = await tx.get<LayerVersionRecord>(
      T.layerVersions,
      layerVersionKey(layerKey(ref.scope, ref.name), ref.version),
    );
    if (!rec) throw invalidParameter(`Layer version ${arn} does not exist.`);
    out.push({ arn: layerVersionArn(ref.scope, ref.name, ref.version), code: rec.code });
  }
  return out;
}

/** "The total unzipped size of the function and all layers can't exceed 250 MB." */
export function checkCombinedSize(code: CodeRef, layers: readonly FunctionLayerRef[]): void {
  let total = code.unzippedSize;
  for (const l of layers) total += l.code.unzippedSize;
  if (total > MAX_UNZIPPED_BYTES) {
    throw invalidParameter(
      `Function code combined with layers exceeds the maximum allowed size of ${MAX_UNZIPPED_BYTES} bytes. The actual size is ${total} bytes.`,
    );
  }
}
