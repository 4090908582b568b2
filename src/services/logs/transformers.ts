/**
 * Log transformers: a group's processor list (Put/Get/DeleteTransformer) and TestTransformer,
 * which runs processors over sample messages. Processors Stratus runs: parseJSON, addKeys,
 * copyValue, deleteKeys, renameKeys, moveKeys, lowerCaseString, upperCaseString, trimString.
 * Transformers are stored but not yet applied to ingested events.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Transformation-Processors.html
 */
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  DeleteTransformerRequest,
  GetTransformerRequest,
  GetTransformerResponse,
  Processor,
  PutTransformerRequest,
  TestTransformerRequest,
  TestTransformerResponse,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { groupNotFound, invalid, type LogsDeps, resolveGroupName, scopeOf } from './common.js';
import { GROUPS, type GroupRecord, groupKey, TRANSFORMERS } from './store.js';

interface TransformerRecord {
  creationTime: number;
  lastModifiedTime: number;
  processors: Processor[];
}

type TransformerOps = Pick<
  LogsOperations,
  'PutTransformer' | 'GetTransformer' | 'DeleteTransformer' | 'TestTransformer'
>;

type Json = Record<string, unknown>;

/** Processors that parse the raw message: "The first processor must be a parser". */
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
const SUPPORTED = new Set([
  'parseJSON',
  'addKeys',
  'copyValue',
  'deleteKeys',
  'renameKeys',
  'moveKeys',
  'lowerCaseString',
  'upperCaseString',
  'trimString',
]);
/** "A transformer can contain as many as 20 processors." */
const MAX_PROCESSORS = 20;

function kindOf(p: Processor): string {
  const kinds = Object.keys(p).filter((k) => p[k as keyof Processor] !== undefined);
  if (kinds.length !== 1) throw invalid('Each processor must specify exactly one processor type.');
  return kinds[0];
}

function validate(processors: Processor[]): void {
  if (processors.length === 0 || processors.length > MAX_PROCESSORS) {
    throw invalid(`A transformer must have between 1 and ${MAX_PROCESSORS} processors.`);
  }
  const kinds = processors.map(kindOf);
  if (!PARSERS.has(kinds[0])) throw invalid('The first processor must be a parser processor.');
  for (const k of kinds) {
    if (!SUPPORTED.has(k)) throw invalid(`Stratus does not run the ${k} processor yet.`);
  }
}

const parts = (path: string): string[] => path.split('.');

function getPath(doc: Json, path: string): unknown {
  let cur: unknown = doc;
  for (const p of parts(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[p];
  }
  return cur;
}

function setPath(doc: Json, path: string, value: unknown, overwrite: boolean): void {
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
  const ps = parts(path);
  const parent = ps.length === 1 ? doc : getPath(doc, ps.slice(0, -1).join('.'));
  if (parent !== null && typeof parent === 'object') delete (parent as Json)[ps[ps.length - 1]];
}

function mapStrings(doc: Json, keys: string[], f: (s: string) => string): void {
  for (const k of keys) {
    const v = getPath(doc, k);
    if (typeof v === 'string') setPath(doc, k, f(v), true);
  }
}

/** One message through the processors; undefined when the parser cannot read it. */
export function transform(processors: Processor[], message: string): Json | undefined {
  let doc: Json = {};
  for (const p of processors) {
    if (p.parseJSON) {
      const source = p.parseJSON.source ?? '@message';
      const raw = source === '@message' ? message : getPath(doc, source);
      if (typeof raw !== 'string') return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return undefined;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
      if (p.parseJSON.destination) setPath(doc, p.parseJSON.destination, parsed, true);
      else doc = { ...doc, ...(parsed as Json) };
    } else if (p.addKeys) {
      for (const e of p.addKeys.entries) setPath(doc, e.key, e.value, e.overwriteIfExists ?? false);
    } else if (p.copyValue) {
      for (const e of p.copyValue.entries) {
        const v = getPath(doc, e.source);
        if (v !== undefined) setPath(doc, e.target, v, e.overwriteIfExists ?? false);
      }
    } else if (p.deleteKeys) {
      for (const k of p.deleteKeys.withKeys) deletePath(doc, k);
    } else if (p.renameKeys) {
      for (const e of p.renameKeys.entries) {
        const v = getPath(doc, e.key);
        if (v === undefined) continue;
        if (getPath(doc, e.renameTo) !== undefined && !e.overwriteIfExists) continue;
        deletePath(doc, e.key);
        setPath(doc, e.renameTo, v, true);
      }
    } else if (p.moveKeys) {
      for (const e of p.moveKeys.entries) {
        const v = getPath(doc, e.source);
        if (v === undefined) continue;
        if (getPath(doc, e.target) !== undefined && !e.overwriteIfExists) continue;
        deletePath(doc, e.source);
        setPath(doc, e.target, v, true);
      }
    } else if (p.lowerCaseString) {
      mapStrings(doc, p.lowerCaseString.withKeys, (s) => s.toLowerCase());
    } else if (p.upperCaseString) {
      mapStrings(doc, p.upperCaseString.withKeys, (s) => s.toUpperCase());
    } else if (p.trimString) {
      mapStrings(doc, p.trimString.withKeys, (s) => s.trim());
    }
  }
  return doc;
}

export function transformerOperations(deps: LogsDeps): TransformerOps {
  const { store } = deps;

  async function groupKeyOf(identifier: string, ctx: RequestContext): Promise<string> {
    const scope = scopeOf(ctx);
    const key = groupKey(scope, resolveGroupName({ logGroupIdentifier: identifier }, scope));
    if (!(await store.get<GroupRecord>(GROUPS, key))) throw groupNotFound();
    return key;
  }

  return {
    async PutTransformer(input: PutTransformerRequest, ctx: RequestContext): Promise<void> {
      validate(input.transformerConfig);
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      const now = deps.now();
      await store.transaction(async (tx) => {
        const old = await tx.get<TransformerRecord>(TRANSFORMERS, key);
        await tx.put(TRANSFORMERS, key, {
          creationTime: old?.creationTime ?? now,
          lastModifiedTime: now,
          processors: input.transformerConfig,
        } satisfies TransformerRecord);
      });
    },

    async GetTransformer(
      input: GetTransformerRequest,
      ctx: RequestContext,
    ): Promise<GetTransformerResponse> {
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      const t = await store.get<TransformerRecord>(TRANSFORMERS, key);
      if (!t) throw new ResourceNotFoundException('Transformer does not exist for the log group.');
      return {
        logGroupIdentifier: input.logGroupIdentifier,
        creationTime: t.creationTime,
        lastModifiedTime: t.lastModifiedTime,
        transformerConfig: t.processors,
      };
    },

    async DeleteTransformer(input: DeleteTransformerRequest, ctx: RequestContext): Promise<void> {
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      if (!(await store.delete(TRANSFORMERS, key))) {
        throw new ResourceNotFoundException('Transformer does not exist for the log group.');
      }
    },

    TestTransformer(input: TestTransformerRequest): Promise<TestTransformerResponse> {
      validate(input.transformerConfig);
      return Promise.resolve({
        transformedLogs: input.logEventMessages.map((m, i) => {
          const doc = transform(input.transformerConfig, m);
          return {
            eventNumber: i + 1,
            eventMessage: m,
            transformedEventMessage: doc === undefined ? '' : JSON.stringify(doc),
          };
        }),
      });
    },
  };
}
