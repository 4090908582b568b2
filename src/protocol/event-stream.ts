/**
 * The `application/vnd.amazon.eventstream` message framing of event-stream outputs
 * (Lambda's InvokeWithResponseStream, CloudWatch Logs' StartLiveTail; the SDKs'
 * event-stream codec reads it):
 *   total length (uint32) | headers length (uint32) | prelude CRC32 (uint32)
 *   headers: name length (uint8) name, value type (uint8, 7 = string), length (uint16) value
 *   payload | message CRC32 (uint32)        — all big-endian
 * https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream
 */
import { Readable } from 'node:stream';
import type { ServiceModel, Shape } from './model.js';

const STRING_TYPE = 7;

/** CRC-32 (IEEE). node:zlib has crc32 only from Node 20.15; this serves every Node 20. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let headersLength = 0;
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(value, 'utf8');
    const h = Buffer.allocUnsafe(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(STRING_TYPE, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    parts.push(h);
    headersLength += h.length;
  }
  const total = 12 + headersLength + payload.length + 4;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headersLength, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  let at = 12;
  for (const h of parts) {
    h.copy(out, at);
    at += h.length;
  }
  payload.copy(out, at);
  at += payload.length;
  out.writeUInt32BE(crc32(out.subarray(0, at)), at);
  return out;
}

/** An event of the stream (`:message-type` event). */
export function eventMessage(eventType: string, contentType: string, payload: Buffer): Buffer {
  return encodeMessage(
    { ':event-type': eventType, ':content-type': contentType, ':message-type': 'event' },
    payload,
  );
}

/** An error of the stream (`:message-type` exception), e.g. Logs' SessionTimeoutException. */
export function exceptionMessage(exceptionType: string, payload: Buffer): Buffer {
  return encodeMessage(
    {
      ':exception-type': exceptionType,
      ':content-type': 'application/json',
      ':message-type': 'exception',
    },
    payload,
  );
}

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

/**
 * The output member whose shape carries the model's `eventstream` trait (a union of event
 * and exception structures), when the provider answered it with an AsyncIterable.
 */
export function eventStreamOutput(
  output: Record<string, unknown>,
  shapeName: string,
  model: ServiceModel,
): { events: AsyncIterable<Record<string, unknown>>; union: Shape } | undefined {
  const shape = model.shapes[shapeName];
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    const union = model.shapes[ref.shape];
    const value = output[name];
    if (union?.eventstream && isAsyncIterable(value)) return { events: value, union };
  }
  return undefined;
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/**
 * Frames each event (`{ <member>: <structure> }`) as a message: events carry the member name
 * in `:event-type`, exceptions in `:exception-type`; `payload` writes the structure's body.
 * RPC protocols (awsJson) first send the output's other members as an `initial-response`
 * event, which botocore requires ("First event was not of the initial-response type").
 * Destroying the stream (the client went away) ends the provider's iterator.
 */
export function encodeEventStream(
  events: AsyncIterable<Record<string, unknown>>,
  union: Shape,
  model: ServiceModel,
  payload: (value: unknown, shapeName: string) => Buffer,
  initialResponse?: Buffer,
): Readable {
  async function* frames(): AsyncGenerator<Buffer> {
    if (initialResponse)
      yield eventMessage('initial-response', 'application/json', initialResponse);
    for await (const event of events) {
      for (const [name, value] of Object.entries(event)) {
        const ref = union.members?.[name];
        if (!ref || value === undefined) continue;
        const body = payload(value, ref.shape);
        yield model.shapes[ref.shape]?.exception
          ? exceptionMessage(name, body)
          : eventMessage(name, 'application/json', body);
      }
    }
  }
  return Readable.from(frames(), { objectMode: false });
}

export interface DecodedMessage {
  headers: Record<string, string>;
  payload: Buffer;
}

/** Splits a buffer of messages (tests; checks both CRCs). */
export function decodeMessages(buf: Buffer): DecodedMessage[] {
  const out: DecodedMessage[] = [];
  let at = 0;
  while (at < buf.length) {
    const total = buf.readUInt32BE(at);
    const headersLength = buf.readUInt32BE(at + 4);
    if (crc32(buf.subarray(at, at + 8)) !== buf.readUInt32BE(at + 8)) {
      throw new Error('prelude CRC mismatch');
    }
    if (crc32(buf.subarray(at, at + total - 4)) !== buf.readUInt32BE(at + total - 4)) {
      throw new Error('message CRC mismatch');
    }
    const headers: Record<string, string> = {};
    let h = at + 12;
    const end = h + headersLength;
    while (h < end) {
      const nameLength = buf.readUInt8(h);
      const name = buf.toString('utf8', h + 1, h + 1 + nameLength);
      const type = buf.readUInt8(h + 1 + nameLength);
      if (type !== STRING_TYPE) throw new Error(`unsupported header type ${type}`);
      const valueLength = buf.readUInt16BE(h + 2 + nameLength);
      headers[name] = buf.toString('utf8', h + 4 + nameLength, h + 4 + nameLength + valueLength);
      h += 4 + nameLength + valueLength;
    }
    out.push({ headers, payload: buf.subarray(end, at + total - 4) });
    at += total;
  }
  return out;
}
