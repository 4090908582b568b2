/**
 * ECR lifecycle policies: the checks PutLifecyclePolicy and StartLifecyclePolicyPreview make
 * on the policy text, and the evaluator that decides which images a policy expires.
 *
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
 *
 * Only the `expire` action is supported (no archive storage class / `transition`).
 */
import { InvalidParameterException } from '../../api/ecr/errors.js';

export type LifecycleTagStatus = 'tagged' | 'untagged' | 'any';
export type LifecycleCountType = 'imageCountMoreThan' | 'sinceImagePushed';

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: LifecycleTagStatus;
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: LifecycleCountType;
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

export interface LifecycleImage {
  digest: string;
  tags: string[];
  /** ms since the epoch */
  pushedAt: number;
}

export interface ExpiredImage {
  digest: string;
  tags: string[];
  pushedAt: number;
  /** The rule that expires the image. */
  rulePriority: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** "There is a maximum limit of four wildcards (*) per string" (tagPatternList). */
const MAX_WILDCARDS = 4;

const TOP_PROPERTIES = ['rules'];
const RULE_REQUIRED = ['rulePriority', 'selection', 'action'];
const RULE_PROPERTIES = ['rulePriority', 'description', 'selection', 'action'];
const SELECTION_REQUIRED = ['tagStatus', 'countType', 'countNumber'];
const SELECTION_PROPERTIES = [
  ...SELECTION_REQUIRED,
  'tagPrefixList',
  'tagPatternList',
  'countUnit',
];
const TAG_STATUSES: readonly LifecycleTagStatus[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly LifecycleCountType[] = ['imageCountMoreThan', 'sinceImagePushed'];
const COUNT_UNITS = ['days'];
const ACTION_TYPES = ['expire'];

/**
 * AWS validates the text against a JSON schema first and words those failures the way its
 * schema validator does; the semantic checks after it have their own sentences. All come
 * wrapped as "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint:
 * 'Lifecycle policy validation failure: …'". The closing quote is part of each detail
 * because AWS leaves it off the oneOf and minimum failures.
 */
const MESSAGE_PREFIX =
  "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: " +
  "'Lifecycle policy validation failure: ";

const Detail = {
  notAPolicy: "Could not map policyString into LifecyclePolicy.'",
  missing: (names: string[]) => `object has missing required properties (${nameList(names)})'`,
  notAllowed: (names: string[]) =>
    `object instance has properties which are not allowed by the schema: (${nameList(names)})'`,
  wrongType: (value: unknown, allowed: string) =>
    `instance type (${jsonType(value)}) does not match any allowed primitive type (allowed: ["${allowed}"])'`,
  notInEnum: (value: unknown, allowed: readonly string[]) =>
    `instance value (${display(value)}) not found in enum :(possible values: ${nameList(allowed)})'`,
  // Selection is a oneOf (an imageCountMoreThan shape without countUnit, a sinceImagePushed
  // shape with it): any mismatch there, `null` included, surfaces as this sentence.
  noCountShape: 'instance failed to match exactly one schema (matched 0 out of 2)',
  belowMinimum: (found: number) =>
    `numeric instance is lower than the required minimum (minimum: 1, found: ${found})`,
  tooFewRules: (found: number) =>
    `array is too short: must have at least 1 elements but instance has ${found} elements'`,
  // Semantic checks. The first three are AWS's sentences as users have reported them; the
  // rest (and tooFewRules above) are our wording: no AWS sample of them was found.
  tagsRequired: "Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.'",
  oneUntaggedRule: "Only one rule can select Untagged images per storage class.'",
  anyRuleLast: "Rule for tagStatus=ANY must have the lowest priority per storage class.'",
  tagsOnlyWhenTagged:
    "tagPrefixList and tagPatternList can only be specified when tagStatus=TAGGED.'",
  bothTagLists: "Cannot specify both tagPrefixList and tagPatternList in the same rule.'",
  tooManyWildcards: (pattern: string) =>
    `Tag pattern ${pattern} has more than ${MAX_WILDCARDS} wildcards (*).'`,
  duplicatePriority: (priority: number) =>
    `Rule priority ${priority} is used by more than one rule. Rule priorities must be unique.'`,
} as const;

function invalid(detail: string): InvalidParameterException {
  return new InvalidParameterException(MESSAGE_PREFIX + detail);
}

/** Parses and validates a policy text; throws InvalidParameterException as AWS words it. */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(Detail.notAPolicy);
  }
  if (!isObject(doc)) throw invalid(Detail.notAPolicy);
  checkProperties(doc, TOP_PROPERTIES, TOP_PROPERTIES);
  if (!Array.isArray(doc.rules)) throw invalid(Detail.wrongType(doc.rules, 'array'));
  if (doc.rules.length === 0) throw invalid(Detail.tooFewRules(0));

  const rules = doc.rules.map(parseRule);
  for (const rule of rules) checkTagSelection(rule);
  checkRuleSet(rules);
  return { rules };
}

function parseRule(raw: unknown): LifecycleRule {
  if (!isObject(raw)) throw invalid(Detail.wrongType(raw, 'object'));
  checkProperties(raw, RULE_REQUIRED, RULE_PROPERTIES);

  const rulePriority = positiveInteger(raw.rulePriority);
  if (raw.description !== undefined && typeof raw.description !== 'string') {
    throw invalid(Detail.wrongType(raw.description, 'string'));
  }
  const action = parseAction(raw.action);
  const selection = parseSelection(raw.selection);
  return {
    rulePriority,
    ...(raw.description !== undefined && { description: raw.description }),
    selection,
    action,
  };
}

function parseAction(raw: unknown): LifecycleRule['action'] {
  if (!isObject(raw)) throw invalid(Detail.wrongType(raw, 'object'));
  checkProperties(raw, ['type'], ['type']);
  if (raw.type !== 'expire') throw invalid(Detail.notInEnum(raw.type, ACTION_TYPES));
  return { type: 'expire' };
}

function parseSelection(raw: unknown): LifecycleRule['selection'] {
  if (!isObject(raw)) throw invalid(Detail.wrongType(raw, 'object'));
  checkProperties(raw, SELECTION_REQUIRED, SELECTION_PROPERTIES);

  const { tagStatus, countType, countUnit } = raw;
  if (!isOneOf(tagStatus, TAG_STATUSES)) throw invalid(Detail.notInEnum(tagStatus, TAG_STATUSES));
  if (!isOneOf(countType, COUNT_TYPES)) throw invalid(Detail.noCountShape);
  if (countType === 'imageCountMoreThan') {
    // "an error will occur if you specify a count unit when countType is any other value"
    if (countUnit !== undefined) throw invalid(Detail.noCountShape);
  } else {
    if (typeof countUnit !== 'string') throw invalid(Detail.noCountShape);
    if (countUnit !== 'days') throw invalid(Detail.notInEnum(countUnit, COUNT_UNITS));
  }
  const countNumber = positiveInteger(raw.countNumber);
  const tagPrefixList = stringList(raw.tagPrefixList);
  const tagPatternList = stringList(raw.tagPatternList);
  return {
    tagStatus,
    ...(tagPrefixList && { tagPrefixList }),
    ...(tagPatternList && { tagPatternList }),
    countType,
    ...(countType === 'sinceImagePushed' && { countUnit: 'days' as const }),
    countNumber,
  };
}

/** The rules on tag lists in lifecycle_policy_parameters.html ("Tag status", "Tag pattern list"). */
function checkTagSelection(rule: LifecycleRule): void {
  const { tagStatus, tagPrefixList, tagPatternList } = rule.selection;
  if (tagStatus !== 'tagged') {
    // "If you specify untagged, then you must omit both tagPrefixList and tagPatternList."
    if (tagPrefixList || tagPatternList) throw invalid(Detail.tagsOnlyWhenTagged);
    return;
  }
  if (tagPrefixList && tagPatternList) throw invalid(Detail.bothTagLists);
  // "If you specify tagged, then you must also specify a tagPrefixList value or a
  // tagPatternList value."
  if (!tagPrefixList?.length && !tagPatternList?.length) throw invalid(Detail.tagsRequired);
  for (const pattern of tagPatternList ?? []) {
    if (pattern.split('*').length - 1 > MAX_WILDCARDS) {
      throw invalid(Detail.tooManyWildcards(pattern));
    }
  }
}

/** Checks across rules: unique priorities, one untagged rule, the `any` rule last. */
function checkRuleSet(rules: LifecycleRule[]): void {
  const priorities = new Set<number>();
  for (const { rulePriority } of rules) {
    if (priorities.has(rulePriority)) throw invalid(Detail.duplicatePriority(rulePriority));
    priorities.add(rulePriority);
  }
  // "Only one rule is allowed to select untagged images."
  if (rules.filter((r) => r.selection.tagStatus === 'untagged').length > 1) {
    throw invalid(Detail.oneUntaggedRule);
  }
  // "A rule with a tagStatus value of any must have the highest value for rulePriority."
  const highest = Math.max(...priorities);
  if (rules.some((r) => r.selection.tagStatus === 'any' && r.rulePriority !== highest)) {
    throw invalid(Detail.anyRuleLast);
  }
}

/**
 * The images `policy` expires at time `now`, following "Lifecycle policy evaluation rules":
 * - rules are applied in ascending rulePriority;
 * - "An image is expired by exactly one or zero rules";
 * - "An image that matches the tagging requirements of a rule cannot be expired by a rule
 *   with a lower priority", even when that rule keeps it;
 * - "Rules can never mark images that are marked by higher priority rules, but can still
 *   identify them as if they haven't been expired": a later rule still counts the images
 *   earlier rules matched when it keeps its newest N, it just cannot expire them (the docs'
 *   "Filtering on multiple rules" example A: rule 2 marks A and B, both are skipped).
 * Within a rule the result lists older images first.
 */
export function evaluateLifecyclePolicy(
  policy: LifecyclePolicy,
  images: readonly LifecycleImage[],
  now: number,
): ExpiredImage[] {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const matchedEarlier = new Set<string>();
  const expired: ExpiredImage[] = [];
  for (const rule of rules) {
    const selected = images.filter((image) => matchesTagging(rule.selection, image));
    for (const image of expiryCandidates(rule.selection, selected, now)) {
      if (matchedEarlier.has(image.digest)) continue;
      expired.push({
        digest: image.digest,
        tags: [...image.tags],
        pushedAt: image.pushedAt,
        rulePriority: rule.rulePriority,
      });
    }
    for (const image of selected) matchedEarlier.add(image.digest);
  }
  return expired;
}

/**
 * Whether `image` meets the rule's tag requirements. With several prefixes or patterns
 * "only the images with all specified tags are selected": every entry must match at least
 * one of the image's tags ("an image is successfully matched if all of the tags in the
 * tagPrefixList value are matched against any of the image's tags").
 */
function matchesTagging(selection: LifecycleRule['selection'], image: LifecycleImage): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return image.tags.length === 0;
    case 'tagged': {
      if (image.tags.length === 0) return false;
      const prefixes = selection.tagPrefixList;
      if (prefixes?.length) {
        return prefixes.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
      }
      const patterns = (selection.tagPatternList ?? []).map(patternRegExp);
      return patterns.every((pattern) => image.tags.some((tag) => pattern.test(tag)));
    }
  }
}

/** A tagPatternList entry as an anchored regular expression; `*` matches any run of characters. */
function patternRegExp(pattern: string): RegExp {
  const literal = (part: string) => part.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`, 's');
}

/**
 * The selected images the rule's count would expire, oldest first ("Expiration is always
 * ordered by pushed_at_time, and always expires older images before newer ones").
 */
function expiryCandidates(
  selection: LifecycleRule['selection'],
  selected: readonly LifecycleImage[],
  now: number,
): LifecycleImage[] {
  const oldestFirst = [...selected].sort(
    (a, b) => a.pushedAt - b.pushedAt || a.digest.localeCompare(b.digest),
  );
  if (selection.countType === 'imageCountMoreThan') {
    // "images are sorted from youngest to oldest based on pushed_at_time and then all images
    // greater than the specified count are expired"
    return oldestFirst.slice(0, Math.max(0, oldestFirst.length - selection.countNumber));
  }
  // "all images whose pushed_at_time is older than the specified number of days"
  const cutoff = now - selection.countNumber * DAY_MS;
  return oldestFirst.filter((image) => image.pushedAt < cutoff);
}

function checkProperties(
  obj: Record<string, unknown>,
  required: readonly string[],
  allowed: readonly string[],
): void {
  const missing = required.filter((name) => !(name in obj));
  if (missing.length > 0) throw invalid(Detail.missing(missing));
  const unknown = Object.keys(obj).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw invalid(Detail.notAllowed(unknown));
}

function positiveInteger(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalid(Detail.wrongType(value, 'integer'));
  }
  if (value < 1) throw invalid(Detail.belowMinimum(value));
  return value;
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalid(Detail.wrongType(value, 'array'));
  for (const item of value)
    if (typeof item !== 'string') throw invalid(Detail.wrongType(item, 'string'));
  return [...(value as string[])];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

/** JSON Schema's names for a value's type, as the validator prints them. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function display(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function nameList(names: readonly string[]): string {
  return `[${[...names]
    .sort()
    .map((name) => JSON.stringify(name))
    .join(', ')}]`;
}
