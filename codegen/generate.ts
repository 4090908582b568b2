/**
 * Turns botocore's service models into committed TypeScript under src/api/<svc>/: the shape
 * table (model.ts), input/output types (types.ts), error classes (errors.ts) and the
 * operation interface (operations.ts).
 *
 *   node dist/codegen/generate.js           write src/api
 *   node dist/codegen/generate.js --check   exit 1 when the committed output is stale
 *   node dist/codegen/generate.js --import DIR [svc ...]
 *       copy botocore models (DIR/<svc>/<version>/service-2.json.gz, as in botocore's
 *       data/ directory) into codegen/models, then write src/api; without a service
 *       name, refreshes the services already there
 *
 * The models live in the repository (codegen/models/<svc>.json.br: botocore's model with
 * its documentation strings dropped, brotli-compressed), so a clone generates and tests
 * on its own. Model fixes live in codegen/patches/<svc>.json, deep-merged before generation.
 */
import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync } from 'node:zlib';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceModel, ShapeRef } from '../src/protocol/model.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, whether running from codegen/ (tsx) or dist/codegen/ (compiled). */
export const repoRoot = existsSync(join(here, '..', 'package.json'))
  ? resolve(here, '..')
  : resolve(here, '..', '..');
export const modelsDir = join(repoRoot, 'codegen', 'models');
const MODEL_SUFFIX = '.json.br';
const patchesDir = join(repoRoot, 'codegen', 'patches');
const apiDir = join(repoRoot, 'src', 'api');

const DROPPED_KEYS = new Set([
  'documentation',
  'documentationUrl',
  'examples',
  'deprecatedMessage',
  'deprecatedSince',
]);
/** Names that would shadow the built-ins the generated types use. */
const RESERVED = new Set([
  'Date',
  'Uint8Array',
  'Record',
  'Error',
  'Object',
  'String',
  'Number',
  'Boolean',
  'Promise',
  'Array',
  'Map',
  'Set',
  'Function',
  'Symbol',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function strip(value: Json): Json {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) if (!DROPPED_KEYS.has(k)) out[k] = strip(v);
    return out;
  }
  return value;
}

function merge(base: Json, patch: Json): Json {
  if (
    patch &&
    typeof patch === 'object' &&
    !Array.isArray(patch) &&
    base &&
    typeof base === 'object' &&
    !Array.isArray(base)
  ) {
    const out: { [k: string]: Json } = { ...base };
    for (const [k, v] of Object.entries(patch))
      out[k] = v === null ? null : merge(base[k] ?? null, v);
    for (const [k, v] of Object.entries(out)) if (v === null) delete out[k];
    return out;
  }
  return patch;
}

export function listServices(): { name: string; file: string }[] {
  return readdirSync(modelsDir)
    .filter((f) => f.endsWith(MODEL_SUFFIX))
    .map((f) => ({ name: f.slice(0, -MODEL_SUFFIX.length), file: join(modelsDir, f) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function loadModel(name: string, file: string): ServiceModel {
  let model = JSON.parse(brotliDecompressSync(readFileSync(file)).toString('utf8')) as Json;
  const patch = join(patchesDir, `${name}.json`);
  if (existsSync(patch)) model = merge(model, JSON.parse(readFileSync(patch, 'utf8')) as Json);
  const m = model as unknown as ServiceModel;
  for (const [opName, op] of Object.entries(m.operations)) op.name ??= opName;
  return m;
}

/**
 * Copies botocore models into codegen/models: the newest API version of each, without
 * the documentation (the generator drops it anyway, and it is four fifths of the bytes).
 */
export function importModels(sourceDir: string, names: string[]): string[] {
  const wanted = names.length ? names : listServices().map((s) => s.name);
  for (const name of wanted) {
    const dir = join(sourceDir, name);
    const version = readdirSync(dir).sort().at(-1);
    const file = join(dir, version ?? '', 'service-2.json.gz');
    if (!version || !existsSync(file)) throw new Error(`no service-2.json.gz under ${dir}`);
    const json = JSON.stringify(strip(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'))));
    const compressed = brotliCompressSync(json, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: json.length,
      },
    });
    mkdirSync(modelsDir, { recursive: true });
    writeFileSync(join(modelsDir, `${name}${MODEL_SUFFIX}`), compressed);
  }
  return wanted;
}

const pascal = (s: string) =>
  s.replace(/(^|[-_])([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
const typeName = (shape: string) => (RESERVED.has(shape) ? `${shape}Shape` : shape);
const propKey = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));

function tsType(ref: ShapeRef, model: ServiceModel): string {
  const s = model.shapes[ref.shape];
  // A streaming payload reaches the provider as a stream, and may leave it as one.
  if (s.type === 'blob' && (ref.streaming || s.streaming)) return 'StreamingBlob';
  switch (s.type) {
    case 'structure':
      // Documents are free-form; exceptions appear only inside event streams.
      return s.document || s.exception ? 'unknown' : typeName(ref.shape);
    case 'list':
    case 'map':
      return typeName(ref.shape);
    case 'string':
      return s.enum ? typeName(ref.shape) : ref.jsonvalue ? 'unknown' : 'string';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'Date';
    case 'blob':
      return 'Uint8Array';
    default:
      return 'number';
  }
}

function genTypes(model: ServiceModel): string {
  const out: string[] = [
    '// GENERATED by codegen/generate.ts from the AWS model. Do not edit.',
    '/* eslint-disable */',
    '',
  ];
  const streams = Object.values(model.shapes).some((s) =>
    Object.values(s.members ?? {}).some((ref) => tsType(ref, model) === 'StreamingBlob'),
  );
  if (streams) {
    out.push("import type { StreamingBlob } from '../../protocol/types.js';", '');
  }
  for (const [name, s] of Object.entries(model.shapes)) {
    if (s.exception) continue;
    const tn = typeName(name);
    if (s.type === 'structure' && !s.document) {
      const req = new Set(s.required ?? []);
      const members = Object.entries(s.members ?? {}).map(
        ([m, ref]) => `  ${propKey(m)}${req.has(m) ? '' : '?'}: ${tsType(ref, model)};`,
      );
      out.push(`export interface ${tn} {`, ...members, '}', '');
    } else if (s.type === 'list' && s.member) {
      out.push(`export type ${tn} = ${tsType(s.member, model)}[];`, '');
    } else if (s.type === 'map' && s.value) {
      out.push(`export type ${tn} = Record<string, ${tsType(s.value, model)}>;`, '');
    } else if (s.type === 'string' && s.enum) {
      out.push(`export type ${tn} = ${s.enum.map((e) => JSON.stringify(e)).join(' | ')};`, '');
    }
  }
  return out.join('\n');
}

function genErrors(model: ServiceModel): string {
  const out: string[] = [
    '// GENERATED by codegen/generate.ts from the AWS model. Do not edit.',
    '/* eslint-disable */',
    "import { AwsError } from '../../shared/errors.js';",
    '',
  ];
  for (const [name, s] of Object.entries(model.shapes)) {
    if (!s.exception) continue;
    const code = s.error?.code ?? name;
    const status = s.error?.httpStatusCode ?? (s.fault ? 500 : 400);
    const sender = s.error?.senderFault ?? !s.fault;
    out.push(
      `export class ${typeName(name)} extends AwsError {`,
      `  static readonly code = ${JSON.stringify(code)};`,
      `  constructor(message: string, fields: Record<string, unknown> = {}) {`,
      `    super(${JSON.stringify(code)}, ${status}, ${sender}, message, fields);`,
      '  }',
      '}',
      '',
    );
  }
  return out.join('\n');
}

function genOperations(svc: string, model: ServiceModel): string {
  const types = new Set<string>();
  const lines: string[] = [];
  for (const [name, op] of Object.entries(model.operations)) {
    const input = op.input ? typeName(op.input.shape) : 'Record<string, never>';
    const output = op.output ? typeName(op.output.shape) : 'void';
    if (op.input) types.add(input);
    if (op.output) types.add(output);
    lines.push(`  ${name}(input: ${input}, ctx: RequestContext): Promise<${output}>;`);
  }
  return [
    '// GENERATED by codegen/generate.ts from the AWS model. Do not edit.',
    '/* eslint-disable */',
    "import type { RequestContext } from '../../shared/context.js';",
    types.size ? `import type { ${[...types].sort().join(', ')} } from './types.js';` : '',
    '',
    `export interface ${pascal(svc)}Operations {`,
    ...lines,
    '}',
    '',
  ].join('\n');
}

function genModel(model: ServiceModel): string {
  return [
    '// GENERATED by codegen/generate.ts from the AWS model. Do not edit.',
    "import type { ServiceModel } from '../../protocol/model.js';",
    '',
    // A string parsed at load time: V8 parses JSON far faster than an object literal, and
    // tsc does not have to infer a type for thousands of shapes.
    `export const model: ServiceModel = JSON.parse(${JSON.stringify(JSON.stringify(model))});`,
    '',
  ].join('\n');
}

/** The index the gateway detects services with, without loading any shape table. */
function genIndex(entries: { name: string; model: ServiceModel }[]): string {
  const rows = entries.map(({ name, model }) => {
    const m = model.metadata;
    const protocol = m.protocols?.[0] ?? m.protocol;
    // Query calls AWS takes unsigned (STS's AssumeRoleWithWebIdentity): only the Action in
    // the form says which service such a request is for, when the host does not.
    const unsigned =
      protocol === 'query' || protocol === 'ec2'
        ? Object.values(model.operations)
            .filter((op) => op.authtype === 'none')
            .map((op) => op.name)
        : [];
    const info = {
      name,
      signingName: m.signingName ?? m.endpointPrefix,
      endpointPrefix: m.endpointPrefix,
      protocol,
      targetPrefix: m.targetPrefix,
      jsonVersion: m.jsonVersion,
      ...(unsigned.length ? { unsignedActions: unsigned } : {}),
    };
    return `  ${JSON.stringify(info)},`;
  });
  const loaders = entries.map(
    ({ name }) => `  ${propKey(name)}: async () => (await import('./${name}/model.js')).model,`,
  );
  return [
    '// GENERATED by codegen/generate.ts from the AWS models. Do not edit.',
    "import type { ServiceModel, ProtocolName } from '../protocol/model.js';",
    '',
    'export interface ServiceInfo {',
    '  name: string;',
    '  signingName: string;',
    '  endpointPrefix: string;',
    '  protocol: ProtocolName;',
    '  targetPrefix?: string;',
    '  jsonVersion?: string;',
    '  /** Query actions AWS accepts unsigned (`authtype: none`). */',
    '  unsignedActions?: readonly string[];',
    '}',
    '',
    'export const services: readonly ServiceInfo[] = [',
    ...rows,
    '];',
    '',
    'export const modelLoaders: Record<string, () => Promise<ServiceModel>> = {',
    ...loaders,
    '};',
    '',
  ].join('\n');
}

export function generateAll(): Map<string, string> {
  const files = new Map<string, string>();
  const entries: { name: string; model: ServiceModel }[] = [];
  for (const { name, file } of listServices()) {
    const model = loadModel(name, file);
    entries.push({ name, model });
    files.set(join(name, 'model.ts'), genModel(model));
    files.set(join(name, 'types.ts'), genTypes(model));
    files.set(join(name, 'errors.ts'), genErrors(model));
    files.set(join(name, 'operations.ts'), genOperations(name, model));
  }
  files.set('services.ts', genIndex(entries));
  return files;
}

export function staleFiles(): string[] {
  const stale: string[] = [];
  for (const [rel, text] of generateAll()) {
    const path = join(apiDir, rel);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(rel);
  }
  return stale;
}

function main(): void {
  const importAt = process.argv.indexOf('--import');
  if (importAt >= 0) {
    const [source, ...names] = process.argv.slice(importAt + 1);
    if (!source) throw new Error('usage: generate.js --import <botocore data dir> [service ...]');
    console.log(`imported ${importModels(resolve(source), names).join(', ')}`);
  }
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length) {
      console.error(`stale generated files (run npm run codegen): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('generated API is up to date');
    return;
  }
  for (const [rel, text] of generateAll()) {
    const path = join(apiDir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  console.log(`generated ${apiDir}`);
}

if (
  process.argv[1] &&
  resolve(process.argv[1]).replace(/\.ts$/, '.js') ===
    fileURLToPath(import.meta.url).replace(/\.ts$/, '.js')
)
  main();
