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
import { percentDecode } from '../shared/percent.js';
import { BadValue, INVALID, expectedKind, parseScalar, setKey } from './scalars.js';
import { findOperation, isRecord, shapeOf, structMembers } from './shapes.js';
import type { ProtocolCodec, ResponseContext, Struct, WireRequest, WireResponse } from './types.js';
import { validationError } from './validate.js';
import { XmlWriter, escapeXml, writeErrorFields, writeXmlMembers } from './xml.js';

// ---------------------------------------------------------------------------------------
// Form parameters → a tree keyed by the dotted name segments

export interface FormNode {
  value?: string;
  kids?: Map<string, FormNode>;
}

const treeCache = new WeakMap<WireRequest, FormNode>();

/**
 * Query-string and form-body parameters as a tree keyed by dotted name segments
 * (`Tags.member.1.Key`), parsed once per request. The form body wins over the query
 * string for a name present in both.
 */
export function formTree(req: WireRequest): FormNode {
  let root = treeCache.get(req);
  if (root) return root;
  root = {};
  for (const [k, v] of req.query) addParam(root, k, v);
  const ct = req.headers['content-type'] ?? '';
  if (req.body.length > 0 && (ct === '' || ct.startsWith('application/x-www-form-urlencoded'))) {
    const body = req.body.toString('utf8');
    let start = 0;
    while (start <= body.length) {
      let end = body.indexOf('&', start);
      if (end < 0) end = body.length;
      if (end > start) {
        const eq = body.indexOf('=', start);
        const hasValue = eq >= 0 && eq < end;
        addParam(
          root,
          formDecode(body.slice(start, hasValue ? eq : end)),
          hasValue ? formDecode(body.slice(eq + 1, end)) : '',
        );
      }
      start = end + 1;
    }
  }
  treeCache.set(req, root);
  return root;
}

/** application/x-www-form-urlencoded decoding (`+` is a space); never throws. */
function formDecode(s: string): string {
  if (s.includes('+')) s = s.replace(/\+/g, ' ');
  return percentDecode(s);
}

function addParam(root: FormNode, key: string, value: string): void {
  let node = root;
  let start = 0;
  for (;;) {
    const dot = key.indexOf('.', start);
    const seg = dot < 0 ? (start === 0 ? key : key.slice(start)) : key.slice(start, dot);
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

function readStruct(node: FormNode, shape: Shape, model: ServiceModel, ec2: boolean): Struct {
  const out: Struct = {};
  if (!node.kids) return out;
  for (const m of structMembers(model, shape)) {
    const key = ec2 ? m.ec2Name : m.wire;
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

/** Decodes the request's parameters into an input structure (throws BadValue on a bad scalar). */
export function readQueryInput(
  req: WireRequest,
  shape: Shape,
  model: ServiceModel,
  ec2: boolean,
): Struct {
  return readStruct(formTree(req), shape, model, ec2);
}

// ---------------------------------------------------------------------------------------
// Codecs

function resolveAction(req: WireRequest, model: ServiceModel): OperationModel | AwsError {
  const action = formTree(req).kids?.get('Action')?.value;
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

/**
 * The error for a parameter whose text does not fit its type: EC2 answers
 * InvalidParameterValue; other query services report it like a constraint violation.
 */
function badValueError(e: BadValue, model: ServiceModel, ec2: boolean): AwsError {
  if (ec2) {
    return new AwsError(
      'InvalidParameterValue',
      400,
      true,
      `Value (${e.raw}) for parameter ${e.wirePath.join('.')} is invalid. Expected ${expectedKind(e.shape)}.`,
    );
  }
  return validationError(
    [
      `Value '${e.raw}' at '${e.path.join('.')}' failed to satisfy constraint: Member must be ${expectedKind(e.shape)}`,
    ],
    model,
  );
}

function parseQuery(
  req: WireRequest,
  op: OperationModel,
  model: ServiceModel,
  ec2: boolean,
): Struct {
  if (!op.input) return {};
  try {
    return readQueryInput(req, shapeOf(model, op.input.shape), model, ec2);
  } catch (e) {
    throw e instanceof BadValue ? badValueError(e, model, ec2) : e;
  }
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
      if (isRecord(output))
        writeXmlMembers(w, output, shapeOf(model, op.output.shape), model, false);
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
