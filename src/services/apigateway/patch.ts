/**
 * AWS API Gateway's PatchOperations (every Update* call): JSON-Pointer-like paths with
 * `~1` for `/` and `~0` for `~`, string values, ops add/remove/replace (move, copy and
 * test only where a resource documents them).
 * https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html
 */
import { BadRequestException } from '../../api/apigateway/errors.js';
import type { PatchOperation } from '../../api/apigateway/types.js';

/** Path segments, unescaped (`/a~1b/c` → ['a/b', 'c']). */
export function pathSegments(path: string): string[] {
  if (!path.startsWith('/')) throw invalidPath(path);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function invalidPath(path: string, op = 'replace'): BadRequestException {
  return new BadRequestException(
    `Invalid patch path '${path}' specified for op '${op}'. Must be one of: []`,
  );
}

export type FieldKind = 'string' | 'number' | 'boolean' | 'list' | 'map' | 'boolMap';

/**
 * Applies `ops` to `target` for the fields `fields` names (top-level names and their
 * kinds; a map's entries are `/<field>/<key>`, a list's items `/<field>/<item>`).
 * Anything else is AWS's "Invalid patch path".
 */
export function applyPatch(
  target: Record<string, unknown>,
  ops: readonly PatchOperation[] | undefined,
  fields: Readonly<Record<string, FieldKind>>,
): void {
  for (const op of ops ?? []) {
    const kind = op.op ?? 'replace';
    const path = op.path ?? '';
    const [field, ...rest] = pathSegments(path);
    const type = field === undefined ? undefined : fields[field];
    if (field === undefined || type === undefined) throw invalidPath(path, kind);
    if (kind !== 'add' && kind !== 'remove' && kind !== 'replace') {
      throw new BadRequestException(
        `Invalid patch operation specified. Must be 'add'|'remove'|'replace'`,
      );
    }
    if (rest.length === 0) {
      if (kind === 'remove') delete target[field];
      else target[field] = convert(type, op.value, path);
      continue;
    }
    const sub = rest.join('/');
    if (type === 'list') {
      const list = Array.isArray(target[field]) ? (target[field] as string[]) : [];
      const kept = list.filter((x) => x !== sub);
      target[field] = kind === 'remove' ? kept : [...kept, sub];
    } else if (type === 'map' || type === 'boolMap') {
      const map = (target[field] ?? {}) as Record<string, unknown>;
      if (kind === 'remove') delete map[sub];
      else map[sub] = type === 'boolMap' ? op.value === 'true' : (op.value ?? '');
      target[field] = map;
    } else {
      throw invalidPath(path, kind);
    }
  }
}

function convert(type: FieldKind, value: string | undefined, path: string): unknown {
  switch (type) {
    case 'string':
      return value ?? '';
    case 'number': {
      const n = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(n)) {
        throw new BadRequestException(`Invalid number value for path ${path}: ${String(value)}`);
      }
      return n;
    }
    case 'boolean':
      if (value !== 'true' && value !== 'false') {
        throw new BadRequestException(`Invalid boolean value for path ${path}: ${String(value)}`);
      }
      return value === 'true';
    case 'list':
      return value === undefined || value === '' ? [] : value.split(',');
    case 'map':
    case 'boolMap':
      throw invalidPath(path);
  }
}
