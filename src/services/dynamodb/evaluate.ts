/**
 * Evaluating parsed expressions against an item: conditions and filters, projections,
 * and update actions (SET, REMOVE, ADD, DELETE) applied to a copy of the item.
 */
import type { AttributeValue } from '../../api/dynamodb/types.js';
import { validation } from './errors.js';
import type { Condition, Operand, Path, UpdateActions } from './expressions.js';
import {
  addNumbers,
  cloneItem,
  cloneValue,
  compareScalars,
  type Item,
  setHas,
  sizeFunction,
  typeOf,
  valuesEqual,
} from './values.js';

/** The value at a document path, undefined when any step is missing. */
export function resolvePath(item: Item, path: Path): AttributeValue | undefined {
  let cur: AttributeValue | undefined = item[path[0] as string];
  for (let i = 1; i < path.length && cur; i++) {
    const e = path[i];
    if (typeof e === 'number') cur = cur.L?.[e];
    else cur = cur.M?.[e];
  }
  return cur;
}

function operandValue(item: Item, op: Operand): AttributeValue | undefined {
  switch (op.k) {
    case 'value':
      return op.value;
    case 'path':
      return resolvePath(item, op.path);
    case 'size': {
      const v = resolvePath(item, op.path);
      const n = v && sizeFunction(v);
      return n === undefined ? undefined : { N: String(n) };
    }
    case 'if_not_exists':
      return resolvePath(item, op.path) ?? operandValue(item, op.fallback);
    case 'list_append': {
      const a = operandValue(item, op.a);
      const b = operandValue(item, op.b);
      if (!a || !b) throw missingOperand();
      if (!a.L || !b.L) throw wrongOperandType('list_append', !a.L ? a : b);
      return { L: [...a.L.map(cloneValue), ...b.L.map(cloneValue)] };
    }
    case 'arith': {
      const a = operandValue(item, op.a);
      const b = operandValue(item, op.b);
      if (!a || !b) throw missingOperand();
      if (a.N === undefined || b.N === undefined) {
        throw wrongOperandType(op.op, a.N === undefined ? a : b);
      }
      return { N: addNumbers(a.N, b.N, op.op === '-') };
    }
  }
}

const missingOperand = () =>
  validation('The provided expression refers to an attribute that does not exist in the item');

const TYPE_NAMES: Record<string, string> = {
  S: 'S',
  N: 'N',
  B: 'B',
  SS: 'SS',
  NS: 'NS',
  BS: 'BS',
  M: 'M',
  L: 'L',
  NULL: 'NULL',
  BOOL: 'BOOL',
};

const wrongOperandType = (operator: string, v: AttributeValue) =>
  validation(
    `An operand in the update expression has an incorrect data type; operator or function: ${operator}, operand type: ${TYPE_NAMES[typeOf(v)]}`,
  );

/** Whether the item satisfies the condition (a missing item is an empty one). */
export function evaluate(item: Item, c: Condition): boolean {
  switch (c.k) {
    case 'and':
      return evaluate(item, c.l) && evaluate(item, c.r);
    case 'or':
      return evaluate(item, c.l) || evaluate(item, c.r);
    case 'not':
      return !evaluate(item, c.c);
    case 'cmp': {
      const a = operandValue(item, c.a);
      const b = operandValue(item, c.b);
      if (c.op === '=') return !!a && !!b && valuesEqual(a, b);
      if (c.op === '<>') return !a || !b || !valuesEqual(a, b);
      if (!a || !b) return false;
      const order = compareScalars(a, b);
      if (order === undefined) return false;
      switch (c.op) {
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        case '>=':
          return order >= 0;
      }
      return false;
    }
    case 'between': {
      const a = operandValue(item, c.a);
      const lo = operandValue(item, c.lo);
      const hi = operandValue(item, c.hi);
      if (!a || !lo || !hi) return false;
      const x = compareScalars(a, lo);
      const y = compareScalars(a, hi);
      return x !== undefined && y !== undefined && x >= 0 && y <= 0;
    }
    case 'in': {
      const a = operandValue(item, c.a);
      if (!a) return false;
      return c.list.some((o) => {
        const v = operandValue(item, o);
        return !!v && valuesEqual(a, v);
      });
    }
    case 'fn': {
      const v = resolvePath(item, c.path);
      const arg = c.arg && operandValue(item, c.arg);
      switch (c.name) {
        case 'attribute_exists':
          return v !== undefined;
        case 'attribute_not_exists':
          return v === undefined;
        case 'attribute_type': {
          const want = arg?.S;
          if (arg && (want === undefined || !(want in TYPE_NAMES))) {
            throw validation(
              `Invalid ConditionExpression: Invalid attribute type name found; type: ${want ?? typeOf(arg)}, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}`,
            );
          }
          return v !== undefined && typeOf(v) === want;
        }
        case 'begins_with': {
          if (!v || !arg) return false;
          if (v.S !== undefined && arg.S !== undefined) return v.S.startsWith(arg.S);
          if (v.B !== undefined && arg.B !== undefined) {
            return Buffer.from(v.B).subarray(0, arg.B.byteLength).equals(Buffer.from(arg.B));
          }
          return false;
        }
        case 'contains': {
          if (!v || !arg) return false;
          if (v.S !== undefined && arg.S !== undefined) return v.S.includes(arg.S);
          if (v.B !== undefined && arg.B !== undefined) {
            return Buffer.from(v.B).includes(Buffer.from(arg.B));
          }
          if (v.L) return v.L.some((x) => valuesEqual(x, arg));
          return setHas(v, arg);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Projection

/** A selection of document paths as a tree: a leaf takes the whole value below it. */
interface Selection {
  leaf: boolean;
  children: Map<string | number, Selection>;
}

/** The item reduced to the given paths (lists keep the chosen elements, in order). */
export function project(item: Item, paths: Path[]): Item {
  const root: Selection = { leaf: false, children: new Map() };
  for (const path of paths) {
    let node = root;
    for (const e of path) {
      let child = node.children.get(e);
      if (!child) node.children.set(e, (child = { leaf: false, children: new Map() }));
      node = child;
    }
    node.leaf = true;
  }
  const out: Item = {};
  for (const [name, sel] of root.children) {
    const v = item[name as string];
    const picked = v && pick(v, sel);
    if (picked) out[name as string] = picked;
  }
  return out;
}

function pick(v: AttributeValue, sel: Selection): AttributeValue | undefined {
  if (sel.leaf) return cloneValue(v);
  if (v.M) {
    const m: Item = {};
    for (const [k, child] of sel.children) {
      const x = typeof k === 'string' ? v.M[k] : undefined;
      const picked = x && pick(x, child);
      if (picked) m[k as string] = picked;
    }
    return Object.keys(m).length ? { M: m } : undefined;
  }
  if (v.L) {
    const list = v.L;
    const l = [...sel.children.keys()]
      .filter((k): k is number => typeof k === 'number')
      .sort((a, b) => a - b)
      .map((k) => list[k] && pick(list[k], sel.children.get(k) as Selection))
      .filter((x): x is AttributeValue => x !== undefined);
    return l.length ? { L: l } : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Updates

const badPath = () =>
  validation('The document path provided in the update expression is invalid for update');

/** The parent container of a path's last step, or a refusal when it does not exist. */
function parentOf(
  item: Item,
  path: Path,
): { get(): AttributeValue | undefined; set(v: AttributeValue): void; remove(): void } {
  if (path.length === 1) {
    const name = path[0] as string;
    return {
      get: () => item[name],
      set: (v) => {
        item[name] = v;
      },
      remove: () => {
        delete item[name];
      },
    };
  }
  const parent = resolvePath(item, path.slice(0, -1));
  const last = path[path.length - 1];
  if (!parent) throw badPath();
  if (typeof last === 'number') {
    const list = parent.L;
    if (!list) throw badPath();
    return {
      get: () => list[last],
      set: (v) => {
        if (last >= list.length) list.push(v);
        else list[last] = v;
      },
      remove: () => {
        if (last < list.length) list.splice(last, 1);
      },
    };
  }
  const map = parent.M;
  if (!map) throw badPath();
  return {
    get: () => map[last],
    set: (v) => {
      map[last] = v;
    },
    remove: () => {
      delete map[last];
    },
  };
}

/** Applies update actions to a copy of the item (values are computed from the original). */
export function applyUpdate(original: Item, actions: UpdateActions): Item {
  const item = cloneItem(original);
  const sets = actions.set.map((a) => ({ path: a.path, value: operandValue(original, a.value) }));
  for (const { path, value } of sets) {
    if (!value) throw missingOperand();
    parentOf(item, path).set(cloneValue(value));
  }
  // REMOVE of several list elements: highest index first, so indexes refer to the original.
  const removes = [...actions.remove].sort((a, b) => {
    const x = a[a.length - 1];
    const y = b[b.length - 1];
    return typeof x === 'number' && typeof y === 'number' ? y - x : 0;
  });
  for (const path of removes) {
    if (path.length > 1 && !resolvePath(item, path.slice(0, -1))) continue;
    parentOf(item, path).remove();
  }
  for (const { path, value } of actions.add) {
    const slot = parentOf(item, path);
    const cur = slot.get();
    if (value.N !== undefined) {
      if (cur && cur.N === undefined) throw wrongOperandType('ADD', cur);
      slot.set({ N: cur ? addNumbers(cur.N as string, value.N) : value.N });
    } else if (value.SS || value.NS || value.BS) {
      if (!cur) slot.set(cloneValue(value));
      else if (typeOf(cur) !== typeOf(value)) throw wrongOperandType('ADD', cur);
      else slot.set(setUnion(cur, value));
    } else {
      throw wrongOperandType('ADD', value);
    }
  }
  for (const { path, value } of actions.delete) {
    if (!value.SS && !value.NS && !value.BS) throw wrongOperandType('DELETE', value);
    const slot = parentOf(item, path);
    const cur = slot.get();
    if (!cur) continue;
    if (typeOf(cur) !== typeOf(value)) throw wrongOperandType('DELETE', cur);
    const rest = setDifference(cur, value);
    if (rest) slot.set(rest);
    else slot.remove();
  }
  return item;
}

function setUnion(a: AttributeValue, b: AttributeValue): AttributeValue {
  const out = cloneValue(a);
  for (const m of members(b)) if (!setHas(out, m)) pushMember(out, m);
  return out;
}

function setDifference(a: AttributeValue, b: AttributeValue): AttributeValue | undefined {
  const out: AttributeValue = a.SS ? { SS: [] } : a.NS ? { NS: [] } : { BS: [] };
  for (const m of members(a)) if (!setHas(b, m)) pushMember(out, m);
  return members(out).length ? out : undefined;
}

function members(set: AttributeValue): AttributeValue[] {
  if (set.SS) return set.SS.map((S) => ({ S }));
  if (set.NS) return set.NS.map((N) => ({ N }));
  return (set.BS ?? []).map((B) => ({ B }));
}

function pushMember(set: AttributeValue, m: AttributeValue): void {
  if (set.SS && m.S !== undefined) set.SS.push(m.S);
  else if (set.NS && m.N !== undefined) set.NS.push(m.N);
  else if (set.BS && m.B !== undefined) set.BS.push(m.B);
}

/** The top-level attributes an update expression touches (for UPDATED_OLD/NEW). */
export function updatedPaths(actions: UpdateActions): Path[] {
  return [
    ...actions.set.map((a) => a.path),
    ...actions.remove,
    ...actions.add.map((a) => a.path),
    ...actions.delete.map((a) => a.path),
  ];
}
