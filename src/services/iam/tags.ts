/**
 * IAM tags: at most 50 per resource, keys unique without regard to case ("Duplicate tag
 * keys found. Please note that Tag keys are case insensitive."). Tagging an existing key
 * replaces its value.
 */
import { InvalidInputException, LimitExceededException } from '../../api/iam/errors.js';
import type { Tag } from '../../api/iam/types.js';

const MAX_TAGS = 50;

/** Copies request tags after rejecting duplicate keys. */
export function checkTags(tags: readonly Tag[] | undefined): Tag[] {
  if (!tags || tags.length === 0) return [];
  const seen = new Set<string>();
  const out: Tag[] = [];
  for (const t of tags) {
    const k = t.Key.toLowerCase();
    if (seen.has(k)) {
      throw new InvalidInputException(
        'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
      );
    }
    seen.add(k);
    out.push({ Key: t.Key, Value: t.Value });
  }
  return out;
}

/** `existing` with `add` applied; `entity` names the quota (e.g. Role → TagsPerRole). */
export function mergeTags(existing: readonly Tag[], add: readonly Tag[], entity: string): Tag[] {
  const incoming = checkTags(add);
  const out = existing.map((t) => ({ ...t }));
  for (const t of incoming) {
    const k = t.Key.toLowerCase();
    const at = out.findIndex((e) => e.Key.toLowerCase() === k);
    if (at >= 0) out[at] = t;
    else out.push(t);
  }
  if (out.length > MAX_TAGS) {
    throw new LimitExceededException(`Cannot exceed quota for TagsPer${entity}: ${MAX_TAGS}`);
  }
  return out;
}

export function removeTags(existing: readonly Tag[], keys: readonly string[]): Tag[] {
  const drop = new Set(keys.map((k) => k.toLowerCase()));
  return existing.filter((t) => !drop.has(t.Key.toLowerCase()));
}
