/**
 * The legacy conditional parameters (Expected, KeyConditions, QueryFilter, ScanFilter,
 * AttributeUpdates, AttributesToGet) that older clients still send, turned into the same
 * trees the expression parser makes.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LegacyConditionalParameters.html
 */
import type {
  AttributeValueUpdate,
  Condition as LegacyCondition,
  ExpectedAttributeValue,
} from '../../api/dynamodb/types.js';
import { validation } from './errors.js';
import type { Condition, Operand, UpdateActions } from './expressions.js';
import { checkValue } from './values.js';

/** Refuses a request that mixes expression and legacy parameters, in AWS's words. */
export function noMixing(legacy: Record<string, unknown>, modern: Record<string, unknown>): void {
  const l = Object.keys(legacy).filter((k) => legacy[k] !== undefined);
  const m = Object.keys(modern).filter((k) => modern[k] !== undefined);
  if (l.length && m.length) {
    throw validation(
      `Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {${l.join(', ')}} Expression parameters: {${m.join(', ')}}`,
    );
  }
}

const ARG_COUNTS: Record<string, [number, number]> = {
  EQ: [1, 1],
  NE: [1, 1],
  LE: [1, 1],
  LT: [1, 1],
  GE: [1, 1],
  GT: [1, 1],
  BETWEEN: [2, 2],
  IN: [1, Infinity],
  NOT_NULL: [0, 0],
  NULL: [0, 0],
  CONTAINS: [1, 1],
  NOT_CONTAINS: [1, 1],
  BEGINS_WITH: [1, 1],
};

/** One legacy condition on one attribute. */
export function legacyCondition(attr: string, c: LegacyCondition): Condition {
  const args = (c.AttributeValueList ?? []).map(
    (v) => ({ k: 'value', value: checkValue(v) }) as Operand,
  );
  const [min, max] = ARG_COUNTS[c.ComparisonOperator];
  if (args.length < min || args.length > max) {
    throw validation(
      `One or more parameter values were invalid: Invalid number of argument(s) for the ${c.ComparisonOperator} ComparisonOperator`,
    );
  }
  const a: Operand = { k: 'path', path: [attr] };
  switch (c.ComparisonOperator) {
    case 'EQ':
      return { k: 'cmp', op: '=', a, b: args[0] };
    case 'NE':
      return { k: 'cmp', op: '<>', a, b: args[0] };
    case 'LE':
      return { k: 'cmp', op: '<=', a, b: args[0] };
    case 'LT':
      return { k: 'cmp', op: '<', a, b: args[0] };
    case 'GE':
      return { k: 'cmp', op: '>=', a, b: args[0] };
    case 'GT':
      return { k: 'cmp', op: '>', a, b: args[0] };
    case 'BETWEEN':
      return { k: 'between', a, lo: args[0], hi: args[1] };
    case 'IN':
      return { k: 'in', a, list: args };
    case 'NOT_NULL':
      return { k: 'fn', name: 'attribute_exists', path: [attr] };
    case 'NULL':
      return { k: 'fn', name: 'attribute_not_exists', path: [attr] };
    case 'CONTAINS':
      return { k: 'fn', name: 'contains', path: [attr], arg: args[0] };
    case 'NOT_CONTAINS':
      return {
        k: 'and',
        l: { k: 'fn', name: 'attribute_exists', path: [attr] },
        r: { k: 'not', c: { k: 'fn', name: 'contains', path: [attr], arg: args[0] } },
      };
    case 'BEGINS_WITH':
      return { k: 'fn', name: 'begins_with', path: [attr], arg: args[0] };
  }
}

function combine(conds: Condition[], op: 'AND' | 'OR' | undefined): Condition | undefined {
  if (!conds.length) return undefined;
  return conds.reduce((l, r) => ({ k: op === 'OR' ? 'or' : 'and', l, r }));
}

/** KeyConditions, QueryFilter and ScanFilter: a map of attribute → condition. */
export function legacyFilter(
  map: Record<string, LegacyCondition> | undefined,
  op: 'AND' | 'OR' | undefined,
): Condition | undefined {
  if (!map) return undefined;
  return combine(
    Object.entries(map).map(([attr, c]) => legacyCondition(attr, c)),
    op,
  );
}

/** Expected: Value/Exists or ComparisonOperator per attribute. */
export function legacyExpected(
  map: Record<string, ExpectedAttributeValue> | undefined,
  op: 'AND' | 'OR' | undefined,
): Condition | undefined {
  if (!map) return undefined;
  const conds = Object.entries(map).map(([attr, e]): Condition => {
    if (e.ComparisonOperator) {
      return legacyCondition(attr, {
        ComparisonOperator: e.ComparisonOperator,
        AttributeValueList: e.AttributeValueList ?? (e.Value ? [e.Value] : []),
      });
    }
    if (e.Exists === false) {
      if (e.Value) {
        throw validation(
          'One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: ' +
            attr,
        );
      }
      return { k: 'fn', name: 'attribute_not_exists', path: [attr] };
    }
    if (!e.Value) {
      throw validation(
        'One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: ' +
          attr,
      );
    }
    return {
      k: 'cmp',
      op: '=',
      a: { k: 'path', path: [attr] },
      b: { k: 'value', value: checkValue(e.Value) },
    };
  });
  return combine(conds, op);
}

/** AttributeUpdates: PUT, ADD and DELETE per attribute. */
export function legacyUpdates(map: Record<string, AttributeValueUpdate>): UpdateActions {
  const out: UpdateActions = { set: [], remove: [], add: [], delete: [] };
  for (const [attr, u] of Object.entries(map)) {
    const value = u.Value && checkValue(u.Value);
    const action = u.Action ?? 'PUT';
    if (action === 'PUT') {
      if (!value)
        throw validation(
          'One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified',
        );
      out.set.push({ path: [attr], value: { k: 'value', value } });
    } else if (action === 'ADD') {
      if (!value)
        throw validation(
          'One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified',
        );
      out.add.push({ path: [attr], value });
    } else if (value) out.delete.push({ path: [attr], value });
    else out.remove.push([attr]);
  }
  return out;
}
