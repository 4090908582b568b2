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
import { isRecord, shapeOf, structMembers, upperFirst } from './shapes.js';

const checkCache = new WeakMap<ServiceModel, Set<string>>();

/** Shapes with a constraint somewhere beneath them; everything else is skipped. */
function constrained(model: ServiceModel): Set<string> {
  let set = checkCache.get(model);
  if (set) return set;
  set = new Set();
  const kids = new Map<string, string[]>();
  for (const [name, s] of Object.entries(model.shapes)) {
    if (
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
  for (let changed = true; changed; ) {
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
  if (!constrained(model).has(shapeName)) return out;
  const shape = shapeOf(model, shapeName);
  if (model.metadata.protocol === 'ec2') {
    checkEc2Required(input, shape, model, '', out);
    return out;
  }
  checkValue(input, shape, shapeName, '', model, out);
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

function checkValue(
  v: unknown,
  shape: Shape,
  shapeName: string,
  path: string,
  model: ServiceModel,
  out: string[],
): void {
  const set = constrained(model);
  if (!set.has(shapeName)) return;
  switch (shape.type) {
    case 'structure': {
      if (!isRecord(v) || shape.document) return;
      for (const m of structMembers(model, shape)) {
        const val = v[m.name];
        const p = path ? `${path}.${m.path}` : m.path;
        if (val === undefined || val === null) {
          if (m.required) out.push(`Value null at '${p}' failed to satisfy constraint: Member must not be null`);
          continue;
        }
        checkValue(val, m.shape, m.ref.shape, p, model, out);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(v)) return;
      lengthViolations(v.length, shape, (c) => out.push(at(v, shape, path, c)));
      const mref = shape.member!;
      const ms = shapeOf(model, mref.shape);
      if (!set.has(mref.shape)) return;
      if (isComplex(ms)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] !== null && v[i] !== undefined) {
            checkValue(v[i], ms, mref.shape, `${path}.${i + 1}.member`, model, out);
          }
        }
        return;
      }
      const inner = new Set<string>();
      for (const item of v) if (item !== null && item !== undefined) scalarViolations(item, ms, (c) => inner.add(c));
      if (inner.size) out.push(at(v, shape, path, `Member must satisfy constraint: [${[...inner].join(', ')}]`));
      return;
    }
    case 'map': {
      if (!isRecord(v)) return;
      const keys = Object.keys(v);
      lengthViolations(keys.length, shape, (c) => out.push(at(v, shape, path, c)));
      const ks = shape.key ? shapeOf(model, shape.key.shape) : undefined;
      const vref = shape.value!;
      const vs = shapeOf(model, vref.shape);
      const keyIssues = new Set<string>();
      const valueIssues = new Set<string>();
      for (const k of keys) {
        if (ks) scalarViolations(k, ks, (c) => keyIssues.add(c));
        const val = v[k];
        if (val === null || val === undefined || !set.has(vref.shape)) continue;
        if (isComplex(vs)) checkValue(val, vs, vref.shape, `${path}.${k}`, model, out);
        else scalarViolations(val, vs, (c) => valueIssues.add(c));
      }
      if (keyIssues.size) {
        out.push(at(v, shape, path, `Map keys must satisfy constraint: [${[...keyIssues].join(', ')}]`));
      }
      if (valueIssues.size) {
        out.push(at(v, shape, path, `Map value must satisfy constraint: [${[...valueIssues].join(', ')}]`));
      }
      return;
    }
    default:
      scalarViolations(v, shape, (c) => out.push(at(v, shape, path, c)));
  }
}

const isComplex = (s: Shape): boolean => s.type === 'structure' || s.type === 'list' || s.type === 'map';

function at(v: unknown, shape: Shape, path: string, constraint: string): string {
  const value = shape.sensitive || shape.type === 'blob' ? 'Value' : `Value '${render(v)}'`;
  return `${value} at '${path}' failed to satisfy constraint: ${constraint}`;
}

function lengthViolations(len: number, shape: Shape, report: (c: string) => void): void {
  if (shape.min !== undefined && len < shape.min) {
    report(`Member must have length greater than or equal to ${shape.min}`);
  }
  if (shape.max !== undefined && len > shape.max) {
    report(`Member must have length less than or equal to ${shape.max}`);
  }
}

function scalarViolations(v: unknown, shape: Shape, report: (c: string) => void): void {
  switch (shape.type) {
    case 'string': {
      if (typeof v !== 'string') return;
      if (shape.enum && !shape.enum.includes(v)) {
        report(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      }
      lengthViolations(v.length, shape, report);
      if (shape.pattern) {
        const re = compileJavaPattern(shape.pattern);
        if (re && !re.test(v)) report(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      }
      return;
    }
    case 'blob':
      if (v instanceof Uint8Array) lengthViolations(v.byteLength, shape, report);
      else if (typeof v === 'string') lengthViolations(Buffer.byteLength(v), shape, report);
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
        report(`Member must have value greater than or equal to ${shape.min}`);
      }
      if (shape.max !== undefined && v > shape.max) {
        report(`Member must have value less than or equal to ${shape.max}`);
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
function checkEc2Required(v: unknown, shape: Shape, model: ServiceModel, prefix: string, out: string[]): void {
  if (!isRecord(v) || shape.type !== 'structure') return;
  for (const m of structMembers(model, shape)) {
    const name = prefix + (m.ref.queryName ?? upperFirst(m.ref.locationName ?? m.name));
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
