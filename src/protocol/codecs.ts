/**
 * The codec for a service: the first protocol in the model's `protocols` list that
 * Stratus speaks (botocore and the SDKs pick the same way), else `protocol`.
 * Services that list several (CloudWatch: smithy-rpc-v2-cbor, json, query) can also be
 * answered in whichever of them a request uses: see codecForRequest.
 */
import { ec2Codec, queryCodec } from './query.js';
import { jsonCodec } from './json.js';
import type { ProtocolName, ServiceModel } from './model.js';
import { restJsonCodec } from './rest-json.js';
import { restXmlCodec } from './rest-xml.js';
import type { ProtocolCodec, WireRequest } from './types.js';

export const codecs: Partial<Record<ProtocolName, ProtocolCodec>> = {
  json: jsonCodec,
  'rest-json': restJsonCodec,
  query: queryCodec,
  ec2: ec2Codec,
  'rest-xml': restXmlCodec,
};

const chosen = new WeakMap<ServiceModel, ProtocolCodec>();

export function codecFor(model: ServiceModel): ProtocolCodec {
  let codec = chosen.get(model);
  if (codec) return codec;
  for (const p of model.metadata.protocols ?? [model.metadata.protocol]) {
    codec = codecs[p];
    if (codec) break;
  }
  codec ??= codecs[model.metadata.protocol];
  if (!codec) {
    throw new Error(
      `${model.metadata.serviceId}: no supported protocol in ${String(model.metadata.protocols)}`,
    );
  }
  chosen.set(model, codec);
  return codec;
}

/**
 * For services with several protocols, the one this request speaks: `X-Amz-Target`
 * means JSON, a form body or an `Action` parameter means query. Falls back to codecFor.
 */
export function codecForRequest(model: ServiceModel, req: WireRequest): ProtocolCodec {
  const protocols = model.metadata.protocols;
  if (!protocols || protocols.length < 2) return codecFor(model);
  if (protocols.includes('json') && req.headers['x-amz-target']) return jsonCodec;
  if (
    protocols.includes('query') &&
    ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ||
      req.query.has('Action'))
  ) {
    return queryCodec;
  }
  return codecFor(model);
}
