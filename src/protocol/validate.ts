/**
 * Model constraints (required, enum, length, range, pattern) checked the way AWS's
 * front end reports them:
 *
 *   1 validation error detected: Value null at 'roleName' failed to satisfy constraint:
 *   Member must not be null
 *   2 validation errors detected: Value '' at 'userName' failed to satisfy constraint:
 *   Member must have length greater than or equal to 1; Value '' at 'userName' …
 *
 * Paths are lowerCamelCase member names joined with dots, list items as
 * `tags.1.member.key` (1-based). Lists and maps of scalars report once on the collection
 * (`Member must satisfy constraint: [...]`, `Map keys must satisfy constraint: [...]`).
 * Sensitive values and blobs are not echoed (`Value at 'password' …`).
 *
 * EC2 does not use these messages: a missing required parameter is
 * `MissingParameter: The request must contain the parameter InstanceId`.
 *
 * The gateway calls `validate(input, op.input.shape, model)` after `parseInput` and throws
 * `validationError(violations, model)` when the list is not empty.
 */
import { AwsError } from '../shared/errors.js';
import { compileJavaPattern } from './java-regex.js';
import type { ServiceModel, Shape } from './model.js';
import { type MemberInfo, isRecord, shapeOf, structMembers } from './shapes.js';

const checkCache = new WeakMap<ServiceModel, Set<string>>();

/** Shapes with a constraint somewhere beneath them; everything else is skipped. */
function constrained(model: ServiceModel): Set<string> {
  let set = checkCache.get(model);
  if (set) return set;
  set = new Set();
  const kids = new Map<string, string[]>();
  for (const [name, s] of Object.entries(model.shapes)) {
    // Every list and map: their members must not be null (`[null]` parses, but is no value).
    if (
      s.type === 'list' ||
      s.type === 'map' ||
      s.required?.length ||
      s.enum ||
      s.pattern ||
      (s.min !== undefined && s.min > 0) ||
      s.max !== undefined
    ) {
      set.add(name);
    }
    const k: string[] = [];
    if (s.type === 'structure') for (const r of Object.values(s.members ?? {})) k.push(r.shape);
    else if (s.type === 'list' && s.member) k.push(s.member.shape);
    else if (s.type === 'map') {
      if (s.key) k.push(s.key.shape);
      if (s.value) k.push(s.value.shape);
    }
    kids.set(name, k);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, k] of kids) {
      if (!set.has(name) && k.some((c) => set!.has(c))) {
        set.add(name);
        changed = true;
      }
    }
  }
  checkCache.set(model, set);
  return set;
}

/** Violation messages for `input` against `shapeName` (empty when valid). */
export function validate(input: unknown, shapeName: string, model: ServiceModel): string[] {
  const out: string[] = [];
  const set = constrained(model);
  if (!set.has(shapeName)) return out;
  const shape = shapeOf(model, shapeName);
  if (model.metadata.protocol === 'ec2') {
    checkEc2Required(input, shape, model, '', out);
    return out;
  }
  checkValue(input, shape, shapeName, { set, model, path: [], out, issues: [] });
  return out;
}

/** The error AWS answers with: `N validation error(s) detected: a; b`. */
export function validationError(violations: string[], model: ServiceModel): AwsError {
  if (model.metadata.protocol === 'ec2') {
    return new AwsError('MissingParameter', 400, true, violations[0] ?? 'Missing parameter');
  }
  const n = violations.length;
  return new AwsError(
    model.stratus?.validationErrorCode ?? 'ValidationException',
    400,
    true,
    `${n} validation error${n === 1 ? '' : 's'} detected: ${violations.join('; ')}`,
  );
}

/** Walk state: the constrained-shape set and the current path as a stack of segments. */
interface Walk {
  set: Set<string>;
  model: ServiceModel;
  path: (string | number)[];
  out: string[];
  /** Scratch list the constraint checks append to. */
  issues: string[];
}

/** Turns the constraint texts collected since `from` into messages about `v`. */
function report(v: unknown, shape: Shape, w: Walk, from: number): void {
  for (let i = from; i < w.issues.length; i++) w.out.push(at(v, shape, w, w.issues[i]));
  w.issues.splice(from);
}

/** Runs a scalar check into a fresh set (for list members, map keys and values). */
function collect(
  v: unknown,
  shape: Shape,
  w: Walk,
  into: Set<string> | undefined,
): Set<string> | undefined {
  const from = w.issues.length;
  scalarViolations(v, shape, w.issues);
  if (w.issues.length === from) return into;
  into ??= new Set();
  for (let i = from; i < w.issues.length; i++) into.add(w.issues[i]);
  w.issues.splice(from);
  return into;
}

const checkedCache = new WeakMap<Shape, MemberInfo[]>();

/** The members of a structure worth visiting: required, or constrained beneath. */
function checkedMembers(shape: Shape, w: Walk): MemberInfo[] {
  let list = checkedCache.get(shape);
  if (!list) {
    list = structMembers(w.model, shape).filter((m) => m.required || w.set.has(m.ref.shape));
    checkedCache.set(shape, list);
  }
  return list;
}

/** Checks `v` against a shape that is known to carry constraints (`w.set`). */
function checkValue(v: unknown, shape: Shape, shapeName: string, w: Walk): void {
  switch (shape.type) {
    case 'structure': {
      // Parsed input: structures are plain objects (Dates and Buffers only sit in scalars).
      if (typeof v !== 'object' || v === null || Array.isArray(v) || shape.document) return;
      const rec = v as Record<string, unknown>;
      for (const m of checkedMembers(shape, w)) {
        const val = rec[m.name];
        if (val === undefined || val === null) {
          if (m.required) {
            w.path.push(m.path);
            w.out.push(
              `Value null at '${w.path.join('.')}' failed to satisfy constraint: ${NOT_NULL}`,
            );
            w.path.pop();
          }
          continue;
        }
        if (!w.set.has(m.ref.shape)) continue;
        w.path.push(m.path);
        checkValue(val, m.shape, m.ref.shape, w);
        w.path.pop();
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      const from = w.issues.length;
      lengthViolations(v.length, shape, w.issues);
      if (w.issues.length > from) report(v, shape, w, from);
      const mref = shape.member!;
      const deep = w.set.has(mref.shape);
      const ms = shapeOf(w.model, mref.shape);
      if (isComplex(ms)) {
        for (let i = 0; i < v.length; i++) {
          const isNull = v[i] === null || v[i] === undefined;
          if (!isNull && !deep) continue;
          w.path.push(i + 1, 'member');
          if (isNull)
            w.out.push(
              `Value null at '${w.path.join('.')}' failed to satisfy constraint: ${NOT_NULL}`,
            );
          else checkValue(v[i], ms, mref.shape, w);
          w.path.pop();
          w.path.pop();
        }
        return;
      }
      let inner: Set<string> | undefined;
      for (const item of v) {
        if (item !== null && item !== undefined) {
          if (deep) inner = collect(item, ms, w, inner);
        } else (inner ??= new Set()).add(NOT_NULL);
      }
      if (inner)
        w.out.push(at(v, shape, w, `Member must satisfy constraint: [${[...inner].join(', ')}]`));
      return;
    }
    case 'map': {
      if (!isRecord(v)) return;
      const keys = Object.keys(v);
      const from = w.issues.length;
      lengthViolations(keys.length, shape, w.issues);
      if (w.issues.length > from) report(v, shape, w, from);
      const ks = shape.key ? shapeOf(w.model, shape.key.shape) : undefined;
      const vref = shape.value!;
      const vs = shapeOf(w.model, vref.shape);
      let keyIssues: Set<string> | undefined;
      let valueIssues: Set<string> | undefined;
      for (const k of keys) {
        if (ks) keyIssues = collect(k, ks, w, keyIssues);
        const val = v[k];
        if (val === null || val === undefined) {
          (valueIssues ??= new Set()).add(NOT_NULL);
          continue;
        }
        if (!w.set.has(vref.shape)) continue;
        if (isComplex(vs)) {
          w.path.push(k);
          checkValue(val, vs, vref.shape, w);
          w.path.pop();
        } else valueIssues = collect(val, vs, w, valueIssues);
      }
      if (keyIssues) {
        w.out.push(
          at(v, shape, w, `Map keys must satisfy constraint: [${[...keyIssues].join(', ')}]`),
        );
      }
      if (valueIssues) {
        w.out.push(
          at(v, shape, w, `Map value must satisfy constraint: [${[...valueIssues].join(', ')}]`),
        );
      }
      return;
    }
    default: {
      const from = w.issues.length;
      scalarViolations(v, shape, w.issues);
      if (w.issues.length > from) report(v, shape, w, from);
    }
  }
}

const NOT_NULL = 'Member must not be null';

const isComplex = (s: Shape): boolean =>
  s.type === 'structure' || s.type === 'list' || s.type === 'map';

function at(v: unknown, shape: Shape, w: Walk, constraint: string): string {
  const value = shape.sensitive || shape.type === 'blob' ? 'Value' : `Value '${render(v)}'`;
  return `${value} at '${w.path.join('.')}' failed to satisfy constraint: ${constraint}`;
}

function lengthViolations(len: number, shape: Shape, issues: string[]): void {
  if (shape.min !== undefined && len < shape.min) {
    issues.push(`Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.max !== undefined && len > shape.max) {
    issues.push(`Member must have length less than or equal to ${shape.max}`);
  }
}

function scalarViolations(v: unknown, shape: Shape, issues: string[]): void {
  switch (shape.type) {
    case 'string': {
      if (typeof v !== 'string') return;
      if (shape.enum && !shape.enum.includes(v)) {
        issues.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      }
      lengthViolations(v.length, shape, issues);
      if (shape.pattern) {
        const re = compileJavaPattern(shape.pattern);
        if (re && !re.test(v))
          issues.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      }
      return;
    }
    case 'blob':
      if (v instanceof Uint8Array) lengthViolations(v.byteLength, shape, issues);
      else if (typeof v === 'string') lengthViolations(Buffer.byteLength(v), shape, issues);
      return;
    case 'integer':
    case 'long':
    case 'short':
    case 'byte':
    case 'float':
    case 'double':
    case 'bigInteger':
    case 'bigDecimal':
      if (typeof v !== 'number') return;
      if (shape.min !== undefined && v < shape.min) {
        issues.push(`Member must have value greater than or equal to ${shape.min}`);
      }
      if (shape.max !== undefined && v > shape.max) {
        issues.push(`Member must have value less than or equal to ${shape.max}`);
      }
      return;
    default:
      return;
  }
}

/** Java-ish toString of a value, as AWS quotes it in messages. */
function render(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(render).join(', ')}]`;
  if (isRecord(v)) {
    return `{${Object.entries(v)
      .map(([k, x]) => `${k}=${render(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/** EC2 reports only missing required parameters, by wire name. */
function checkEc2Required(
  v: unknown,
  shape: Shape,
  model: ServiceModel,
  prefix: string,
  out: string[],
): void {
  if (!isRecord(v) || shape.type !== 'structure') return;
  for (const m of structMembers(model, shape)) {
    const name = prefix + m.ec2Name;
    const val = v[m.name];
    if (val === undefined || val === null) {
      if (m.required) out.push(`The request must contain the parameter ${name}`);
      continue;
    }
    if (m.shape.type === 'structure') checkEc2Required(val, m.shape, model, `${name}.`, out);
    else if (m.shape.type === 'list' && Array.isArray(val)) {
      const ms = shapeOf(model, m.shape.member!.shape);
      val.forEach((item, i) => checkEc2Required(item, ms, model, `${name}.${i + 1}.`, out));
    }
  }
}
