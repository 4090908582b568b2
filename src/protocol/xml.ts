/**
 * XML for the query, ec2 and rest-xml protocols: escaping, a string writer driven by the
 * model (lists as `<member>` unless flattened, maps as `<entry><key/><value/></entry>`,
 * xmlAttribute members as attributes) and a reader that maps fast-xml-parser output back
 * onto shapes. Naming follows botocore's XML parser: a flattened list's elements take the
 * list member's locationName, else the structure member's.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MAX_NESTING_DEPTH, xmlTooDeep } from './depth.js';
import { AwsError } from '../shared/errors.js';
import type { ServiceModel, Shape, ShapeRef } from './model.js';
import { BadValue, INVALID, formatScalar, parseScalar, setKey } from './scalars.js';
import { toIso8601 } from './timestamps.js';
import { type MemberInfo, errorShapeOf, isRecord, shapeOf, structMembers } from './shapes.js';

// ---------------------------------------------------------------------------------------
// Escaping

/**
 * Characters to escape in text and attribute values. `\r` becomes `&#xD;` because parsers
 * normalise raw line breaks. Characters XML 1.0 cannot carry at all (C0 controls other
 * than tab/LF/CR, U+FFFE/U+FFFF, lone surrogates) become U+FFFD: a character reference
 * to them is just as ill-formed and would make botocore's parser reject the document.
 */
const ESCAPE =
  // eslint-disable-next-line no-control-regex
  /[&<>"\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeChar(c: string): string {
  switch (c) {
    case '&':
      return '&amp;';
    case '<':
      return '&lt;';
    case '>':
      return '&gt;';
    case '"':
      return '&quot;';
    case '\r':
      return '&#xD;';
    default:
      return '\uFFFD';
  }
}

/** The same class without /g: most values need no escaping, and test() allocates nothing. */
const NEEDS_ESCAPE = new RegExp(ESCAPE.source);

export function escapeXml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPE, escapeChar) : s;
}

// ---------------------------------------------------------------------------------------
// Writing

/** Appends model values as XML to a string (V8 ropes make `+=` the cheapest builder). */
export class XmlWriter {
  out = '';

  open(name: string, attrs = ''): this {
    this.out += `<${name}${attrs}>`;
    return this;
  }

  close(name: string): this {
    this.out += `</${name}>`;
    return this;
  }

  leaf(name: string, text: string): this {
    this.out += `<${name}>${escapeXml(text)}</${name}>`;
    return this;
  }

  raw(s: string): this {
    this.out += s;
    return this;
  }
}

export function xmlnsAttr(ns: { prefix?: string; uri: string } | undefined): string {
  if (!ns) return '';
  return ` xmlns${ns.prefix ? ':' + ns.prefix : ''}="${escapeXml(ns.uri)}"`;
}

function isFlattened(ref: ShapeRef | undefined, shape: Shape): boolean {
  return !!(ref?.flattened || shape.flattened);
}

/** The element name of a structure member (flattened lists name each item). */
export function memberElementName(m: MemberInfo): string {
  const name = m.ref.locationName ?? m.name;
  if (m.shape.type === 'list' && isFlattened(m.ref, m.shape)) {
    return m.shape.member?.locationName ?? name;
  }
  return name;
}

/** Writes the members of a structure as child elements (attributes are the caller's). */
export function writeXmlMembers(
  w: XmlWriter,
  v: Record<string, unknown>,
  shape: Shape,
  model: ServiceModel,
  skipBound: boolean,
): void {
  for (const m of structMembers(model, shape)) {
    if (m.ref.xmlAttribute || (skipBound && m.ref.location)) continue;
    const val = v[m.name];
    if (val === undefined || val === null) continue;
    writeXmlValue(w, memberElementName(m), val, m.ref, m.shape, model);
  }
}

function attributesOf(v: Record<string, unknown>, shape: Shape, model: ServiceModel): string {
  let attrs = '';
  for (const m of structMembers(model, shape)) {
    if (!m.ref.xmlAttribute) continue;
    const val = v[m.name];
    if (val === undefined || val === null) continue;
    const text = formatScalar(val, m.shape, m.ref, 'iso8601');
    attrs += ` ${m.ref.locationName ?? m.name}="${escapeXml(text)}"`;
  }
  return attrs;
}

export function writeXmlValue(
  w: XmlWriter,
  name: string,
  v: unknown,
  ref: ShapeRef | undefined,
  shape: Shape,
  model: ServiceModel,
  extraAttrs = '',
): void {
  switch (shape.type) {
    case 'structure': {
      if (!isRecord(v)) return;
      const attrs =
        extraAttrs +
        xmlnsAttr(ref?.xmlNamespace ?? shape.xmlNamespace) +
        attributesOf(v, shape, model);
      w.open(name, attrs);
      writeXmlMembers(w, v, shape, model, false);
      w.close(name);
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      const mref = shape.member!;
      const ms = shapeOf(model, mref.shape);
      if (isFlattened(ref, shape)) {
        for (const item of v)
          if (item !== undefined && item !== null) writeXmlValue(w, name, item, mref, ms, model);
        return;
      }
      const itemName = mref.locationName ?? 'member';
      w.open(name, extraAttrs);
      for (const item of v)
        if (item !== undefined && item !== null) writeXmlValue(w, itemName, item, mref, ms, model);
      w.close(name);
      return;
    }
    case 'map': {
      if (!isRecord(v)) return;
      const kref = shape.key!;
      const vref = shape.value!;
      const kname = kref.locationName ?? 'key';
      const vname = vref.locationName ?? 'value';
      const vs = shapeOf(model, vref.shape);
      const flat = isFlattened(ref, shape);
      if (!flat) w.open(name, extraAttrs);
      for (const k of Object.keys(v)) {
        const val = v[k];
        if (val === undefined || val === null) continue;
        w.open(flat ? name : 'entry');
        w.leaf(kname, k);
        writeXmlValue(w, vname, val, vref, vs, model);
        w.close(flat ? name : 'entry');
      }
      if (!flat) w.close(name);
      return;
    }
    default:
      w.raw(`<${name}${extraAttrs}>${escapeXml(formatScalar(v, shape, ref, 'iso8601'))}</${name}>`);
  }
}

// ---------------------------------------------------------------------------------------
// Errors (query, ec2 and rest-xml share the `<Error><Code/><Message/>…` element)

const extrasCache = new WeakMap<ServiceModel, Map<string, Shape | null>>();

/** The error shape's members other than Code/Message (the envelope writes those two). */
function errorExtras(model: ServiceModel, err: AwsError): Shape | undefined {
  let map = extrasCache.get(model);
  if (!map) {
    map = new Map();
    extrasCache.set(model, map);
  }
  const key = `${err.constructor.name} ${err.code}`;
  let s = map.get(key);
  if (s === undefined) {
    const info = errorShapeOf(model, err);
    s = info
      ? {
          ...info.shape,
          members: Object.fromEntries(
            Object.entries(info.shape.members ?? {}).filter(([m]) => !/^(message|code)$/i.test(m)),
          ),
        }
      : null;
    map.set(key, s);
  }
  return s ?? undefined;
}

/** Extra members of the error (e.g. ELBv2's or S3's) written inside `<Error>`. */
export function writeErrorFields(w: XmlWriter, err: AwsError, model: ServiceModel): void {
  const keys = Object.keys(err.fields);
  if (keys.length === 0) return;
  const shape = errorExtras(model, err);
  if (shape) writeXmlMembers(w, err.fields, shape, model, false);
  // Fields the model does not list (S3's NoSuchKey has no members yet AWS sends <Key>).
  for (const k of keys) {
    if ((shape?.members && Object.hasOwn(shape.members, k)) || /^(message|code)$/i.test(k))
      continue;
    const v = err.fields[k];
    if (v === undefined || v === null) continue;
    w.leaf(
      k,
      v instanceof Date ? toIso8601(v) : typeof v === 'object' ? JSON.stringify(v) : String(v),
    );
  }
}

// ---------------------------------------------------------------------------------------
// Reading

/** fast-xml-parser output: text, an element object, or repeated elements. */
export type XmlNode = string | XmlElement | XmlNode[];
export interface XmlElement {
  [name: string]: XmlNode;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

export class MalformedXml extends Error {}

/**
 * Parses a document and returns its root element's name and content. Throws MalformedXml
 * on anything that is not one well-formed element (DTDs are refused outright: they are
 * never needed by AWS APIs and would open the door to entity expansion).
 */
export function parseXmlDocument(body: Buffer | string): { name: string; value: XmlNode } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (/<!DOCTYPE/i.test(text)) throw new MalformedXml('DTDs are not allowed');
  if (xmlTooDeep(text)) {
    throw new MalformedXml(`elements nest deeper than ${MAX_NESTING_DEPTH} levels`);
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new MalformedXml(valid.err.msg);
  const doc: unknown = parser.parse(text);
  if (!isRecord(doc)) throw new MalformedXml('no root element');
  const names = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  if (names.length !== 1) throw new MalformedXml('expected exactly one root element');
  return { name: names[0], value: doc[names[0]] as XmlNode };
}

const localName = (n: string): string => {
  const i = n.indexOf(':');
  return i < 0 ? n : n.slice(i + 1);
};

function asArray(n: XmlNode | undefined): XmlNode[] {
  if (n === undefined) return [];
  return Array.isArray(n) ? n : [n];
}

function textOf(n: XmlNode): string {
  if (typeof n === 'string') return n;
  if (Array.isArray(n)) return n.length ? textOf(n[n.length - 1]) : '';
  const t = n['#text'];
  return typeof t === 'string' ? t : '';
}

function elementOf(n: XmlNode): XmlElement | undefined {
  if (Array.isArray(n)) return n.length ? elementOf(n[n.length - 1]) : undefined;
  return typeof n === 'string' ? undefined : n;
}

/** Reads the members of a structure element (`skipBound` ignores HTTP-bound members). */
export function readXmlStruct(
  n: XmlNode,
  shape: Shape,
  model: ServiceModel,
  skipBound: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const el = elementOf(n);
  if (!el) return out;
  for (const m of structMembers(model, shape)) {
    if (skipBound && m.ref.location) continue;
    let child: XmlNode | undefined;
    if (m.ref.xmlAttribute) {
      child = el['@_' + localName(m.ref.locationName ?? m.name)];
    } else {
      child = el[localName(memberElementName(m))];
      // SDK v3 names flattened list items after the structure member; accept both.
      if (child === undefined && m.shape.type === 'list')
        child = el[localName(m.ref.locationName ?? m.name)];
    }
    if (child === undefined) continue;
    try {
      out[m.name] = readXmlValue(child, m.ref, m.shape, model);
    } catch (e) {
      throw e instanceof BadValue ? e.prepend(m.path, m.ref.locationName ?? m.name) : e;
    }
  }
  return out;
}

export function readXmlValue(
  n: XmlNode,
  ref: ShapeRef | undefined,
  shape: Shape,
  model: ServiceModel,
): unknown {
  switch (shape.type) {
    case 'structure':
      return readXmlStruct(n, shape, model, false);
    case 'list': {
      const mref = shape.member!;
      const ms = shapeOf(model, mref.shape);
      let items: XmlNode[];
      if (isFlattened(ref, shape)) items = asArray(n);
      else {
        const el = elementOf(n);
        items = el ? asArray(el[localName(mref.locationName ?? 'member')]) : [];
      }
      const out = new Array<unknown>(items.length);
      for (let i = 0; i < items.length; i++) {
        try {
          out[i] = readXmlValue(items[i], mref, ms, model);
        } catch (e) {
          throw e instanceof BadValue ? e.prepend(`${i + 1}.member`, String(i + 1)) : e;
        }
      }
      return out;
    }
    case 'map': {
      const kref = shape.key!;
      const vref = shape.value!;
      const vs = shapeOf(model, vref.shape);
      const kname = localName(kref.locationName ?? 'key');
      const vname = localName(vref.locationName ?? 'value');
      let entries: XmlNode[];
      if (isFlattened(ref, shape)) entries = asArray(n);
      else {
        const el = elementOf(n);
        entries = el ? asArray(el.entry) : [];
      }
      const out: Record<string, unknown> = {};
      for (const e of entries) {
        const el = elementOf(e);
        if (!el || el[kname] === undefined) continue;
        const key = textOf(el[kname]);
        const val = el[vname];
        setKey(out, key, val === undefined ? undefined : readXmlValue(val, vref, vs, model));
      }
      return out;
    }
    default: {
      const raw = textOf(n);
      const v = parseScalar(raw, shape);
      if (v === INVALID) throw new BadValue(raw, shape);
      return v;
    }
  }
}

/** S3's error for a body that is not well-formed XML. */
export function malformedXmlError(): AwsError {
  return new AwsError(
    'MalformedXML',
    400,
    true,
    'The XML you provided was not well-formed or did not validate against our published schema',
  );
}
