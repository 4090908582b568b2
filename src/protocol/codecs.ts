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
import { rpcV2CborCodec } from './rpc-v2-cbor.js';
import type { ProtocolCodec, WireRequest } from './types.js';

export const codecs: Partial<Record<ProtocolName, ProtocolCodec>> = {
  json: jsonCodec,
  'rest-json': restJsonCodec,
  query: queryCodec,
  ec2: ec2Codec,
  'rest-xml': restXmlCodec,
  'smithy-rpc-v2-cbor': rpcV2CborCodec,
};

const chosen = new WeakMap<ServiceModel, ProtocolName>();

/** The protocol a service is answered in by default. */
export function protocolFor(model: ServiceModel): ProtocolName {
  let protocol = chosen.get(model);
  if (protocol) return protocol;
  protocol = (model.metadata.protocols ?? [model.metadata.protocol]).find((p) => codecs[p]);
  protocol ??= model.metadata.protocol;
  if (!codecs[protocol]) {
    throw new Error(
      `${model.metadata.serviceId}: no supported protocol in ${String(model.metadata.protocols)}`,
    );
  }
  chosen.set(model, protocol);
  return protocol;
}

export function codecFor(model: ServiceModel): ProtocolCodec {
  return codecs[protocolFor(model)] as ProtocolCodec;
}

/**
 * For services with several protocols, the one this request speaks: `smithy-protocol:
 * rpc-v2-cbor` means CBOR, `X-Amz-Target` means JSON, a form body or an `Action` parameter
 * means query. Falls back to protocolFor.
 * Reads only headers and query string, so errors raised before the body is read (a bad
 * signature, a body too large) are answered in the request's protocol too.
 */
export function protocolForRequest(
  model: ServiceModel,
  req: Pick<WireRequest, 'headers' | 'query'>,
): ProtocolName {
  const protocols = model.metadata.protocols;
  if (!protocols || protocols.length < 2) return protocolFor(model);
  if (
    protocols.includes('smithy-rpc-v2-cbor') &&
    req.headers['smithy-protocol'] === 'rpc-v2-cbor'
  ) {
    return 'smithy-rpc-v2-cbor';
  }
  if (protocols.includes('json') && req.headers['x-amz-target']) return 'json';
  if (
    protocols.includes('query') &&
    ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ||
      req.query.has('Action'))
  ) {
    return 'query';
  }
  return protocolFor(model);
}

export function codecForRequest(
  model: ServiceModel,
  req: Pick<WireRequest, 'headers' | 'query'>,
): ProtocolCodec {
  return codecs[protocolForRequest(model, req)] as ProtocolCodec;
}
