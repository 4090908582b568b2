/**
 * Smithy RPC v2 CBOR (`smithy-rpc-v2-cbor`): `POST /service/{Service}/operation/{Operation}`
 * with header `smithy-protocol: rpc-v2-cbor` and a CBOR body of the input members (by
 * member name); responses carry the same header. Timestamps are tag 1 (epoch seconds),
 * blobs byte strings, errors a map with `__type` and `message`.
 * https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
 *
 * CBOR itself is @smithy/core's codec (the one the SDKs use); bodies are checked first by
 * cbor-scan.ts so malformed, hostile or too deeply nested CBOR is AWS's
 * SerializationException, never a crash.
 */
import { cbor, tag } from '@smithy/core/cbor';
import { AwsError, CommonErrors } from '../shared/errors.js';
import { cborProblem } from './cbor-scan.js';
import type { OperationModel, ServiceModel, Shape } from './model.js';
import { errorShapeOf, findOperation, isRecord, shapeOf, structMembers } from './shapes.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';

const PATH = /^\/service\/([^/]+)\/operation\/([^/]+)$/;
const CONTENT_TYPE = 'application/cbor';

// ---------------------------------------------------------------------------------------
// Reading: decoded CBOR → model values

interface CborTag {
  tag: number | bigint;
  value: unknown;
}

function isTag(v: unknown): v is CborTag {
  return isRecord(v) && 'tag' in v && 'value' in v && Object.getOwnPropertySymbols(v).length > 0;
}

function mismatch(shape: Shape, what: string): AwsError {
  return CommonErrors.serialization(`Expected ${shape.type} but found ${what}`);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'byte string';
  if (isTag(v)) return `tag ${String(v.tag)}`;
  if (v === null) return 'null';
  return typeof v === 'object' ? 'map' : typeof v;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

export function readCborValue(v: unknown, shape: Shape, model: ServiceModel): unknown {
  switch (shape.type) {
    case 'structure': {
      if (shape.document) return v;
      if (!isRecord(v) || isTag(v)) throw mismatch(shape, describe(v));
      return readCborStruct(v, shape, model);
    }
    case 'list': {
      if (!Array.isArray(v)) throw mismatch(shape, describe(v));
      const ms = shapeOf(model, shape.member!.shape);
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++)
        out[i] = v[i] === null ? null : readCborValue(v[i], ms, model);
      return out;
    }
    case 'map': {
      if (!isRecord(v) || isTag(v)) throw mismatch(shape, describe(v));
      const vs = shapeOf(model, shape.value!.shape);
      const out: Struct = {};
      for (const k of Object.keys(v)) {
        if (v[k] !== null) out[k] = readCborValue(v[k], vs, model);
      }
      return out;
    }
    case 'string':
      if (typeof v !== 'string') throw mismatch(shape, describe(v));
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw mismatch(shape, describe(v));
      return v;
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'bigInteger': {
      const n = toNumber(v);
      if (n === undefined) throw mismatch(shape, describe(v));
      return Number.isInteger(n) ? n : Math.trunc(n);
    }
    case 'float':
    case 'double':
    case 'bigDecimal': {
      const n = toNumber(v);
      if (n === undefined) throw mismatch(shape, describe(v));
      return n;
    }
    case 'timestamp': {
      const seconds = isTag(v) && Number(v.tag) === 1 ? toNumber(v.value) : toNumber(v);
      if (seconds === undefined || !Number.isFinite(seconds)) throw mismatch(shape, describe(v));
      const d = new Date(Math.round(seconds * 1000));
      if (Number.isNaN(d.getTime())) throw CommonErrors.serialization('Invalid timestamp');
      return d;
    }
    case 'blob':
      if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (typeof v === 'string') return Buffer.from(v, 'utf8');
      throw mismatch(shape, describe(v));
  }
}

/** A new object with the modelled members only (a decoded map's other keys are dropped). */
function readCborStruct(v: Record<string, unknown>, shape: Shape, model: ServiceModel): Struct {
  const out: Struct = {};
  for (const m of structMembers(model, shape)) {
    if (!Object.hasOwn(v, m.name)) continue;
    const raw = v[m.name];
    if (raw === null || raw === undefined) continue;
    out[m.name] = readCborValue(raw, m.shape, model);
  }
  return out;
}

/** Decodes a request body (empty = `{}`); bad CBOR is a SerializationException. */
export function parseCborDocument(body: Uint8Array): unknown {
  const problem = cborProblem(body);
  if (problem) throw CommonErrors.serialization(`Invalid CBOR: ${problem}`);
  try {
    return cbor.deserialize(body) as unknown;
  } catch (err) {
    throw CommonErrors.serialization(`Invalid CBOR: ${err instanceof Error ? err.message : ''}`);
  }
}

// ---------------------------------------------------------------------------------------
// Writing: model values → a CBOR-ready tree

export function writeCborValue(v: unknown, shapeName: string, model: ServiceModel): unknown {
  const shape = shapeOf(model, shapeName);
  switch (shape.type) {
    case 'structure':
      if (shape.document || !isRecord(v)) return v;
      return writeCborStruct(v, shape, model);
    case 'list': {
      if (!Array.isArray(v)) return v;
      const m = shape.member!.shape;
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = writeCborValue(v[i], m, model);
      return out;
    }
    case 'map': {
      if (!isRecord(v)) return v;
      const m = shape.value!.shape;
      const out: Struct = {};
      for (const k of Object.keys(v)) {
        if (v[k] !== undefined && v[k] !== null) out[k] = writeCborValue(v[k], m, model);
      }
      return out;
    }
    case 'timestamp':
      return v instanceof Date ? tag({ tag: 1, value: v.getTime() / 1000 }) : v;
    case 'blob':
      return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    default:
      return v;
  }
}

function writeCborStruct(v: Record<string, unknown>, shape: Shape, model: ServiceModel): Struct {
  const out: Struct = {};
  for (const m of structMembers(model, shape)) {
    const val = v[m.name];
    if (val === undefined || val === null) continue;
    out[m.name] = writeCborValue(val, m.ref.shape, model);
  }
  return out;
}

function encode(doc: unknown): Buffer {
  const bytes = cbor.serialize(doc);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------------------
// The codec

/** Services that moved from query keep their query error codes in a header. */
function isQueryCompatible(model: ServiceModel): boolean {
  return (model.metadata as { awsQueryCompatible?: unknown }).awsQueryCompatible !== undefined;
}

export const rpcV2CborCodec: ProtocolCodec = {
  resolveOperation(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
    const m = PATH.exec(req.path);
    if (!m || req.method !== 'POST') {
      return CommonErrors.unknownOperation(
        `Expected POST /service/<Service>/operation/<Operation>, got ${req.method} ${req.path}`,
      );
    }
    // Operation names are plain identifiers: an escape in one (valid or not) names none.
    const op = m[2].includes('%') ? undefined : findOperation(model, m[2]);
    return op ?? CommonErrors.unknownOperation(`Operation ${m[2]} is not supported.`);
  },

  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct {
    if (req.body.length === 0 || !op.input) return {};
    const doc = parseCborDocument(req.body);
    const shape = shapeOf(model, op.input.shape);
    if (!isRecord(doc) || isTag(doc)) throw mismatch(shape, describe(doc));
    return readCborStruct(doc, shape, model);
  },

  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse {
    const doc = op.output ? writeCborValue(output, op.output.shape, model) : {};
    return {
      status: 200,
      headers: {
        'Content-Type': CONTENT_TYPE,
        'smithy-protocol': 'rpc-v2-cbor',
        'x-amzn-RequestId': ctx.requestId,
      },
      body: encode(doc),
    };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const info = errorShapeOf(model, err);
    const doc: Struct = {
      __type: info ? `${namespaceOf(model)}#${info.name}` : err.code,
      message: err.message,
    };
    if (info) {
      for (const m of structMembers(model, info.shape)) {
        if (m.name.toLowerCase() === 'message') continue;
        const val = err.fields[m.name];
        if (val !== undefined && val !== null)
          doc[m.name] = writeCborValue(val, m.ref.shape, model);
      }
    }
    const headers: Record<string, string> = {
      'Content-Type': CONTENT_TYPE,
      'smithy-protocol': 'rpc-v2-cbor',
      'x-amzn-RequestId': ctx.requestId,
    };
    // https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait
    if (isQueryCompatible(model)) {
      headers['x-amzn-query-error'] = `${err.code};${err.senderFault ? 'Sender' : 'Receiver'}`;
    }
    return { status: err.status, headers, body: encode(doc) };
  },
};

/** The Smithy namespace of the service's shapes (`com.amazonaws.cloudwatch`). */
function namespaceOf(model: ServiceModel): string {
  return `com.amazonaws.${model.metadata.serviceId.toLowerCase().replace(/ /g, '')}`;
}
