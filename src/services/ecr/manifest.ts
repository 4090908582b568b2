/**
 * Parsing and validation of pushed image manifests: Docker image manifest v2 schema 2 and
 * manifest list, OCI image manifest and image index (image-spec 1.1, with `subject` and
 * `artifactType` for the referrers API).
 *
 * Pure: no I/O. The bytes are decoded and parsed once with JSON.parse; validation is a single
 * walk over the result. Whether the referenced blobs and child manifests exist is the
 * caller's business (MANIFEST_BLOB_UNKNOWN), as is hashing the bytes for the manifest digest.
 *
 * Specs:
 * - https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
 * - https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md
 * - https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md
 * - https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md#pushing-manifests
 * - https://distribution.github.io/distribution/spec/manifest-v2-2/
 */

import { createHash } from 'node:crypto';
import { isValidDigest } from '../../storage/blob-digest.js';

export const MediaTypes = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface ParsedManifest {
  /** The manifest's media type: its own mediaType field, else the Content-Type, else inferred (OCI manifests may omit mediaType: infer 'manifests' → index, 'config'+'layers' → image manifest). */
  mediaType: string;
  kind: 'image' | 'index';
  /** image: config first, then layers; index: empty. */
  blobs: Descriptor[];
  /** index: the child manifests; image: empty. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** OCI 1.1 referrers rule: the artifactType field, else for an image manifest config.mediaType. */
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Sum of config + layer sizes (image) — what ECR reports as imageSizeInBytes; for an index the size of the manifest bytes. */
  contentSize: number;
}

/** A pushed manifest the registry refuses; the registry answers it as OCI `MANIFEST_INVALID`. */
export class ManifestInvalidError extends Error {
  readonly code = 'MANIFEST_INVALID';

  constructor(message: string) {
    super(message);
    this.name = 'ManifestInvalidError';
  }
}

const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set(Object.values(MediaTypes));
const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MediaTypes.dockerList,
  MediaTypes.ociIndex,
]);

/** Docker image manifest v2 schema 1 (signed or not): deprecated, and not stored here. */
const SCHEMA1_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** The artifact manifest of the image-spec 1.1 release candidates, dropped from 1.1.0. */
const OCI_ARTIFACT_MANIFEST = 'application/vnd.oci.artifact.manifest.v1+json';

/**
 * Content-Types that only say "JSON" (what curl users and schema-1-era clients send): they
 * name no manifest type, so the body decides, as if no Content-Type had been sent.
 */
const GENERIC_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json']);

const SUPPORTED_LIST = Object.values(MediaTypes).join(', ');

/** RFC 6838 section 4.2 `type-name "/" subtype-name`, which descriptor.md requires. */
const MEDIA_TYPE_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

/** `ignoreBOM` keeps a byte order mark in the text so JSON.parse refuses it, as Go does. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type JsonObject = { [key: string]: unknown };

/** True when `mediaType` (parameters and case ignored) is one of the four manifest media types. */
export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.has(essence(mediaType));
}

/**
 * Parses `bytes` (the exact bytes pushed) received with `contentType` (may be undefined or
 * carry parameters like '; charset=utf-8'). Throws ManifestInvalidError for anything the
 * registry must refuse.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  const headerType = manifestTypeFromContentType(contentType);
  const document = decodeDocument(bytes);
  const fieldType = manifestTypeFromField(document.mediaType);
  if (headerType !== undefined && fieldType !== undefined && headerType !== fieldType) {
    throw new ManifestInvalidError(
      `manifest mediaType field ${quote(fieldType)} contradicts Content-Type ${quote(headerType)}`,
    );
  }
  checkSchemaVersion(document.schemaVersion);

  const mediaType = fieldType ?? headerType ?? inferMediaType(document);
  const subject =
    document.subject === undefined ? undefined : descriptor(document.subject, 'subject');
  const artifactType =
    document.artifactType === undefined
      ? undefined
      : mediaTypeValue(document.artifactType, 'artifactType');
  const annotations =
    document.annotations === undefined
      ? undefined
      : annotationMap(document.annotations, 'annotations');

  const common = {
    mediaType,
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };

  if (INDEX_MEDIA_TYPES.has(mediaType)) {
    refuseFields(document, ['config', 'layers'], mediaType);
    const manifests = descriptorList(document.manifests, 'manifests');
    return {
      ...common,
      kind: 'index',
      blobs: [],
      manifests,
      ...(artifactType === undefined ? {} : { artifactType }),
      // ImageDetail.imageSizeInBytes: "If the image is a manifest list, this will be the max
      // size of all manifests in the list" - the children are other documents, so the caller
      // (DescribeImages) computes that; here only the bytes at hand are known.
      contentSize: bytes.length,
    };
  }

  refuseFields(document, ['manifests'], mediaType);
  if (document.config === undefined) throw new ManifestInvalidError('manifest has no config');
  const config = descriptor(document.config, 'config');
  const layers = descriptorList(document.layers, 'layers');
  let contentSize = config.size;
  for (const layer of layers) contentSize += layer.size;
  if (!Number.isSafeInteger(contentSize)) {
    throw new ManifestInvalidError('total size of config and layers is too large');
  }
  return {
    ...common,
    kind: 'image',
    blobs: [config, ...layers],
    manifests: [],
    // Referrers rule (distribution-spec 1.1, "Listing Referrers"): artifactType, else the
    // config's media type.
    artifactType: artifactType ?? config.mediaType,
    contentSize,
  };
}

/**
 * Returns true when a stored manifest of `mediaType` is acceptable to a client sending these
 * `Accept` values (GET/HEAD manifest), or these BatchGetImage `acceptedMediaTypes`. Each value
 * may itself be a comma-separated list of media ranges with parameters. Per RFC 9110 section
 * 12.5.1 the most specific matching range decides (exact type, then `type/*`, then `*\/*`),
 * and a range with `q=0` means "not acceptable". Absent, empty or entirely malformed Accept
 * values accept anything, as does `*\/*`.
 *
 * Conversion: Docker Hub answers a client that does not list schema 2 with a schema 1
 * manifest, and ECR converts Docker schema 2 <-> OCI (and schema 2 -> schema 1) when pulling
 * by tag (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).
 * We convert nothing: a rewritten manifest has another digest and would need the image config
 * rewritten too. So we answer honestly: false here means the stored manifest is not
 * acceptable, and the GET handler refuses with MANIFEST_UNKNOWN naming the stored media type
 * (as distribution/distribution does for OCI manifests a client did not ask for) instead of
 * sending bytes the client said it cannot read. Every client in use today (docker 1.10+,
 * containerd, podman/skopeo, crane, oras) lists all four media types or `*\/*`.
 */
export function acceptsMediaType(accept: string[] | undefined, mediaType: string): boolean {
  const wanted = essence(mediaType);
  const slash = wanted.indexOf('/');
  const wantedType = slash < 0 ? wanted : wanted.slice(0, slash);
  let sawRange = false;
  let bestSpecificity = -1;
  let bestQuality = 0;
  for (const value of accept ?? []) {
    for (const part of splitOutsideQuotes(value, ',')) {
      const range = parseMediaRange(part);
      if (range === undefined) continue;
      sawRange = true;
      const specificity =
        range.type === wanted
          ? 2
          : range.type === `${wantedType}/*`
            ? 1
            : range.type === '*/*'
              ? 0
              : -1;
      if (specificity < 0 || specificity < bestSpecificity) continue;
      if (specificity > bestSpecificity) {
        bestSpecificity = specificity;
        bestQuality = range.quality;
      } else {
        bestQuality = Math.max(bestQuality, range.quality);
      }
    }
  }
  if (!sawRange) return true;
  return bestSpecificity >= 0 && bestQuality > 0;
}

// ---------------------------------------------------------------------------------------
// Media type resolution

/** The lowercased `type/subtype` of a Content-Type or media range, without parameters. */
function essence(value: string): string {
  const semicolon = value.indexOf(';');
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

/** The manifest type the Content-Type names, or undefined when it names none. */
function manifestTypeFromContentType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const type = essence(contentType);
  if (type === '' || GENERIC_CONTENT_TYPES.has(type)) return undefined;
  refuseUnsupportedType(type, 'Content-Type');
  return type;
}

/** The manifest type in the document's own `mediaType` field, or undefined when absent. */
function manifestTypeFromField(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new ManifestInvalidError(`manifest mediaType must be a string, got ${describe(value)}`);
  }
  refuseUnsupportedType(value, 'mediaType');
  return value;
}

function refuseUnsupportedType(type: string, source: string): void {
  if (MANIFEST_MEDIA_TYPES.has(type)) return;
  if (SCHEMA1_MEDIA_TYPES.has(type)) throw schema1Error(`${source} ${quote(type)}`);
  if (type === OCI_ARTIFACT_MANIFEST) {
    throw new ManifestInvalidError(
      `unsupported manifest ${source} ${quote(type)}: the OCI artifact manifest was dropped ` +
        `from image-spec 1.1; push an image manifest with artifactType instead`,
    );
  }
  throw new ManifestInvalidError(
    `unsupported manifest ${source} ${quote(type)}; supported: ${SUPPORTED_LIST}`,
  );
}

function schema1Error(what: string): ManifestInvalidError {
  return new ManifestInvalidError(
    `${what}: Docker image manifest v2 schema 1 is deprecated and not supported; ` +
      `push Docker schema 2 or OCI manifests instead`,
  );
}

function checkSchemaVersion(value: unknown): void {
  if (value === 2) return;
  if (value === undefined) throw new ManifestInvalidError('manifest has no schemaVersion');
  if (value === 1) throw schema1Error('schemaVersion 1');
  throw new ManifestInvalidError(`manifest schemaVersion must be 2, got ${describe(value)}`);
}

/**
 * OCI manifests may omit `mediaType` (image-spec: SHOULD, not MUST); with neither the field
 * nor a Content-Type the shape decides.
 */
function inferMediaType(document: JsonObject): string {
  const hasManifests = document.manifests !== undefined;
  const hasImageFields = document.config !== undefined || document.layers !== undefined;
  if (hasManifests && hasImageFields) {
    throw new ManifestInvalidError(
      'manifest without mediaType has both manifests and config/layers: ambiguous',
    );
  }
  if (hasManifests) return MediaTypes.ociIndex;
  if (hasImageFields) return MediaTypes.ociManifest;
  throw new ManifestInvalidError(
    'cannot determine the manifest type: no mediaType field, no manifest Content-Type, ' +
      'and neither manifests nor config/layers',
  );
}

/**
 * An image manifest with `manifests`, or an index with `config`/`layers`, could be read as
 * the other kind under the same digest (CVE-2021-41190, GHSA-77vh-xpmg-72qh): refused.
 */
function refuseFields(document: JsonObject, fields: string[], mediaType: string): void {
  for (const field of fields) {
    if (document[field] !== undefined) {
      throw new ManifestInvalidError(
        `a ${mediaType} manifest must not have a ${field} field (ambiguous manifest)`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Document and field validation

function decodeDocument(bytes: Buffer): JsonObject {
  if (bytes.length === 0) throw new ManifestInvalidError('manifest body is empty');
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ManifestInvalidError('manifest is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ManifestInvalidError(`manifest is not valid JSON: ${reason}`);
  }
  if (!isObject(value)) {
    throw new ManifestInvalidError(`manifest must be a JSON object, got ${describe(value)}`);
  }
  return value;
}

function descriptorList(value: unknown, path: string): Descriptor[] {
  if (value === undefined) throw new ManifestInvalidError(`manifest has no ${path}`);
  if (!Array.isArray(value)) {
    throw new ManifestInvalidError(`${path} must be an array, got ${describe(value)}`);
  }
  const list: Descriptor[] = new Array<Descriptor>(value.length);
  for (let i = 0; i < value.length; i++) list[i] = descriptor(value[i], `${path}[${i}]`);
  return list;
}

/** https://github.com/opencontainers/image-spec/blob/v1.1.0/descriptor.md#properties */
function descriptor(value: unknown, path: string): Descriptor {
  const object = objectValue(value, path);
  const mediaType = mediaTypeValue(object.mediaType, `${path}.mediaType`);
  const digest = digestValue(object.digest, `${path}.digest`);
  const size = sizeValue(object.size, `${path}.size`);
  const result: Descriptor = { mediaType, digest, size };
  if (object.artifactType !== undefined) {
    result.artifactType = mediaTypeValue(object.artifactType, `${path}.artifactType`);
  }
  if (object.platform !== undefined)
    result.platform = platform(object.platform, `${path}.platform`);
  if (object.annotations !== undefined) {
    result.annotations = annotationMap(object.annotations, `${path}.annotations`);
  }
  if (object.urls !== undefined) stringList(object.urls, `${path}.urls`);
  if (object.data !== undefined) checkEmbeddedData(object.data, digest, size, `${path}.data`);
  return result;
}

/** https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md (platform) */
function platform(value: unknown, path: string): Platform {
  const object = objectValue(value, path);
  const result: Platform = {
    architecture: requiredString(object.architecture, `${path}.architecture`),
    os: requiredString(object.os, `${path}.os`),
  };
  if (object.variant !== undefined)
    result.variant = requiredString(object.variant, `${path}.variant`);
  const osVersion = object['os.version'];
  if (osVersion !== undefined)
    result['os.version'] = requiredString(osVersion, `${path}.os.version`);
  const osFeatures = object['os.features'];
  if (osFeatures !== undefined)
    result['os.features'] = stringList(osFeatures, `${path}.os.features`);
  // `features` is reserved by the OCI spec but used by Docker manifest lists: typed, not kept.
  if (object.features !== undefined) stringList(object.features, `${path}.features`);
  return result;
}

function mediaTypeValue(value: unknown, path: string): string {
  const text = requiredString(value, path);
  if (!MEDIA_TYPE_PATTERN.test(text)) {
    throw new ManifestInvalidError(`${path} ${quote(text)} is not a valid media type (RFC 6838)`);
  }
  return text;
}

function digestValue(value: unknown, path: string): string {
  const text = requiredString(value, path);
  if (!isValidDigest(text)) {
    throw new ManifestInvalidError(
      `${path} ${quote(text)} is not a valid digest: expected sha256:<64 lowercase hex>`,
    );
  }
  return text;
}

function sizeValue(value: unknown, path: string): number {
  if (value === undefined) throw new ManifestInvalidError(`${path} is missing`);
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ManifestInvalidError(
      `${path} must be a non-negative integer, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Annotations are a string-to-string map (annotations.md#rules). The parsed object is
 * returned as is: JSON.parse makes plain objects whose `__proto__` key, if any, is an own
 * property, whereas copying keys into a fresh object could set its prototype.
 */
function annotationMap(value: unknown, path: string): Record<string, string> {
  const object = objectValue(value, path);
  for (const key in object) {
    if (typeof object[key] !== 'string') {
      throw new ManifestInvalidError(
        `${path}[${quote(key)}] must be a string, got ${describe(object[key])}`,
      );
    }
  }
  return object as Record<string, string>;
}

/** descriptor.md: `data` is base64 (RFC 4648) of exactly the referenced content. */
function checkEmbeddedData(value: unknown, digest: string, size: number, path: string): void {
  const text = requiredString(value, path);
  if (text.length % 4 !== 0 || !BASE64_PATTERN.test(text)) {
    throw new ManifestInvalidError(`${path} is not valid base64`);
  }
  const content = Buffer.from(text, 'base64');
  if (content.length !== size) {
    throw new ManifestInvalidError(`${path} decodes to ${content.length} bytes, size says ${size}`);
  }
  const actual = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  if (actual !== digest) {
    throw new ManifestInvalidError(`${path} does not match the digest (content is ${actual})`);
  }
}

function stringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) {
    throw new ManifestInvalidError(`${path} must be an array of strings, got ${describe(value)}`);
  }
  for (let i = 0; i < value.length; i++) requiredString(value[i], `${path}[${i}]`);
  return value as string[];
}

function requiredString(value: unknown, path: string): string {
  if (value === undefined) throw new ManifestInvalidError(`${path} is missing`);
  if (typeof value !== 'string') {
    throw new ManifestInvalidError(`${path} must be a string, got ${describe(value)}`);
  }
  return value;
}

function objectValue(value: unknown, path: string): JsonObject {
  if (value === undefined) throw new ManifestInvalidError(`${path} is missing`);
  if (!isObject(value)) {
    throw new ManifestInvalidError(`${path} must be an object, got ${describe(value)}`);
  }
  return value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a JSON value for error messages (client input: bounded length). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return String(value);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

// ---------------------------------------------------------------------------------------
// Accept header parsing

interface MediaRange {
  /** Lowercased `type/subtype`, `type/*` or `*\/*`. */
  type: string;
  quality: number;
}

const RANGE_PATTERN = /^(?:\*\/\*|[a-z0-9][a-z0-9!#$&^_.+-]*\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*))$/;

/** One media range with its q-value; undefined for a malformed one (ignored, like Go's). */
function parseMediaRange(text: string): MediaRange | undefined {
  const [head = '', ...params] = splitOutsideQuotes(text, ';');
  const type = head.trim().toLowerCase();
  if (!RANGE_PATTERN.test(type)) return undefined;
  let quality = 1;
  for (const param of params) {
    const equals = param.indexOf('=');
    if (equals < 0 || param.slice(0, equals).trim().toLowerCase() !== 'q') continue;
    const q = Number(param.slice(equals + 1).trim());
    // RFC 9110 qvalues lie in 0..1; an unreadable one is ignored rather than fatal.
    if (param.slice(equals + 1).trim() !== '' && q >= 0 && q <= 1) quality = q;
  }
  return { type, quality };
}

/** Splits on `separator` except inside double-quoted strings (parameter values may hold it). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  if (!text.includes('"')) return text.split(separator);
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && quoted) i++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
