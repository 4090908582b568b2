/**
 * Test support: an SDK v3 `requestHandler` that hands the SDK's own request bytes to our
 * codecs and returns our response bytes to the SDK, with no network in between. The
 * codec pipeline is the real one (resolve → parse → validate → serialize); only the
 * provider is the test's function. Used by the protocol unit tests (src/protocol/*.test.ts).
 */
import { Readable } from 'node:stream';
import { HttpResponse } from '@smithy/core/protocols';
import type { HttpRequest } from '@smithy/types';
import { AwsError } from '../../src/shared/errors.js';
import { codecFor } from '../../src/protocol/codecs.js';
import type { OperationModel, ServiceModel } from '../../src/protocol/model.js';
import type { Struct, WireRequest, WireResponse } from '../../src/protocol/types.js';
import { validate, validationError } from '../../src/protocol/validate.js';

export type Provider = (op: OperationModel, input: Struct) => Struct | Promise<Struct>;

export interface Exchange {
  wire: WireRequest;
  op?: OperationModel;
  input?: Struct;
  response: WireResponse;
}

export function toWireRequest(request: HttpRequest): WireRequest {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(request.query ?? {})) {
    if (v === null || v === undefined) query.append(k, '');
    else if (Array.isArray(v)) for (const x of v) query.append(k, x);
    else query.append(k, v);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
  const body: unknown = request.body;
  return {
    method: request.method,
    path: request.path,
    rawQuery: query.toString(),
    query,
    headers,
    body:
      typeof body === 'string'
        ? Buffer.from(body)
        : body instanceof Uint8Array
          ? Buffer.from(body)
          : Buffer.alloc(0),
  };
}

/** Runs one request through the codec pipeline the gateway uses. */
export async function exchange(
  wire: WireRequest,
  model: ServiceModel,
  provider: Provider,
): Promise<Exchange> {
  const codec = codecFor(model);
  const ctx = { requestId: 'a1b2c3d4-0000-4000-8000-000000000001' };
  const resolved = codec.resolveOperation(wire, model);
  if (resolved instanceof AwsError)
    return { wire, response: codec.serializeError(resolved, model, ctx) };
  const op = resolved;
  let input: Struct | undefined;
  try {
    input = codec.parseInput(wire, op, model);
    if (op.input) {
      const violations = validate(input, op.input.shape, model);
      if (violations.length) throw validationError(violations, model);
    }
    const output = await provider(op, input);
    return { wire, op, input, response: codec.serializeOutput(output, op, model, ctx) };
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    return { wire, op, input, response: codec.serializeError(e, model, ctx) };
  }
}

/** An SDK client `requestHandler` that records every exchange. */
export function loopback(model: ServiceModel, provider: Provider) {
  const exchanges: Exchange[] = [];
  const requestHandler = {
    async handle(request: HttpRequest) {
      const ex = await exchange(toWireRequest(request), model, provider);
      exchanges.push(ex);
      const body = ex.response.body;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(ex.response.headers)) headers[k.toLowerCase()] = v;
      return {
        response: new HttpResponse({
          statusCode: ex.response.status,
          headers,
          body:
            body instanceof Readable
              ? body
              : Readable.from(
                  body.length ? [typeof body === 'string' ? Buffer.from(body) : body] : [],
                ),
        }),
      };
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
  };
  return { requestHandler, exchanges };
}

export const testCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
