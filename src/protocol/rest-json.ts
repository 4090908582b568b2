/**
 * AWS restJson1 (Lambda, API Gateway, Batch, EKS, Scheduler, ...):
 * https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html
 * Members bound to the URI, query string and headers; the rest (or the payload member)
 * is the JSON body. Errors: `x-amzn-ErrorType: <Code>` and `{"message": "..."}`.
 */
import { AwsError, CommonErrors } from '../shared/errors.js';
import {
  javaTypeName,
  jsonErrorDocument,
  parseJsonBody,
  parseJsonDocument,
  readJsonValue,
  writeJsonStruct,
  writeJsonValue,
} from './json.js';
import type { OperationModel, ServiceModel } from './model.js';
import {
  bindingPlan,
  bindsHeader,
  readBoundMembers,
  resolveRoute,
  writeBoundMembers,
} from './rest-bindings.js';
import { BadValue } from './scalars.js';
import { errorShapeOf, isRecord, jsonNeedsWalk, shapeOf } from './shapes.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';

/** A bound member whose text does not fit its type, in Coral's words. */
function badValue(e: BadValue): AwsError {
  return CommonErrors.serialization(
    `STRING_VALUE can not be converted to ${javaTypeName(e.shape)}`,
  );
}

export const restJsonCodec: ProtocolCodec = {
  resolveOperation(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
    const r = resolveRoute(req, model);
    if (r.op) return r.op;
    return new AwsError(
      'UnknownOperationException',
      404,
      true,
      `No operation matches ${req.method} ${req.path}`,
    );
  },

  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct {
    if (!op.input) return {};
    const shape = shapeOf(model, op.input.shape);
    const plan = bindingPlan(shape, model);
    if (!plan.hasBindings) return parseJsonBody(req.body, shape, model, false);
    const input: Struct = {};
    try {
      readBoundMembers(req, op, shape, model, input);
    } catch (e) {
      throw e instanceof BadValue ? badValue(e) : e;
    }
    const p = plan.payload;
    if (p) {
      if (req.body.length === 0) return input;
      if (p.shape.type === 'blob') input[p.name] = req.body;
      else if (p.shape.type === 'string') input[p.name] = req.body.toString('utf8');
      else {
        input[p.name] = readJsonValue(parseJsonDocument(req.body), p.shape, p.ref, model);
      }
      return input;
    }
    if (plan.body.length && req.body.length) {
      Object.assign(input, parseJsonBody(req.body, shape, model, true));
    }
    return input;
  },

  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-amzn-RequestId': ctx.requestId,
    };
    let status = op.http.responseCode ?? 200;
    if (!op.output) return { status, headers, body: '' };
    const shape = shapeOf(model, op.output.shape);
    const plan = bindingPlan(shape, model);
    if (!plan.hasBindings) {
      const body = jsonNeedsWalk(model, op.output.shape)
        ? JSON.stringify(writeJsonStruct(output, shape, model, false))
        : JSON.stringify(output);
      return { status, headers, body };
    }
    status = writeBoundMembers(output, shape, model, headers) ?? status;
    const p = plan.payload;
    let body: Buffer | string = '';
    if (p) {
      const val = output[p.name];
      if (val instanceof Uint8Array) {
        body = Buffer.from(val.buffer, val.byteOffset, val.byteLength);
        if (!bindsHeader(shape, model, 'content-type'))
          headers['Content-Type'] = 'application/octet-stream';
      } else if (typeof val === 'string') {
        body = val;
        if (p.shape.type === 'string' && !bindsHeader(shape, model, 'content-type')) {
          headers['Content-Type'] = 'text/plain';
        }
      } else if (val !== undefined && val !== null) {
        body = JSON.stringify(writeJsonValue(val, p.ref.shape, p.ref, model));
      }
    } else if (plan.body.length) {
      body = JSON.stringify(writeJsonStruct(output, shape, model, true));
    }
    return { status, headers, body };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const info = errorShapeOf(model, err);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-amzn-RequestId': ctx.requestId,
      'x-amzn-ErrorType': info?.name ?? err.code,
    };
    if (info && isRecord(err.fields)) writeBoundMembers(err.fields, info.shape, model, headers);
    const doc = jsonErrorDocument(err, model, false, true);
    return { status: err.status, headers, body: JSON.stringify(doc) };
  },
};
