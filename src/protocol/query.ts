/**
 * AWS query (IAM, STS, ELBv2, ...) and its EC2 variant.
 * Requests are form parameters (POST application/x-www-form-urlencoded, or a GET query
 * string) with `Action`/`Version`; responses are XML.
 *   query: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 *     `Tags.member.1.Key`, flattened lists `Name.1`, maps `Attr.entry.1.key`,
 *     `<OpResponse><OpResult>…</OpResult><ResponseMetadata><RequestId>`
 *   ec2: https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html
 *     names from queryName, else the capitalized locationName/member name; every list is
 *     flattened (`Filter.1.Value.1`); `<OpResponse><requestId>` with members directly inside.
 */
import { AwsError, CommonErrors } from '../shared/errors.js';
import type { OperationModel, ServiceModel, Shape, ShapeRef } from './model.js';
import { BadValue, INVALID, expectedKind, parseScalar, setKey } from './scalars.js';
import {
  findOperation,
  isRecord,
  shapeOf,
  structMembers,
  upperFirst,
} from './shapes.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';
import { validationError } from './validate.js';
import { XmlWriter, escapeXml, writeErrorFields, writeXmlMembers } from './xml.js';

// ---------------------------------------------------------------------------------------
// Form parameters → a tree keyed by the dotted name segments

interface FormNode {
  value?: string;
  kids?: Map<string, FormNode>;
}

const paramsCache = new WeakMap<WireRequest, URLSearchParams>();

/** Query-string and form-body parameters together (parsed once per request). */
export function formParams(req: WireRequest): URLSearchParams {
  let params = paramsCache.get(req);
  if (params) return params;
  const ct = req.headers['content-type'] ?? '';
  const formBody =
    req.body.length > 0 && (ct === '' || ct.startsWith('application/x-www-form-urlencoded'));
  if (!formBody) params = req.query;
  else {
    params = new URLSearchParams(req.body.toString('utf8'));
    if (req.rawQuery) for (const [k, v] of req.query) if (!params.has(k)) params.append(k, v);
  }
  paramsCache.set(req, params);
  return params;
}

function buildTree(params: URLSearchParams): FormNode {
  const root: FormNode = {};
  for (const [key, value] of params) {
    let node = root;
    let start = 0;
    for (;;) {
      const dot = key.indexOf('.', start);
      const seg = dot < 0 ? key.slice(start) : key.slice(start, dot);
      node.kids ??= new Map();
      let next = node.kids.get(seg);
      if (!next) {
        next = {};
        node.kids.set(seg, next);
      }
      node = next;
      if (dot < 0) break;
      start = dot + 1;
    }
    node.value = value;
  }
  return root;
}

/** Children named 1, 2, 3, ... in numeric order. */
function numbered(node: FormNode | undefined): FormNode[] {
  if (!node?.kids) return [];
  const items: [number, FormNode][] = [];
  for (const [k, v] of node.kids) {
    const n = Number(k);
    if (Number.isInteger(n) && n > 0) items.push([n, v]);
  }
  items.sort((a, b) => a[0] - b[0]);
  return items.map((e) => e[1]);
}

function hasNumbered(node: FormNode): boolean {
  if (!node.kids) return false;
  for (const k of node.kids.keys()) if (/^\d+$/.test(k)) return true;
  return false;
}

/** EC2's parameter name for a member: queryName, else the capitalized locationName. */
function ec2Name(name: string, ref: ShapeRef): string {
  return ref.queryName ?? upperFirst(ref.locationName ?? name);
}

function readStruct(node: FormNode, shape: Shape, model: ServiceModel, ec2: boolean): Struct {
  const out: Struct = {};
  if (!node.kids) return out;
  for (const m of structMembers(model, shape)) {
    const key = ec2 ? ec2Name(m.name, m.ref) : m.wire;
    const child = node.kids.get(key);
    if (!child) continue;
    try {
      const v = readValue(child, m.ref, m.shape, model, ec2);
      if (v !== undefined) out[m.name] = v;
    } catch (e) {
      throw e instanceof BadValue ? e.prepend(m.path, key) : e;
    }
  }
  return out;
}

function readValue(
  node: FormNode,
  ref: ShapeRef,
  shape: Shape,
  model: ServiceModel,
  ec2: boolean,
): unknown {
  switch (shape.type) {
    case 'structure':
      return readStruct(node, shape, model, ec2);
    case 'list': {
      const mref = shape.member!;
      const ms = shapeOf(model, mref.shape);
      let parent: FormNode | undefined = node;
      // `Tags=` is how SDK v3 sends an empty list.
      if (!node.kids) return node.value === '' ? [] : undefined;
      if (!ec2 && !ref.flattened && !shape.flattened && !hasNumbered(node)) {
        parent = node.kids.get(mref.locationName ?? 'member');
      }
      const items = numbered(parent);
      const out = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) {
        try {
          out[i] = readValue(items[i], mref, ms, model, ec2);
        } catch (e) {
          throw e instanceof BadValue ? e.prepend(`${i + 1}.member`, String(i + 1)) : e;
        }
      }
      return out;
    }
    case 'map': {
      if (!node.kids) return node.value === '' ? {} : undefined;
      const kname = shape.key!.locationName ?? 'key';
      const vref = shape.value!;
      const vname = vref.locationName ?? 'value';
      const vs = shapeOf(model, vref.shape);
      const parent = ref.flattened || shape.flattened ? node : (node.kids.get('entry') ?? node);
      const out: Struct = {};
      for (const entry of numbered(parent)) {
        const k = entry.kids?.get(kname)?.value;
        if (k === undefined) continue;
        const vnode = entry.kids?.get(vname);
        try {
          setKey(out, k, vnode ? readValue(vnode, vref, vs, model, ec2) : undefined);
        } catch (e) {
          throw e instanceof BadValue ? e.prepend(k, k) : e;
        }
      }
      return out;
    }
    default: {
      if (node.value === undefined) return undefined;
      const v = parseScalar(node.value, shape);
      if (v === INVALID) throw new BadValue(node.value, shape);
      return v;
    }
  }
}

/** Decodes form parameters into an input structure (throws BadValue on a bad scalar). */
export function readQueryInput(
  params: URLSearchParams,
  shape: Shape,
  model: ServiceModel,
  ec2: boolean,
): Struct {
  return readStruct(buildTree(params), shape, model, ec2);
}

// ---------------------------------------------------------------------------------------
// Codecs

function resolveAction(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
  const action = formParams(req).get('Action');
  if (!action) return new AwsError('MissingAction', 400, true, 'Missing Action');
  return (
    findOperation(model, action) ??
    CommonErrors.invalidAction(`The action ${action} is not valid for this web service.`)
  );
}

function namespaceOf(model: ServiceModel): string {
  return model.metadata.xmlNamespace ? ` xmlns="${escapeXml(model.metadata.xmlNamespace)}"` : '';
}

function senderType(err: AwsError): string {
  return err.senderFault ? 'Sender' : 'Receiver';
}

function parseQuery(req: WireRequest, op: OperationModel, model: ServiceModel, ec2: boolean): Struct {
  if (!op.input) return {};
  try {
    return readQueryInput(formParams(req), shapeOf(model, op.input.shape), model, ec2);
  } catch (e) {
    if (!(e instanceof BadValue)) throw e;
    if (ec2) {
      return throwError(
        new AwsError(
          'InvalidParameterValue',
          400,
          true,
          `Value (${e.raw}) for parameter ${e.wirePath.join('.')} is invalid. Expected ${expectedKind(e.shape)}.`,
        ),
      );
    }
    return throwError(
      validationError(
        [
          `Value '${e.raw}' at '${e.path.join('.')}' failed to satisfy constraint: Member must be ${expectedKind(e.shape)}`,
        ],
        model,
      ),
    );
  }
}

function throwError(err: AwsError): never {
  throw err;
}

export const queryCodec: ProtocolCodec = {
  resolveOperation: resolveAction,

  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct {
    return parseQuery(req, op, model, false);
  },

  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse {
    const w = new XmlWriter();
    const root = `${op.name}Response`;
    w.open(root, namespaceOf(model));
    if (op.output) {
      const wrapper = op.output.resultWrapper ?? `${op.name}Result`;
      w.open(wrapper);
      if (isRecord(output)) writeXmlMembers(w, output, shapeOf(model, op.output.shape), model, false);
      w.close(wrapper);
    }
    w.open('ResponseMetadata').leaf('RequestId', ctx.requestId).close('ResponseMetadata');
    w.close(root);
    return {
      status: 200,
      headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': ctx.requestId },
      body: w.out,
    };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const w = new XmlWriter();
    w.open('ErrorResponse', namespaceOf(model)).open('Error');
    w.leaf('Type', senderType(err)).leaf('Code', err.code).leaf('Message', err.message);
    writeErrorFields(w, err, model);
    w.close('Error').leaf('RequestId', ctx.requestId).close('ErrorResponse');
    return {
      status: err.status,
      headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': ctx.requestId },
      body: w.out,
    };
  },
};

export const ec2Codec: ProtocolCodec = {
  resolveOperation: resolveAction,

  parseInput(req: WireRequest, op: OperationModel, model: ServiceModel): Struct {
    return parseQuery(req, op, model, true);
  },

  serializeOutput(
    output: Struct,
    op: OperationModel,
    model: ServiceModel,
    ctx: ResponseContext,
  ): WireResponse {
    const w = new XmlWriter();
    const root = `${op.name}Response`;
    w.raw('<?xml version="1.0" encoding="UTF-8"?>\n').open(root, namespaceOf(model));
    w.leaf('requestId', ctx.requestId);
    if (op.output && isRecord(output)) {
      writeXmlMembers(w, output, shapeOf(model, op.output.shape), model, false);
    }
    w.close(root);
    return {
      status: 200,
      headers: { 'Content-Type': 'text/xml;charset=UTF-8', 'x-amzn-RequestId': ctx.requestId },
      body: w.out,
    };
  },

  serializeError(err: AwsError, model: ServiceModel, ctx: ResponseContext): WireResponse {
    const w = new XmlWriter();
    w.raw('<?xml version="1.0" encoding="UTF-8"?>\n');
    w.open('Response').open('Errors').open('Error');
    w.leaf('Code', err.code).leaf('Message', err.message);
    writeErrorFields(w, err, model);
    w.close('Error').close('Errors').leaf('RequestID', ctx.requestId).close('Response');
    return {
      status: err.status,
      headers: { 'Content-Type': 'text/xml;charset=UTF-8', 'x-amzn-RequestId': ctx.requestId },
      body: w.out,
    };
  },
};
