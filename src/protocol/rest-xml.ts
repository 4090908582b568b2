/**
 * AWS restXml (S3): https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html
 * Members bound to the URI, query string and headers; a payload member (raw blob/string
 * or an XML document) or the remaining members as one XML document. Errors:
 * `<Error><Code/><Message/><RequestId/><HostId/></Error>`.
 *
 * Root element names of outputs without a payload are not in the models (S3 calls them
 * `ListBucketResult`, …); clients ignore the name, so we use the output shape's
 * locationName when a model patch sets one, else `<Operation>Result`.
 */
import { Readable } from 'node:stream';
import { AwsError } from '../shared/errors.js';
import type { OperationModel, ServiceModel } from './model.js';
import {
  bindingPlan,
  bindsHeader,
  readBoundMembers,
  resolveRoute,
  writeBoundMembers,
} from './rest-bindings.js';
import { BadValue } from './scalars.js';
import { isRecord, shapeOf } from './shapes.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';
import {
  MalformedXml,
  XmlWriter,
  malformedXmlError,
  parseXmlDocument,
  readXmlStruct,
  readXmlValue,
  writeErrorFields,
  writeXmlMembers,
  writeXmlValue,
  xmlnsAttr,
} from './xml.js';

const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

const namespaces = new WeakMap<ServiceModel, { uri: string } | null>();

/** The service's XML namespace: metadata, else the one its input payloads declare (S3). */
function serviceNamespace(model: ServiceModel): { uri: string } | undefined {
  let ns = namespaces.get(model);
  if (ns === undefined) {
    ns = model.metadata.xmlNamespace ? { uri: model.metadata.xmlNamespace } : null;
    if (!ns) {
      outer: for (const op of Object.values(model.operations)) {
        if (!op.input) continue;
        const s = model.shapes[op.input.shape];
        for (const ref of Object.values(s?.members ?? {})) {
          if (ref.xmlNamespace?.uri && !ref.xmlNamespace.prefix) {
            ns = { uri: ref.xmlNamespace.uri };
            break outer;
          }
        }
      }
    }
    namespaces.set(model, ns);
  }
  return ns ?? undefined;
}

function parseDocument(body: Buffer): ReturnType<typeof parseXmlDocument> {
  try {
    return parseXmlDocument(body);
  } catch (e) {
    throw e instanceof MalformedXml ? malformedXmlError() : e;
  }
}

function invalidArgument(e: BadValue): AwsError {
  return new AwsError(
    'InvalidArgument',
    400,
    true,
    `Invalid value '${e.raw}' for ${e.wirePath.join('.')}`,
    { ArgumentName: e.wirePath.join('.'), ArgumentValue: e.raw },
  );
}

/** Reads an XML body; a scalar that does not parse makes the document invalid. */
function readBody<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw e instanceof BadValue ? malformedXmlError() : e;
  }
}

function hostId(requestId: string): string {
  return Buffer.from(requestId).toString('base64');
}

export const restXmlCodec: ProtocolCodec = {
  resolveOperation(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
    const r = resolveRoute(req, model);
    if (r.op) return r.op;
    if (r.methodMismatch) {
      return new AwsError(
        'MethodNotAllowed',
        405,
        true,
        'The specified method is not allowed against this resource.',
        { Method: req.method, ResourceType: 'OBJECT' },
      );
    }
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
    const input: Struct = {};
    try {
      readBoundMembers(req, op, shape, model, input);
    } catch (e) {
      throw e instanceof BadValue ? invalidArgument(e) : e;
    }
    const p = plan.payload;
    if (p && req.stream && p.shape.type === 'blob') {
      input[p.name] = req.stream;
      return input;
    }
    if (req.body.length === 0) return input;
    if (p) {
      if (p.shape.type === 'blob') input[p.name] = req.body;
      else if (p.shape.type === 'string') input[p.name] = req.body.toString('utf8');
      else {
        const doc = parseDocument(req.body);
        input[p.name] = readBody(() => readXmlValue(doc.value, p.ref, p.shape, model));
      }
    } else if (plan.body.length) {
      const doc = parseDocument(req.body);
      Object.assign(
        input,
        readBody(() => readXmlStruct(doc.value, shape, model, true)),
      );
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
      'x-amz-request-id': ctx.requestId,
      'x-amz-id-2': hostId(ctx.requestId),
    };
    let status = op.http.responseCode ?? 200;
    if (!op.output || !isRecord(output)) return { status, headers, body: '' };
    const shape = shapeOf(model, op.output.shape);
    const plan = bindingPlan(shape, model);
    status = writeBoundMembers(output, shape, model, headers) ?? status;
    const ownContentType = bindsHeader(shape, model, 'content-type');
    const p = plan.payload;
    if (p) {
      const val = output[p.name];
      if (val === undefined || val === null) return { status, headers, body: '' };
      if (val instanceof Readable) {
        if (!ownContentType) headers['Content-Type'] = 'application/octet-stream';
        return { status, headers, body: val };
      }
      if (val instanceof Uint8Array) {
        if (!ownContentType) headers['Content-Type'] = 'application/octet-stream';
        return { status, headers, body: Buffer.from(val.buffer, val.byteOffset, val.byteLength) };
      }
      if (typeof val === 'string' && p.shape.type !== 'structure') {
        return { status, headers, body: val };
      }
      const w = new XmlWriter().raw(XML_DECL);
      // writeXmlValue declares a namespace the model puts on the payload itself.
      const ns =
        (p.ref.xmlNamespace ?? p.shape.xmlNamespace) ? '' : xmlnsAttr(serviceNamespace(model));
      writeXmlValue(
        w,
        p.ref.locationName ?? p.shape.locationName ?? p.name,
        val,
        p.ref,
        p.shape,
        model,
        ns,
      );
      if (!ownContentType) headers['Content-Type'] = 'application/xml';
      return { status, headers, body: w.out };
    }
    if (!plan.body.some((m) => output[m.name] !== undefined && output[m.name] !== null)) {
      return { status, headers, body: '' };
    }
    const root = shape.locationName ?? `${op.name}Result`;
    const w = new XmlWriter().raw(XML_DECL);
    w.open(root, xmlnsAttr(shape.xmlNamespace ?? serviceNamespace(model)));
    writeXmlMembers(w, output, shape, model, true);
    w.close(root);
    if (!ownContentType) headers['Content-Type'] = 'application/xml';
    return { status, headers, body: w.out };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const w = new XmlWriter().raw(XML_DECL);
    w.open('Error').leaf('Code', err.code).leaf('Message', err.message);
    writeErrorFields(w, err, model);
    w.leaf('RequestId', ctx.requestId).leaf('HostId', hostId(ctx.requestId)).close('Error');
    return {
      status: err.status,
      headers: {
        'Content-Type': 'application/xml',
        'x-amz-request-id': ctx.requestId,
        'x-amz-id-2': hostId(ctx.requestId),
        ...err.headers,
      },
      body: w.out,
    };
  },
};
