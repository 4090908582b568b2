/**
 * What a target receives: the whole event, or a rule target's `Input` (constant JSON),
 * `InputPath` (a JSONPath into the event) or `InputTransformer` (values picked by
 * InputPathsMap placed into InputTemplate).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
 */
import type { Json } from './pattern.js';

export interface InputSettings {
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
}

export class InputError extends Error {}

/** A JSONPath AWS accepts here: `$`, `.name`, `['name']`, `[n]`. */
export function parsePath(path: string): (string | number)[] {
  if (!path.startsWith('$')) throw new InputError(`Invalid JSONPath: ${path}`);
  const steps: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let at = 1;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (!m) throw new InputError(`Invalid JSONPath: ${path}`);
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])));
    at = re.lastIndex;
  }
  return steps;
}

export function select(value: Json, path: string): Json | undefined {
  let at: Json | undefined = value;
  for (const step of parsePath(path)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = Array.isArray(at)
      ? typeof step === 'number'
        ? at[step]
        : undefined
      : (at as Record<string, Json>)[String(step)];
    if (at === undefined) return undefined;
  }
  return at;
}

/** Checks a target's settings as PutTargets does; throws InputError with the reason. */
export function validateInput(settings: InputSettings): void {
  const given = [settings.Input, settings.InputPath, settings.InputTransformer].filter(
    (x) => x !== undefined,
  );
  if (given.length > 1) {
    throw new InputError('Only one of Input, InputPath, or InputTransformer must be provided.');
  }
  if (settings.Input !== undefined) {
    try {
      JSON.parse(settings.Input);
    } catch {
      throw new InputError('Target Input is not valid JSON text.');
    }
  }
  if (settings.InputPath !== undefined) parsePath(settings.InputPath);
  for (const path of Object.values(settings.InputTransformer?.InputPathsMap ?? {})) {
    parsePath(path);
  }
}

/** The reserved variables of InputTemplate (`<aws.events.rule-arn>`, …). */
export interface TemplateContext {
  ruleArn: string;
  ruleName: string;
  ingestionTime: string;
}

/** The payload for one target, from the event as the rule saw it. */
export function targetInput(
  settings: InputSettings,
  event: Json,
  context: TemplateContext,
): Buffer {
  if (settings.Input !== undefined) return Buffer.from(settings.Input);
  if (settings.InputPath !== undefined) {
    const picked = select(event, settings.InputPath);
    return Buffer.from(JSON.stringify(picked ?? null));
  }
  if (settings.InputTransformer)
    return Buffer.from(transform(settings.InputTransformer, event, context));
  return Buffer.from(JSON.stringify(event));
}

/**
 * Fills `<name>` placeholders. "If you use a string placeholder inside quotes, the value
 * is inserted as text; outside quotes, values are inserted as JSON": a string value
 * outside quotes comes out quoted, inside quotes unquoted (and JSON-escaped).
 */
function transform(
  t: { InputPathsMap?: Record<string, string>; InputTemplate: string },
  event: Json,
  context: TemplateContext,
): string {
  const values = new Map<string, Json | undefined>();
  for (const [name, path] of Object.entries(t.InputPathsMap ?? {}))
    values.set(name, select(event, path));
  values.set('aws.events.rule-arn', context.ruleArn);
  values.set('aws.events.rule-name', context.ruleName);
  values.set('aws.events.event.ingestion-time', context.ingestionTime);
  values.set('aws.events.event', event);
  values.set('aws.events.event.json', event);
  const template = t.InputTemplate;
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '\\' && inString) {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') inString = !inString;
    if (c === '<') {
      const close = template.indexOf('>', i);
      const name = close > i ? template.slice(i + 1, close) : '';
      if (values.has(name)) {
        const v = values.get(name);
        if (inString) {
          const text =
            v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
          out += JSON.stringify(text).slice(1, -1);
        } else {
          out += v === undefined ? 'null' : JSON.stringify(v);
        }
        i = close;
        continue;
      }
    }
    out += c;
  }
  return out;
}
