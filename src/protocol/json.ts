/**
 * AWS JSON 1.0 / 1.1 (`X-Amz-Target: <targetPrefix>.<Operation>`, body = input members):
 * https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 * The value conversions here (epoch-second timestamps, base64 blobs) are shared with
 * rest-json, whose bodies use the same JSON document format.
 */
import { AwsError, CommonErrors } from '../shared/errors.js';
import { MAX_NESTING_DEPTH, jsonTooDeep } from './depth.js';
import { EVENT_STREAM_CONTENT_TYPE, encodeEventStream, eventStreamOutput } from './event-stream.js';
import type { OperationModel, ServiceModel, Shape, ShapeRef } from './model.js';
import {
  errorShapeOf,
  findOperation,
  isRecord,
  jsonNeedsWalk,
  messageMember,
  shapeOf,
  structMembers,
} from './shapes.js';
import { formatTimestamp, parseTimestamp, timestampFormatOf } from './timestamps.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';

// ---------------------------------------------------------------------------------------
// Reading: JSON.parse output → model values (in place where the wire and model keys agree)

/** Coral's wording for a JSON token of the wrong type, e.g. `STRING_VALUE can not be converted to an Integer`. */
function mismatch(v: unknown, shape: Shape): AwsError {
  if (Array.isArray(v)) return CommonErrors.serialization('Start of list found where not expected');
  if (typeof v === 'object' && v !== null) {
    return CommonErrors.serialization('Start of structure or map found where not expected.');
  }
  const token =
    typeof v === 'string'
      ? 'STRING_VALUE'
      : typeof v === 'number'
        ? 'NUMBER_VALUE'
        : v === true
          ? 'TRUE_VALUE'
          : 'FALSE_VALUE';
  return CommonErrors.serialization(`${token} can not be converted to ${javaTypeName(shape)}`);
}

export function javaTypeName(shape: Shape): string {
  switch (shape.type) {
    case 'integer':
      return 'an Integer';
    case 'long':
      return 'a Long';
    case 'short':
      return 'a Short';
    case 'byte':
      return 'a Byte';
    case 'float':
      return 'a Float';
    case 'double':
      return 'a Double';
    // Sic: AWS says "an Boolean".
    case 'boolean':
      return 'an Boolean';
    case 'timestamp':
      return 'a Date';
    case 'blob':
      return 'a ByteBuffer';
    case 'string':
      return 'a String';
    case 'list':
      return 'a List';
    case 'map':
      return 'a Map';
    default:
      return 'a Structure';
  }
}

const FLOAT_WORDS: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
};

/**
 * Checks and converts one decoded JSON value against its shape. Structures whose members
 * keep their names are converted in place (no copies); `null` members count as absent.
 */
export function readJsonValue(
  v: unknown,
  shape: Shape,
  ref: ShapeRef | undefined,
  model: ServiceModel,
): unknown {
  switch (shape.type) {
    case 'structure': {
      if (shape.document) return v;
      if (!isRecord(v)) throw mismatch(v, shape);
      return readJsonStruct(v, shape, model, false);
    }
    case 'list': {
      if (!Array.isArray(v)) throw mismatch(v, shape);
      const ms = shapeOf(model, shape.member!.shape);
      for (let i = 0; i < v.length; i++) {
        if (v[i] !== null) v[i] = readJsonValue(v[i], ms, shape.member, model);
      }
      return v;
    }
    case 'map': {
      if (!isRecord(v)) throw mismatch(v, shape);
      const vs = shapeOf(model, shape.value!.shape);
      for (const k of Object.keys(v)) {
        if (v[k] !== null) v[k] = readJsonValue(v[k], vs, shape.value, model);
      }
      return v;
    }
    case 'string':
      if (typeof v !== 'string') throw mismatch(v, shape);
      if (ref?.jsonvalue) {
        try {
          return JSON.parse(v) as unknown;
        } catch {
          throw CommonErrors.serialization('Malformed JSON value');
        }
      }
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw mismatch(v, shape);
      return v;
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'bigInteger':
      if (typeof v !== 'number') throw mismatch(v, shape);
      return Number.isInteger(v) ? v : Math.trunc(v);
    case 'float':
    case 'double':
    case 'bigDecimal':
      if (typeof v === 'number') return v;
      if (typeof v === 'string' && Object.hasOwn(FLOAT_WORDS, v)) return FLOAT_WORDS[v];
      throw mismatch(v, shape);
    case 'timestamp': {
      if (typeof v !== 'number' && typeof v !== 'string') throw mismatch(v, shape);
      const d = parseTimestamp(v);
      if (!d) throw CommonErrors.serialization(`Invalid timestamp: ${String(v)}`);
      return d;
    }
    case 'blob':
      if (typeof v !== 'string') throw mismatch(v, shape);
      return Buffer.from(v, 'base64');
  }
}

const renamedCache = new WeakMap<Shape, boolean>();

/** Whether any body member of the structure has a JSON name other than its model name. */
function hasRenamed(shape: Shape, model: ServiceModel): boolean {
  let r = renamedCache.get(shape);
  if (r === undefined) {
    r = structMembers(model, shape).some((m) => m.renamed);
    renamedCache.set(shape, r);
  }
  return r;
}

/** Converts the members of a decoded JSON object; `skipBound` leaves out HTTP-bound members. */
export function readJsonStruct(
  v: Record<string, unknown>,
  shape: Shape,
  model: ServiceModel,
  skipBound: boolean,
): Struct {
  const inPlace = !skipBound && !hasRenamed(shape, model);
  const out: Struct = inPlace ? v : {};
  for (const m of structMembers(model, shape)) {
    if (skipBound && m.ref.location) continue;
    const raw = v[m.wire];
    if (raw === undefined) continue;
    // JSON values are never functions: that is Object.prototype answering for `toString`.
    if (raw === null || typeof raw === 'function') {
      if (inPlace && raw === null) delete out[m.wire];
      continue;
    }
    out[m.name] = readJsonValue(raw, m.shape, m.ref, model);
  }
  return out;
}

/** JSON.parse of a body; malformed JSON is AWS's SerializationException. */
export function parseJsonDocument(body: Buffer): unknown {
  if (jsonTooDeep(body)) {
    throw CommonErrors.serialization(
      `The request body nests deeper than the maximum allowed (${MAX_NESTING_DEPTH} levels)`,
    );
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw CommonErrors.serialization('The request body is not valid JSON');
  }
}

/** Parses a JSON body (empty = `{}`) into the members of `shape`. */
export function parseJsonBody(
  body: Buffer,
  shape: Shape | undefined,
  model: ServiceModel,
  skipBound: boolean,
): Struct {
  if (body.length === 0) return {};
  const doc = parseJsonDocument(body);
  if (!isRecord(doc)) {
    throw CommonErrors.serialization(
      Array.isArray(doc)
        ? 'Start of list found where not expected'
        : 'Unexpected token where a structure was expected',
    );
  }
  if (!shape) return {};
  return readJsonStruct(doc, shape, model, skipBound);
}

// ---------------------------------------------------------------------------------------
// Writing: model values → a JSON-ready tree (shared by reference where nothing changes)

/** A model value ready for JSON.stringify: timestamps as epoch seconds, blobs base64. */
export function writeJsonValue(
  v: unknown,
  shapeName: string,
  ref: ShapeRef | undefined,
  model: ServiceModel,
): unknown {
  if (!ref?.jsonvalue && !jsonNeedsWalk(model, shapeName)) return v;
  const shape = shapeOf(model, shapeName);
  switch (shape.type) {
    case 'structure':
      return isRecord(v) ? writeJsonStruct(v, shape, model, false) : v;
    case 'list': {
      if (!Array.isArray(v)) return v;
      const mref = shape.member!;
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) out[i] = writeJsonValue(v[i], mref.shape, mref, model);
      return out;
    }
    case 'map': {
      if (!isRecord(v)) return v;
      const vref = shape.value!;
      const out: Struct = {};
      for (const k of Object.keys(v)) out[k] = writeJsonValue(v[k], vref.shape, vref, model);
      return out;
    }
    case 'timestamp':
      return v instanceof Date
        ? formatTimestamp(v, timestampFormatOf(ref, shape, 'unixTimestamp'))
        : v;
    case 'blob':
      return toBase64(v);
    case 'string':
      return ref?.jsonvalue && typeof v !== 'string' ? JSON.stringify(v) : v;
    default:
      return v;
  }
}

export function toBase64(v: unknown): unknown {
  if (v instanceof Uint8Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'string') return Buffer.from(v, 'utf8').toString('base64');
  return v;
}

/** The JSON object for a structure; `skipBound` leaves out HTTP-bound (rest) members. */
export function writeJsonStruct(
  v: Record<string, unknown>,
  shape: Shape,
  model: ServiceModel,
  skipBound: boolean,
): Struct {
  const out: Struct = {};
  for (const m of structMembers(model, shape)) {
    if (skipBound && m.ref.location) continue;
    const val = v[m.name];
    if (val === undefined || val === null) continue;
    out[m.wire] = writeJsonValue(val, m.ref.shape, m.ref, model);
  }
  return out;
}

/** JSON text for an output structure; plain structures go straight to JSON.stringify. */
export function stringifyOutput(output: Struct, shapeName: string, model: ServiceModel): string {
  if (!jsonNeedsWalk(model, shapeName)) return JSON.stringify(output);
  return JSON.stringify(writeJsonStruct(output, shapeOf(model, shapeName), model, false));
}

// ---------------------------------------------------------------------------------------
// Errors

/**
 * The JSON error document shared by json and rest-json: the message under the member name
 * the error shape uses (`message` or `Message`; both SDKs read either), then the other
 * members of the error shape from `err.fields`. `__type` carries the shape name, which is
 * what SDK v3 and botocore match exceptions by.
 */
export function jsonErrorDocument(
  err: AwsError,
  model: ServiceModel,
  withType: boolean,
  skipBound: boolean,
): Struct {
  const info = errorShapeOf(model, err);
  const doc: Struct = {};
  if (withType) doc.__type = info?.name ?? err.code;
  const msgKey = messageMember(model, info?.shape);
  doc[msgKey] = err.message;
  if (info) {
    for (const m of structMembers(model, info.shape)) {
      if (m.wire === msgKey || (skipBound && m.ref.location)) continue;
      const val = err.fields[m.name];
      if (val === undefined || val === null) continue;
      doc[m.wire] = writeJsonValue(val, m.ref.shape, m.ref, model);
    }
  } else {
    for (const [k, val] of Object.entries(err.fields)) {
      if (val !== undefined && val !== null && !(k in doc)) doc[k] = val;
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------
// The codec

/** The output's members other than its event stream (the `initial-response` event). */
function initialMembers(output: Struct, events: unknown): Struct {
  const rest: Struct = {};
  for (const [k, v] of Object.entries(output)) if (v !== events && v !== undefined) rest[k] = v;
  return rest;
}

function contentType(model: ServiceModel): string {
  return `application/x-amz-json-${model.metadata.jsonVersion ?? '1.0'}`;
}

/** Services that moved from query to JSON keep their query error codes in a header. */
function isQueryCompatible(model: ServiceModel): boolean {
  return (model.metadata as { awsQueryCompatible?: unknown }).awsQueryCompatible !== undefined;
}

export const jsonCodec: ProtocolCodec = {
  resolveOperation(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
    const target = req.headers['x-amz-target'];
    if (!target) return CommonErrors.unknownOperation('Missing X-Amz-Target header');
    const dot = target.lastIndexOf('.');
    const op =
      dot > 0 && target.slice(0, dot) === model.metadata.targetPrefix
        ? findOperation(model, target.slice(dot + 1))
        : undefined;
    return op ?? CommonErrors.unknownOperation(`Operation ${target} is not supported.`);
  },

  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct {
    const shape = op.input ? shapeOf(model, op.input.shape) : undefined;
    return parseJsonBody(req.body, shape, model, false);
  },

  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse {
    const stream = op.output && eventStreamOutput(output, op.output.shape, model);
    if (stream) {
      // The whole body is the event stream (StartLiveTail's responseStream).
      return {
        status: 200,
        headers: { 'Content-Type': EVENT_STREAM_CONTENT_TYPE, 'x-amzn-RequestId': ctx.requestId },
        body: encodeEventStream(
          stream.events,
          stream.union,
          model,
          (value, shape) =>
            Buffer.from(JSON.stringify(writeJsonValue(value, shape, undefined, model))),
          Buffer.from(JSON.stringify(initialMembers(output, stream.events))),
        ),
      };
    }
    const body = op.output ? stringifyOutput(output, op.output.shape, model) : '{}';
    return {
      status: 200,
      headers: { 'Content-Type': contentType(model), 'x-amzn-RequestId': ctx.requestId },
      body,
    };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const doc = jsonErrorDocument(err, model, true, false);
    const headers: Record<string, string> = {
      'Content-Type': contentType(model),
      'x-amzn-RequestId': ctx.requestId,
      'x-amzn-ErrorType': String(doc.__type),
    };
    // https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#aws-protocols-awsquerycompatible-trait
    if (isQueryCompatible(model)) {
      headers['x-amzn-query-error'] = `${err.code};${err.senderFault ? 'Sender' : 'Receiver'}`;
    }
    return { status: err.status, headers, body: JSON.stringify(doc) };
  },
};
