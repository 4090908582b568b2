/**
 * Mapping templates: Apache Velocity (velocityjs, a well-kept VTL engine) with API
 * Gateway's variables on top: `$input` (body, json(), path(), params()), `$util`
 * (escapeJavaScript, parseJson, urlEncode, urlDecode, base64Encode, base64Decode),
 * `$context` and `$stageVariables`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
 */
import velocity from 'velocityjs';
import type { ContextGroup } from '../../apigateway-shared/context-vars.js';
import { BoundedMap } from '../../../shared/bounded-map.js';

export interface TemplateParams {
  path: Record<string, string>;
  querystring: Record<string, string>;
  header: Record<string, string>;
}

export interface TemplateInput {
  /** The payload as text (the request body, or the integration's response). */
  body: string;
  params: TemplateParams;
  context: ContextGroup;
  stageVariables: Record<string, string>;
}

/** Parsed templates, by text (a deployed API renders the same few over and over). */
const compiled = new BoundedMap<string, InstanceType<typeof velocity.Compile>>(1000);

function compile(template: string): InstanceType<typeof velocity.Compile> {
  let c = compiled.get(template);
  if (!c) {
    c = new velocity.Compile(velocity.parse(template), { escape: false });
    compiled.set(template, c);
  }
  return c;
}

/**
 * Renders `template`; `context` may be changed by it (`$context.responseOverride.status`,
 * `$context.requestOverride.header.X`), which the caller reads afterwards.
 */
export function renderTemplate(template: string, input: TemplateInput): string {
  let parsed: { value: unknown } | undefined;
  const root = (): unknown => {
    if (!parsed) {
      try {
        parsed = { value: input.body === '' ? {} : (JSON.parse(input.body) as unknown) };
      } catch {
        parsed = { value: input.body };
      }
    }
    return parsed.value;
  };
  const $input = {
    body: input.body,
    json: (path: string) => JSON.stringify(jsonPath(root(), path) ?? null),
    path: (path: string) => jsonPath(root(), path),
    params: (name?: string) => {
      if (name === undefined) return input.params;
      const p = input.params;
      return p.path[name] ?? p.querystring[name] ?? headerOf(p.header, name) ?? '';
    },
  };
  return compile(template).render({
    input: $input,
    util,
    context: input.context,
    stageVariables: input.stageVariables,
  });
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** `$util`, as AWS documents each function. */
export const util = {
  /** "Escapes the characters in a string using JavaScript string rules." (' is escaped too) */
  escapeJavaScript: (s: unknown): string =>
    JSON.stringify(String(s ?? ''))
      .slice(1, -1)
      .replace(/'/g, "\\'"),
  parseJson: (s: unknown): unknown => JSON.parse(String(s)),
  urlEncode: (s: unknown): string => encodeURIComponent(String(s ?? '')).replace(/%20/g, '+'),
  urlDecode: (s: unknown): string => decodeURIComponent(String(s ?? '').replace(/\+/g, ' ')),
  base64Encode: (s: unknown): string => Buffer.from(String(s ?? ''), 'utf8').toString('base64'),
  base64Decode: (s: unknown): string => Buffer.from(String(s ?? ''), 'base64').toString('utf8'),
};

/**
 * JSONPath as `$input.path` / `$input.json` need it: `$`, `.name`, `['name']`, `[n]`,
 * `[*]` and `.*` (a wildcard yields a list). Undefined for a path that names nothing.
 */
export function jsonPath(root: unknown, path: string): unknown {
  const p = path.trim();
  if (p === '' || p === '$') return root;
  if (!p.startsWith('$')) return undefined;
  const steps: (string | number | '*')[] = [];
  const re = /\.([A-Za-z0-9_$@-]+|\*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+)|(\*))\s*\]/gy;
  re.lastIndex = 1;
  while (re.lastIndex < p.length) {
    const m = re.exec(p);
    if (!m) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(m[2]);
    else if (m[3] !== undefined) steps.push(m[3]);
    else if (m[4] !== undefined) steps.push(Number(m[4]));
    else steps.push('*');
  }
  let values: unknown[] = [root];
  let many = false;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of values) {
      if (typeof v !== 'object' || v === null) continue;
      if (step === '*') {
        many = true;
        next.push(...Object.values(v));
      } else {
        const child = (v as Record<string | number, unknown>)[step];
        if (child !== undefined) next.push(child);
      }
    }
    values = next;
  }
  return many ? values : values[0];
}
