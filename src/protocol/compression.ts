/**
 * Request compression (the model's `requestcompression` trait: CloudWatch's PutMetricData
 * says "You can send a payload compressed by gzip"). The SDKs gzip such bodies past 10 KB
 * and send `Content-Encoding: gzip`; the signature covers the compressed bytes, which the
 * gateway checks before this decodes them.
 * https://smithy.io/2.0/spec/behavior-traits.html#requestcompression-trait
 */
import { gunzipSync } from 'node:zlib';
import { AwsError, CommonErrors } from '../shared/errors.js';
import type { ServiceModel } from './model.js';

const compressible = new WeakMap<ServiceModel, boolean>();

/** Whether any operation of the service accepts gzip request bodies. */
function acceptsGzip(model: ServiceModel): boolean {
  let yes = compressible.get(model);
  if (yes === undefined) {
    yes = Object.values(model.operations).some((op) =>
      op.requestcompression?.encodings.includes('gzip'),
    );
    compressible.set(model, yes);
  }
  return yes;
}

/**
 * The body as the codec must read it: gunzipped when the service takes compressed requests
 * and the request says `Content-Encoding: gzip`, else unchanged. A body that does not
 * decompress, or decompresses past `limit`, is refused.
 */
export function decompressRequest(
  model: ServiceModel,
  headers: Record<string, string>,
  body: Buffer,
  limit: number,
): Buffer {
  const encoding = headers['content-encoding'];
  if (!encoding || !acceptsGzip(model) || !/(^|,)\s*gzip\s*(,|$)/i.test(encoding)) return body;
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw CommonErrors.payloadTooLarge(limit);
    }
    throw err instanceof AwsError
      ? err
      : CommonErrors.serialization('The request body could not be decompressed (gzip)');
  }
}
