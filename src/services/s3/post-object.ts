/**
 * POST Object: browser-based uploads, an HTML form (multipart/form-data) posted to the
 * bucket, authorised by a policy document signed with SigV4's derived key. The form's
 * fields come first, the file last; the file streams into the blob store as it arrives.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { ObjectCannedACL, StorageClass } from '../../api/s3/types.js';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeader,
  isDigestOf,
  runningDigest,
  type ChecksumAlgorithm,
  type RunningDigest,
} from '../../protocol/checksums.js';
import { PayloadErrors } from '../../protocol/payload.js';
import { constantTimeEqual, hmacSha256Hex, signingKey } from '../../protocol/sigv4-crypto.js';
import type { WireResponse } from '../../protocol/types.js';
import { rootPrincipal } from '../../shared/arn.js';
import type { Credential, RequestContext } from '../../shared/context.js';
import type { FormUploadRequest } from '../plugin.js';
import { AwsError } from '../../shared/errors.js';
import type { CheckedPayload, PayloadDigests } from '../../shared/streaming-blob.js';
import { requestedAcl } from './acl.js';
import {
  checkKey,
  checkTags,
  requireBucket,
  storeBody,
  storedHeaders,
  type S3Deps,
} from './common.js';
import { S3Errors } from './errors.js';
import { lockOnWrite } from './object-lock.js';
import { MAX_PUT_BYTES, commitObject, shownVersionId } from './objects.js';
import type { ObjectRecord } from './store.js';

const e = (code: string, status: number, message: string, fields: Record<string, unknown> = {}) =>
  new AwsError(code, status, true, message, fields);

export const PostErrors = {
  malformed: () =>
    e(
      'MalformedPOSTRequest',
      400,
      'The body of your POST request is not well-formed multipart/form-data.',
    ),
  missingField: (name: string) =>
    e(
      'InvalidArgument',
      400,
      `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
      { ArgumentName: name, ArgumentValue: '' },
    ),
  noFile: () =>
    e('InvalidArgument', 400, 'POST requires exactly one file upload per request.', {
      ArgumentName: 'file',
      ArgumentValue: '0',
    }),
  policy: (why: string) => e('AccessDenied', 403, `Invalid according to Policy: ${why}`),
  invalidPolicy: (why: string) => e('InvalidPolicyDocument', 400, `Invalid Policy: ${why}`),
  signature: () =>
    e(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    ),
  unknownKey: () =>
    e(
      'InvalidAccessKeyId',
      403,
      'The AWS Access Key Id you provided does not exist in our records.',
    ),
  tooLarge: (max: number) =>
    e('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      MaxSizeAllowed: max,
    }),
  tooSmall: (size: number, min: number) =>
    e('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', {
      ProposedSize: size,
      MinSizeAllowed: min,
    }),
} as const;

/** Fields no policy condition has to name. */
const EXEMPT = new Set(['x-amz-signature', 'file', 'policy', 'awsaccesskeyid', 'signature']);

type Condition =
  | { op: 'eq' | 'starts-with'; field: string; value: string; text: string }
  | { op: 'content-length-range'; min: number; max: number };

interface Policy {
  conditions: Condition[];
}

/** Parses and checks a policy's expiration; field conditions are checked by `checkPolicy`. */
export function parsePolicy(base64: string, now: number): Policy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch {
    throw PostErrors.invalidPolicy('Could not parse the policy: Invalid JSON.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw PostErrors.invalidPolicy('Invalid JSON.');
  const { expiration, conditions } = doc as { expiration?: unknown; conditions?: unknown };
  if (typeof expiration !== 'string') throw PostErrors.invalidPolicy('Policy missing expiration.');
  const expires = Date.parse(expiration);
  if (Number.isNaN(expires))
    throw PostErrors.invalidPolicy(`Invalid 'expiration' value: '${expiration}'`);
  if (expires < now) throw PostErrors.policy('Policy expired.');
  if (!Array.isArray(conditions)) throw PostErrors.invalidPolicy('Policy missing conditions.');
  return { conditions: conditions.map(parseCondition) };
}

function parseCondition(raw: unknown): Condition {
  const text = JSON.stringify(raw);
  if (Array.isArray(raw)) {
    const [op, a, b] = raw as unknown[];
    const name = typeof op === 'string' ? op.toLowerCase() : '';
    if (name === 'content-length-range' && raw.length === 3) {
      const min = Number(a);
      const max = Number(b);
      if (Number.isInteger(min) && Number.isInteger(max)) return { op: name, min, max };
    } else if (
      (name === 'eq' || name === 'starts-with') &&
      raw.length === 3 &&
      typeof a === 'string' &&
      a.startsWith('$') &&
      typeof b === 'string'
    ) {
      return { op: name, field: a.slice(1).toLowerCase(), value: b, text };
    }
  } else if (typeof raw === 'object' && raw !== null) {
    const entries = Object.entries(raw);
    if (entries.length === 1 && typeof entries[0][1] === 'string') {
      const [field, value] = entries[0] as [string, string];
      return { op: 'eq', field: field.toLowerCase(), value, text };
    }
  }
  throw PostErrors.invalidPolicy(`Invalid Policy Condition: ${text}`);
}

/**
 * Every condition must hold, and every form field must be named by a condition (except
 * the signature, the file, the policy and `x-ignore-*`). Returns the size range.
 */
export function checkPolicy(
  policy: Policy,
  fields: ReadonlyMap<string, string>,
): { min: number; max: number } {
  let range = { min: 0, max: MAX_PUT_BYTES };
  const named = new Set<string>();
  for (const c of policy.conditions) {
    if (c.op === 'content-length-range') {
      range = { min: c.min, max: c.max };
      continue;
    }
    named.add(c.field);
    const given = fields.get(c.field) ?? '';
    // starts-with on a comma-separated Content-Type applies to each of its values.
    const values =
      c.field === 'content-type' && c.op === 'starts-with' ? given.split(',') : [given];
    const ok = values.every((v) => (c.op === 'eq' ? v === c.value : v.trim().startsWith(c.value)));
    if (!ok) throw PostErrors.policy(`Policy Condition failed: ${c.text.replace(/,/g, ', ')}`);
  }
  for (const name of fields.keys()) {
    if (EXEMPT.has(name) || name.startsWith('x-ignore-') || named.has(name)) continue;
    throw PostErrors.policy(`Extra input fields: ${name}`);
  }
  return range;
}

/** SigV4 for POST: the hex HMAC of the base64 policy with the derived signing key. */
async function checkSignature(
  up: FormUploadRequest,
  fields: ReadonlyMap<string, string>,
  now: number,
): Promise<Credential | undefined> {
  const credential = fields.get('x-amz-credential');
  if (credential === undefined) {
    if (up.strict) throw PostErrors.missingField('x-amz-credential');
    return undefined;
  }
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request')
    throw e('InvalidArgument', 400, 'Invalid credential', {
      ArgumentName: 'x-amz-credential',
      ArgumentValue: credential,
    });
  const [keyId, date, region, service] = parts;
  const found = await up.findCredential(keyId);
  if (!up.strict) return found;
  if (!found) throw PostErrors.unknownKey();
  if ((fields.get('x-amz-algorithm') ?? '') !== 'AWS4-HMAC-SHA256')
    throw PostErrors.missingField('x-amz-algorithm');
  const signature = fields.get('x-amz-signature');
  if (signature === undefined) throw PostErrors.missingField('x-amz-signature');
  const expected = hmacSha256Hex(
    signingKey(found.secretAccessKey, date, region, service),
    fields.get('policy') ?? '',
  );
  if (!constantTimeEqual(signature.toLowerCase(), expected)) throw PostErrors.signature();
  // Temporary credentials (STS) sign with their session token in the form.
  if (found.sessionToken !== undefined) {
    if (fields.get('x-amz-security-token') !== found.sessionToken) throw PostErrors.unknownKey();
    if (found.expiresAt !== undefined && now >= found.expiresAt)
      throw e('ExpiredToken', 400, 'The provided token has expired.');
  }
  return found;
}

/** A flexible checksum the form asks for: verified against `expected` when given. */
interface FormChecksum {
  algorithm: ChecksumAlgorithm;
  expected?: string;
}

/**
 * The form's checksum fields, as PutObject's headers: `x-amz-checksum-<algorithm>` (base64,
 * verified) and `x-amz-checksum-algorithm` (computed and stored).
 */
function formChecksum(fields: ReadonlyMap<string, string>): FormChecksum | undefined {
  const given = CHECKSUM_ALGORITHMS.filter((a) => fields.has(checksumHeader(a)));
  if (given.length > 1) throw PayloadErrors.multipleChecksums();
  const named = fields.get('x-amz-checksum-algorithm');
  let algorithm: ChecksumAlgorithm | undefined = given[0];
  if (named !== undefined) {
    const a = CHECKSUM_ALGORITHMS.find((x) => x === named.toUpperCase());
    if (!a || (algorithm !== undefined && a !== algorithm)) {
      throw e('InvalidRequest', 400, 'Value for x-amz-checksum-algorithm header is invalid.');
    }
    algorithm = a;
  }
  if (algorithm === undefined) return undefined;
  const expected = fields.get(checksumHeader(algorithm));
  if (expected !== undefined && !isDigestOf(algorithm, expected)) {
    throw PayloadErrors.invalidChecksum(checksumHeader(algorithm));
  }
  return { algorithm, expected };
}

const tagXml = new XMLParser({ parseTagValue: false, isArray: (name) => name === 'Tag' });

/**
 * The `tagging` field: "The specified set of tags to add to the object", as the XML
 * `<Tagging><TagSet><Tag><Key>…</Key><Value>…</Value></Tag></TagSet></Tagging>`.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
 */
function formTags(xml: string | undefined): { Key: string; Value: string }[] {
  if (xml === undefined || xml.trim() === '') return [];
  if (XMLValidator.validate(xml) !== true) throw S3Errors.malformedXml();
  const doc = tagXml.parse(xml) as {
    Tagging?: { TagSet?: { Tag?: { Key?: unknown; Value?: unknown }[] } | '' };
  };
  if (doc.Tagging === undefined) throw S3Errors.malformedXml();
  const set = doc.Tagging.TagSet;
  const tags = (set === '' || set === undefined ? [] : (set.Tag ?? [])).map((t) => {
    if (typeof t.Key !== 'string') throw S3Errors.malformedXml();
    return { Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : '' };
  });
  checkTags(tags);
  return tags;
}

/**
 * The file as a checked payload: MD5 (and the form's flexible checksum) on the fly,
 * refused once past the policy's maximum or when the checksum does not match.
 */
class FormFile extends Transform implements CheckedPayload {
  readonly declaredLength = undefined;
  private length = 0;
  private readonly md5 = createHash('md5');
  private readonly digest: RunningDigest | undefined;
  private result: PayloadDigests | undefined;

  constructor(
    private readonly range: { min: number; max: number },
    private readonly checksum: FormChecksum | undefined,
  ) {
    super();
    this.digest = checksum && runningDigest(checksum.algorithm);
  }

  get digests(): PayloadDigests | undefined {
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.length += chunk.length;
    if (this.length > this.range.max) return done(PostErrors.tooLarge(this.range.max));
    this.md5.update(chunk);
    this.digest?.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.length < this.range.min) return done(PostErrors.tooSmall(this.length, this.range.min));
    const md5 = this.md5.digest('hex');
    if (!this.digest || !this.checksum) {
      this.result = { length: this.length, md5, checksums: {} };
      return done();
    }
    const { algorithm, expected } = this.checksum;
    this.digest.digest().then((value) => {
      if (expected !== undefined && value !== expected) {
        return done(PayloadErrors.checksumMismatch(algorithm));
      }
      this.result = { length: this.length, md5, checksums: { [algorithm]: value } };
      done();
    }, done);
  }
}

interface FilePart {
  stream: Readable;
  filename: string;
}

/**
 * Reads the form up to its file: the fields before it (lower-cased names; the first of a
 * repeated name wins) and the file's stream, paused. Fields after the file are ignored.
 */
function readForm(
  req: IncomingMessage,
): Promise<{ fields: Map<string, string>; file?: FilePart; done: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fieldSize: 1024 * 1024, fields: 1000 },
        defParamCharset: 'utf8',
      });
    } catch {
      req.resume();
      reject(PostErrors.malformed());
      return;
    }
    const fields = new Map<string, string>();
    let file: FilePart | undefined;
    const done = new Promise<void>((ok, fail) => {
      parser.on('close', ok);
      parser.on('error', () => fail(PostErrors.malformed()));
    });
    done.catch(() => undefined);
    parser.on('field', (name, value) => {
      const key = name.toLowerCase();
      if (!file && !fields.has(key)) fields.set(key, value);
    });
    parser.on('file', (_name, stream, info) => {
      if (file) {
        stream.resume();
        return;
      }
      file = { stream, filename: info.filename ?? '' };
      resolve({ fields, file, done });
    });
    done.then(
      () => resolve({ fields, file, done }),
      (err: unknown) => reject(err),
    );
    req.pipe(parser);
  });
}

/** What a form upload did, for the request meters (S3Meter.formRequest). */
export interface FormOutcome {
  account: string;
  region: string;
  bucket: string;
  key: string;
  status: number;
  latencyMs: number;
  /** Bytes of the stored object (0 when refused). */
  uploaded: number;
}

/**
 * Handles one form upload; the answer (or an AwsError thrown) is the gateway's to send.
 * `observe` hears of every attempt, refused or not (a POST is a billed request either way).
 */
export async function formUpload(
  deps: S3Deps,
  up: FormUploadRequest,
  observe?: (outcome: FormOutcome) => void,
): Promise<WireResponse> {
  const started = performance.now();
  const outcome: FormOutcome = {
    account: up.defaultAccount,
    region: up.defaultRegion,
    bucket: up.bucket,
    key: '',
    status: 200,
    latencyMs: 0,
    uploaded: 0,
  };
  try {
    const res = await receiveForm(deps, up, outcome);
    outcome.status = res.status;
    return res;
  } catch (err) {
    outcome.status = err instanceof AwsError ? err.status : 500;
    throw err;
  } finally {
    outcome.latencyMs = performance.now() - started;
    observe?.(outcome);
  }
}

async function receiveForm(
  deps: S3Deps,
  up: FormUploadRequest,
  outcome: FormOutcome,
): Promise<WireResponse> {
  const { req } = up;
  let form: Awaited<ReturnType<typeof readForm>>;
  try {
    form = await readForm(req);
  } catch (err) {
    req.unpipe();
    req.resume();
    throw err;
  }
  const { fields, file } = form;
  try {
    // An upload without a policy is anonymous: no bucket here grants anonymous writes.
    if (up.strict && !fields.has('policy')) throw e('AccessDenied', 403, 'Access Denied');
    const credential = await checkSignature(up, fields, deps.now());
    let range = { min: 0, max: MAX_PUT_BYTES };
    const policyText = fields.get('policy');
    if (policyText !== undefined) {
      const policy = parsePolicy(policyText, deps.now());
      range = checkPolicy(policy, new Map([...fields, ['bucket', up.bucket]]));
    }
    const rawKey = fields.get('key');
    if (rawKey === undefined) throw PostErrors.missingField('key');
    if (!file) throw PostErrors.noFile();
    const key = rawKey.replace(/\$\{filename\}/g, file.filename);
    outcome.key = key;
    checkKey(key);
    const account = credential?.account ?? up.defaultAccount;
    outcome.account = account;
    const ctx: RequestContext = {
      requestId: up.requestId,
      account,
      region: up.defaultRegion,
      accessKeyId: credential?.accessKeyId ?? '',
      principal: credential?.principal ?? rootPrincipal(account),
    };
    const refused = await up.authorize(ctx, { Bucket: up.bucket, Key: key });
    if (refused) throw refused;
    const bucket = await requireBucket(deps.store, up.bucket, ctx);
    const acl = requestedAcl(bucket, fields.get('acl'));
    const metadata: Record<string, string> = {};
    for (const [name, value] of fields)
      if (name.startsWith('x-amz-meta-')) metadata[name.slice(11)] = value;
    const tags = formTags(fields.get('tagging'));
    const body = new FormFile(range, formChecksum(fields));
    // Both settle: the size check fails the pipeline, and with it the blob write.
    const [stored] = await Promise.all([storeBody(deps, body), pipeline(file.stream, body)]);
    const record: ObjectRecord = {
      key,
      size: stored.piece.size,
      etag: `"${stored.md5}"`,
      lastModified: deps.now(),
      headers: storedHeaders({
        CacheControl: fields.get('cache-control'),
        ContentDisposition: fields.get('content-disposition'),
        ContentEncoding: fields.get('content-encoding'),
        ContentType: fields.get('content-type') ?? 'binary/octet-stream',
        Expires: fields.get('expires'),
        WebsiteRedirectLocation: fields.get('x-amz-website-redirect-location'),
      }),
      metadata,
      storageClass: (fields.get('x-amz-storage-class') as StorageClass | undefined) ?? 'STANDARD',
      checksums: stored.checksums,
      checksumType: Object.keys(stored.checksums).length ? 'FULL_OBJECT' : undefined,
      content: [stored.piece],
      tags: tags.length ? tags : undefined,
      acl: acl as ObjectCannedACL | undefined,
      ...lockOnWrite(bucket, {}, deps.now()),
    };
    // The whole form parsed (a malformed tail refuses the upload) before the object is kept.
    await form.done;
    await commitObject(deps, bucket, record, ctx, 'ObjectCreated:Post');
    outcome.uploaded = record.size;
    return answer(up, fields, record, shownVersionId(bucket, record));
  } catch (err) {
    // The rest of the upload is read and dropped: the answer follows the request.
    req.unpipe();
    req.resume();
    throw err;
  }
}

/** 204 by default; 200 or 201 (with PostResponse) by success_action_status; 303 to a redirect. */
function answer(
  up: FormUploadRequest,
  fields: ReadonlyMap<string, string>,
  record: ObjectRecord,
  versionId: string | undefined,
): WireResponse {
  const encodedKey = record.key.split('/').map(encodeURIComponent).join('/');
  const location = `${up.bucketUrl}/${encodedKey}`;
  const headers: Record<string, string> = { etag: record.etag, location };
  for (const [algorithm, value] of Object.entries(record.checksums)) {
    headers[checksumHeader(algorithm as ChecksumAlgorithm)] = value;
  }
  if (versionId !== undefined) headers['x-amz-version-id'] = versionId;
  const redirect = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (redirect) {
    let target: URL | undefined;
    try {
      target = new URL(redirect);
    } catch {
      target = undefined;
    }
    if (target) {
      target.searchParams.set('bucket', up.bucket);
      target.searchParams.set('key', record.key);
      target.searchParams.set('etag', record.etag);
      return { status: 303, headers: { ...headers, location: target.toString() }, body: '' };
    }
  }
  const status = fields.get('success_action_status');
  if (status === '200') return { status: 200, headers, body: '' };
  if (status === '201') {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>' +
      `<Location>${escapeXml(location)}</Location><Bucket>${escapeXml(up.bucket)}</Bucket>` +
      `<Key>${escapeXml(record.key)}</Key><ETag>${escapeXml(record.etag)}</ETag></PostResponse>`;
    return { status: 201, headers: { ...headers, 'content-type': 'application/xml' }, body: xml };
  }
  return { status: 204, headers, body: '' };
}

const escapeXml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A form upload: POST to a bucket (path or host style) with a multipart/form-data body. */
export function isFormUpload(method: string, headers: Record<string, string>): boolean {
  return (
    method === 'POST' &&
    (headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data') &&
    headers.authorization === undefined
  );
}
