/**
 * Model look-ups every codec shares, computed once per model or per shape and cached in
 * WeakMaps keyed by the (immutable) generated tables, so hot paths never re-derive them.
 */
import type { OperationModel, ServiceModel, Shape, ShapeRef } from './model.js';

export interface MemberInfo {
  /** Member name in the model (the key used in input/output values). */
  name: string;
  ref: ShapeRef;
  shape: Shape;
  /** Name on the wire for body members: the ref's locationName, else the member name. */
  wire: string;
  /** True when `wire` differs from `name` and the member lives in the body. */
  renamed: boolean;
  /** lowerCamelCase member name, used in validation messages (`roleName`). */
  path: string;
  /** Listed in the structure's `required`. */
  required: boolean;
  /** The EC2 query parameter name: queryName, else the capitalized locationName/name. */
  ec2Name: string;
}

const membersCache = new WeakMap<Shape, MemberInfo[]>();

export const lowerFirst = (s: string): string =>
  s.length === 0 ? s : s[0].toLowerCase() + s.slice(1);

export const upperFirst = (s: string): string =>
  s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);

/** The shape a ref points at; a missing shape is a generator bug, so fail loudly. */
export function shapeOf(model: ServiceModel, name: string): Shape {
  const s = model.shapes[name];
  if (!s) throw new Error(`shape ${name} missing from ${model.metadata.serviceId} model`);
  return s;
}

/** The members of a structure as an array (cached per shape object). */
export function structMembers(model: ServiceModel, shape: Shape): MemberInfo[] {
  let list = membersCache.get(shape);
  if (list) return list;
  list = [];
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const wire = ref.location ? name : (ref.locationName ?? name);
    list.push({
      name,
      ref,
      shape: shapeOf(model, ref.shape),
      wire,
      renamed: wire !== name,
      path: lowerFirst(name),
      required: shape.required?.includes(name) ?? false,
      ec2Name: ref.queryName ?? upperFirst(ref.locationName ?? name),
    });
  }
  membersCache.set(shape, list);
  return list;
}

const operationIndex = new WeakMap<ServiceModel, Map<string, OperationModel>>();

/** An operation by name (a Map, so inherited names like `toString` never match). */
export function findOperation(model: ServiceModel, name: string): OperationModel | undefined {
  let index = operationIndex.get(model);
  if (!index) {
    index = new Map(Object.entries(model.operations));
    operationIndex.set(model, index);
  }
  return index.get(name);
}

const jsonWalkCache = new WeakMap<ServiceModel, Set<string>>();

/**
 * Shapes the JSON writer walks: structures (only modelled members go out) and shapes whose
 * JSON form differs from their in-memory form (timestamps, blobs, jsonvalue strings)
 * somewhere beneath. Serializers hand every other shape (lists and maps of plain scalars)
 * to JSON.stringify untouched. Computed as a fixpoint so recursive shapes come out right.
 */
export function jsonNeedsWalk(model: ServiceModel, shapeName: string): boolean {
  let set = jsonWalkCache.get(model);
  if (!set) {
    set = computeJsonWalkSet(model);
    jsonWalkCache.set(model, set);
  }
  return set.has(shapeName);
}

function computeJsonWalkSet(model: ServiceModel): Set<string> {
  const set = new Set<string>();
  const children = new Map<string, string[]>();
  for (const [name, s] of Object.entries(model.shapes)) {
    // Structures always: the writer carries only modelled members, never what a provider
    // echoed from its input (unknown members included).
    if (s.type === 'timestamp' || s.type === 'blob' || (s.type === 'structure' && !s.document))
      set.add(name);
    const kids: string[] = [];
    if (s.type === 'structure' && !s.document) {
      for (const [m, ref] of Object.entries(s.members ?? {})) {
        if (ref.jsonvalue || (!ref.location && ref.locationName && ref.locationName !== m)) {
          set.add(name);
        }
        kids.push(ref.shape);
      }
    } else if (s.type === 'list' && s.member) kids.push(s.member.shape);
    else if (s.type === 'map' && s.value) kids.push(s.value.shape);
    children.set(name, kids);
  }
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, kids] of children) {
      if (set.has(name)) continue;
      if (kids.some((k) => set.has(k))) {
        set.add(name);
        changed = true;
      }
    }
  }
  return set;
}

export interface ErrorShapeInfo {
  name: string;
  shape: Shape;
}

const errorShapeCache = new WeakMap<ServiceModel, Map<string, ErrorShapeInfo>>();

/**
 * The exception shape behind a wire error code: generated errors carry `error.code` when
 * the model sets one (query services: `NoSuchEntity` for NoSuchEntityException), else the
 * shape name. Both spellings are indexed.
 */
export function findErrorShape(model: ServiceModel, code: string): ErrorShapeInfo | undefined {
  let map = errorShapeCache.get(model);
  if (!map) {
    map = new Map();
    for (const [name, shape] of Object.entries(model.shapes)) {
      if (!shape.exception) continue;
      map.set(name, { name, shape });
    }
    for (const [name, shape] of Object.entries(model.shapes)) {
      const c = shape.error?.code;
      if (shape.exception && c && !map.has(c)) map.set(c, { name, shape });
    }
    errorShapeCache.set(model, map);
  }
  return map.get(code);
}

/**
 * The exception shape of a thrown error. Codes can be shared (CloudWatch's
 * DashboardNotFoundError and ResourceNotFound both say `ResourceNotFound`), so the
 * generated class's own name decides first.
 */
export function errorShapeOf(
  model: ServiceModel,
  err: { code: string; constructor: { name: string } },
): ErrorShapeInfo | undefined {
  const cls = err.constructor.name;
  if (cls !== err.code && Object.hasOwn(model.shapes, cls)) {
    const shape = model.shapes[cls];
    if (shape.exception && (shape.error?.code ?? cls) === err.code) return { name: cls, shape };
  }
  return findErrorShape(model, err.code);
}

/** Member of an error shape that carries the message (`message` or `Message`). */
export function messageMember(model: ServiceModel, shape: Shape | undefined): string {
  if (shape) {
    for (const m of structMembers(model, shape)) {
      if (m.name.toLowerCase() === 'message' && !m.ref.location) return m.wire;
    }
  }
  return 'message';
}

/** A plain object (not an array, Buffer or Date). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}
