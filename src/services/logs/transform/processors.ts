/**
 * Log transformer processors, compiled once per configuration into one function that turns
 * a raw message into the transformed JSON document.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Transformation-Processors.html
 *
 * Runs: parseJSON, grok, csv, parseKeyValue, parseVPC (default format), addKeys, copyValue,
 * deleteKeys, renameKeys, moveKeys, listToMap, lowerCaseString, upperCaseString, trimString,
 * splitString, substituteString, typeConverter, dateTimeConverter. The other AWS-vended
 * parsers (parseCloudfront, parseRoute53, parsePostgres, parseWAF, parseToOCSF) are refused
 * by name rather than run wrongly.
 */
import type { Processor } from '../../../api/logs/types.js';
import { invalid } from '../common.js';
import { isTimeZone } from '../../../events/schedule-expression.js';
import { checkDatePattern, compileDateParser, formatDate } from './datetime.js';
import { compileGrok, GrokError, runGrok } from './grok.js';

export type Json = Record<string, unknown>;

/** Where an event comes from: copyValue/addKeys may read AWS's metadata keys. */
export interface EventOrigin {
  account: string;
  region: string;
  group: string;
  stream: string;
}

/** The transformed document of a message; undefined when a parser cannot read it. */
export type CompiledTransformer = (message: string, origin: EventOrigin) => Json | undefined;

/** "The first processor must be a parser" (these), at most one of the AWS-vended ones. */
const PARSERS = new Set([
  'parseJSON',
  'grok',
  'csv',
  'parseKeyValue',
  'parseCloudfront',
  'parseRoute53',
  'parsePostgres',
  'parseVPC',
  'parseWAF',
  'parseToOCSF',
]);
const VENDED = new Set([
  'parseCloudfront',
  'parseRoute53',
  'parsePostgres',
  'parseVPC',
  'parseWAF',
]);
const NOT_RUN = new Set([
  'parseCloudfront',
  'parseRoute53',
  'parsePostgres',
  'parseWAF',
  'parseToOCSF',
]);
/** "A transformer can contain as many as 20 processors." */
const MAX_PROCESSORS = 20;
/** "You can have as many as 5 grok processors in a transformer" and one match each. */
const MAX_GROK = 5;
/** AWS's metadata keys, readable by copyValue. */
const METADATA: Record<string, (o: EventOrigin) => string> = {
  '@logGroupName': (o) => o.group,
  '@logGroupStream': (o) => o.stream,
  '@accountId': (o) => o.account,
  '@regionName': (o) => o.region,
};
/** Default VPC flow log fields (version 2), the order of the default format. */
const VPC_FIELDS = [
  'version',
  'account_id',
  'interface_id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log_status',
];
const DEFAULT_TARGET_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'";

type Step = (doc: Json, message: string, origin: EventOrigin) => Json | undefined;

const parts = (path: string): string[] => path.split('.');

export function getPath(doc: Json, path: string): unknown {
  if (path in doc || !path.includes('.')) return doc[path];
  let cur: unknown = doc;
  for (const p of parts(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[p];
  }
  return cur;
}

function setPath(doc: Json, path: string, value: unknown, overwrite: boolean): void {
  if (!path.includes('.')) {
    if (overwrite || !(path in doc)) doc[path] = value;
    return;
  }
  const ps = parts(path);
  let cur = doc;
  for (const p of ps.slice(0, -1)) {
    const next = cur[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Json;
  }
  const last = ps[ps.length - 1];
  if (overwrite || !(last in cur)) cur[last] = value;
}

function deletePath(doc: Json, path: string): void {
  if (path in doc) {
    delete doc[path];
    return;
  }
  const ps = parts(path);
  const parent = ps.length === 1 ? doc : getPath(doc, ps.slice(0, -1).join('.'));
  if (parent !== null && typeof parent === 'object') delete (parent as Json)[ps[ps.length - 1]];
}

function mapStrings(keys: string[], f: (s: string) => unknown): Step {
  return (doc) => {
    for (const k of keys) {
      const v = getPath(doc, k);
      if (typeof v === 'string') setPath(doc, k, f(v), true);
    }
    return doc;
  };
}

/** The text a parser reads: the raw message or a field of the document so far. */
function sourceText(doc: Json, message: string, source: string | undefined): string | undefined {
  if (source === undefined || source === '@message') return message;
  const v = getPath(doc, source);
  return typeof v === 'string' ? v : undefined;
}

/** Merges parsed fields at the root or under `destination`. */
function place(doc: Json, fields: Json, destination: string | undefined, overwrite = true): Json {
  if (destination) {
    setPath(doc, destination, fields, true);
    return doc;
  }
  for (const [k, v] of Object.entries(fields)) if (overwrite || !(k in doc)) doc[k] = v;
  return doc;
}

/** One CSV line with a quote character that doubles to escape itself. */
function splitCsv(line: string, delimiter: string, quote: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === quote && line[i + 1] === quote) {
        cur += quote;
        i++;
      } else if (c === quote) quoted = false;
      else cur += c;
    } else if (c === quote) quoted = true;
    else if (line.startsWith(delimiter, i)) {
      out.push(cur);
      cur = '';
      i += delimiter.length - 1;
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function convert(v: unknown, type: string): unknown {
  const s = typeof v === 'string' ? v.trim() : v;
  switch (type) {
    case 'integer': {
      const n = typeof s === 'number' ? s : Number(s);
      return Number.isFinite(n) ? Math.trunc(n) : v;
    }
    case 'double': {
      const n = typeof s === 'number' ? s : Number(s);
      return Number.isFinite(n) ? n : v;
    }
    case 'boolean':
      if (typeof s === 'boolean') return s;
      if (typeof s === 'string' && /^(true|false)$/i.test(s)) return s.toLowerCase() === 'true';
      return v;
    default:
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

function kindOf(p: Processor): keyof Processor {
  const kinds = Object.keys(p).filter((k) => p[k as keyof Processor] != null);
  if (kinds.length !== 1) throw invalid('Each processor must specify exactly one processor type.');
  return kinds[0] as keyof Processor;
}

function compileStep(p: Processor): Step {
  if (p.parseJSON) {
    const { source, destination } = p.parseJSON;
    return (doc, message) => {
      const raw = sourceText(doc, message, source);
      if (raw === undefined) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return undefined;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      return place(doc, parsed as Json, destination);
    };
  }
  if (p.grok) {
    const { source } = p.grok;
    let g;
    try {
      g = compileGrok(p.grok.match);
    } catch (err) {
      throw invalid(err instanceof GrokError ? err.message : 'Invalid grok match pattern.');
    }
    return (doc, message) => {
      const raw = sourceText(doc, message, source);
      return raw !== undefined && runGrok(g, raw, (k, v) => setPath(doc, k, v, true))
        ? doc
        : undefined;
    };
  }
  if (p.csv) {
    const { source, destination, columns } = p.csv;
    const delimiter = p.csv.delimiter ?? ',';
    const quote = p.csv.quoteCharacter ?? '"';
    if (delimiter.length !== 1 && delimiter !== '\\t')
      throw invalid('delimiter must be a single character.');
    if (quote.length !== 1) throw invalid('quoteCharacter must be a single character.');
    const delim = delimiter === '\\t' ? '\t' : delimiter;
    return (doc, message) => {
      const raw = sourceText(doc, message, source);
      if (raw === undefined) return undefined;
      const values = splitCsv(raw, delim, quote);
      const fields: Json = {};
      values.forEach((v, i) => {
        fields[columns?.[i] ?? `column_${i + 1}`] = v;
      });
      return place(doc, fields, destination);
    };
  }
  if (p.parseKeyValue) {
    const c = p.parseKeyValue;
    const fieldDelimiter = c.fieldDelimiter ?? '&';
    const kvDelimiter = c.keyValueDelimiter ?? '=';
    const prefix = c.keyPrefix ?? '';
    return (doc, message) => {
      const raw = sourceText(doc, message, c.source);
      if (raw === undefined) return undefined;
      const fields: Json = {};
      for (const pair of raw.split(fieldDelimiter)) {
        if (pair === '') continue;
        const at = pair.indexOf(kvDelimiter);
        if (at < 0) {
          if (c.nonMatchValue !== undefined) fields[prefix + pair] = c.nonMatchValue;
          continue;
        }
        fields[prefix + pair.slice(0, at)] = pair.slice(at + kvDelimiter.length);
      }
      return place(doc, fields, c.destination, c.overwriteIfExists ?? false);
    };
  }
  if (p.parseVPC) {
    const { source } = p.parseVPC;
    return (doc, message) => {
      const raw = sourceText(doc, message, source);
      const values = raw?.trim().split(/\s+/);
      if (values?.length !== VPC_FIELDS.length) return undefined;
      VPC_FIELDS.forEach((f, i) => {
        doc[f] = values[i];
      });
      return doc;
    };
  }
  if (p.addKeys) {
    const { entries } = p.addKeys;
    return (doc) => {
      for (const e of entries) setPath(doc, e.key, e.value, e.overwriteIfExists ?? false);
      return doc;
    };
  }
  if (p.copyValue) {
    const { entries } = p.copyValue;
    return (doc, _m, origin) => {
      for (const e of entries) {
        const meta = METADATA[e.source];
        const v = meta ? meta(origin) : getPath(doc, e.source);
        if (v !== undefined) setPath(doc, e.target, v, e.overwriteIfExists ?? false);
      }
      return doc;
    };
  }
  if (p.deleteKeys) {
    const keys = p.deleteKeys.withKeys;
    return (doc) => {
      for (const k of keys) deletePath(doc, k);
      return doc;
    };
  }
  if (p.renameKeys || p.moveKeys) {
    const entries = p.renameKeys
      ? p.renameKeys.entries.map((e) => ({
          from: e.key,
          to: e.renameTo,
          overwrite: e.overwriteIfExists,
        }))
      : (p.moveKeys?.entries ?? []).map((e) => ({
          from: e.source,
          to: e.target,
          overwrite: e.overwriteIfExists,
        }));
    return (doc) => {
      for (const e of entries) {
        const v = getPath(doc, e.from);
        if (v === undefined) continue;
        if (getPath(doc, e.to) !== undefined && !e.overwrite) continue;
        deletePath(doc, e.from);
        setPath(doc, e.to, v, true);
      }
      return doc;
    };
  }
  if (p.listToMap) {
    const c = p.listToMap;
    return (doc) => {
      const list = getPath(doc, c.source);
      if (!Array.isArray(list)) return doc;
      const map: Json = {};
      for (const item of list) {
        if (item === null || typeof item !== 'object') continue;
        const key = (item as Json)[c.key];
        if (typeof key !== 'string' && typeof key !== 'number') continue;
        const value = c.valueKey === undefined ? item : (item as Json)[c.valueKey];
        const k = String(key);
        if (c.flatten) {
          if (c.flattenedElement === 'last' || !(k in map)) map[k] = value;
        } else {
          const prev = map[k];
          map[k] = Array.isArray(prev) ? [...(prev as unknown[]), value] : [value];
        }
      }
      if (c.target) setPath(doc, c.target, map, true);
      else Object.assign(doc, map);
      return doc;
    };
  }
  if (p.lowerCaseString) return mapStrings(p.lowerCaseString.withKeys, (s) => s.toLowerCase());
  if (p.upperCaseString) return mapStrings(p.upperCaseString.withKeys, (s) => s.toUpperCase());
  if (p.trimString) return mapStrings(p.trimString.withKeys, (s) => s.trim());
  if (p.splitString) {
    const { entries } = p.splitString;
    return (doc) => {
      for (const e of entries) {
        const v = getPath(doc, e.source);
        if (typeof v === 'string') setPath(doc, e.source, v.split(e.delimiter), true);
      }
      return doc;
    };
  }
  if (p.substituteString) {
    const entries = p.substituteString.entries.map((e) => {
      let re: RegExp;
      try {
        re = new RegExp(e.from, 'g');
      } catch {
        throw invalid(`Invalid regular expression in substituteString: ${e.from}`);
      }
      return { source: e.source, re, to: e.to };
    });
    return (doc) => {
      for (const e of entries) {
        const v = getPath(doc, e.source);
        if (typeof v === 'string') setPath(doc, e.source, v.replace(e.re, e.to), true);
      }
      return doc;
    };
  }
  if (p.typeConverter) {
    const { entries } = p.typeConverter;
    return (doc) => {
      for (const e of entries) {
        const v = getPath(doc, e.key);
        if (v !== undefined) setPath(doc, e.key, convert(v, e.type), true);
      }
      return doc;
    };
  }
  if (p.dateTimeConverter) {
    const c = p.dateTimeConverter;
    const targetFormat = c.targetFormat ?? DEFAULT_TARGET_FORMAT;
    const sourceZone = c.sourceTimezone ?? 'UTC';
    const targetZone = c.targetTimezone ?? 'UTC';
    let parsers;
    try {
      for (const zone of [sourceZone, targetZone]) {
        if (!isTimeZone(zone)) throw new Error(`unknown time zone ${zone}`);
      }
      checkDatePattern(targetFormat);
      parsers = c.matchPatterns.map(compileDateParser);
    } catch (err) {
      throw invalid(`Invalid dateTimeConverter configuration: ${(err as Error).message}`);
    }
    return (doc) => {
      const v = getPath(doc, c.source);
      if (typeof v !== 'string') return doc;
      for (const parser of parsers) {
        const ms = parser.parse(v, sourceZone);
        if (ms !== undefined && Number.isFinite(ms)) {
          setPath(doc, c.target, formatDate(targetFormat, ms, targetZone), true);
          break;
        }
      }
      return doc;
    };
  }
  throw invalid('Each processor must specify exactly one processor type.');
}

/** Validates a configuration as PutTransformer and TestTransformer do, and compiles it. */
export function compileTransformer(processors: readonly Processor[]): CompiledTransformer {
  if (processors.length === 0 || processors.length > MAX_PROCESSORS) {
    throw invalid(`A transformer must have between 1 and ${MAX_PROCESSORS} processors.`);
  }
  const kinds = processors.map(kindOf);
  if (!PARSERS.has(kinds[0])) throw invalid('The first processor must be a parser processor.');
  if (kinds.filter((k) => VENDED.has(k) || k === 'parseToOCSF').length > 1) {
    throw invalid('A transformer can contain only one AWS vended log parser.');
  }
  kinds.forEach((k, i) => {
    if ((VENDED.has(k) || k === 'parseToOCSF') && i !== 0) {
      throw invalid(`The ${k} processor must be the first processor in the transformer.`);
    }
    if (NOT_RUN.has(k)) throw invalid(`Stratus does not run the ${k} processor.`);
  });
  if (kinds.filter((k) => k === 'grok').length > MAX_GROK) {
    throw invalid(`A transformer can contain at most ${MAX_GROK} grok processors.`);
  }
  const steps = processors.map(compileStep);
  return (message, origin) => {
    let doc: Json | undefined = {};
    for (const step of steps) {
      doc = step(doc, message, origin);
      if (doc === undefined) return undefined;
    }
    return doc;
  };
}
