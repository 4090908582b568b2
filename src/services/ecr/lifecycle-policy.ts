/**
 * ECR lifecycle policies: the checks PutLifecyclePolicy and StartLifecyclePolicyPreview make
 * on the policy text, and the evaluator that decides which images a policy expires.
 *
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html
 *
 * ECR archive (2025): a rule selects images of one storage class (`storageClass`:
 * `standard`, the default, or `archive`), may count days since the last pull
 * (`sinceImagePulled`) or since the move to the archive (`sinceImageTransitioned`), and may
 * `transition` standard images to the archive instead of expiring them. "Archived images
 * have a minimum storage duration of 90 days. You cannot configure lifecycle policies that
 * delete images that have been in archive for less than 90 days."
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive-image.html
 */
import { InvalidParameterException } from '../../api/ecr/errors.js';

export type LifecycleTagStatus = 'tagged' | 'untagged' | 'any';
export type LifecycleCountType =
  'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
export type LifecycleStorageClass = 'standard' | 'archive';
type DayCount = Exclude<LifecycleCountType, 'imageCountMoreThan'>;

export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: LifecycleTagStatus;
    tagPrefixList?: string[];
    tagPatternList?: string[];
    /** Absent: `standard`. */
    storageClass?: LifecycleStorageClass;
    countType: LifecycleCountType;
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' } | { type: 'transition'; targetStorageClass: 'archive' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

export interface LifecycleImage {
  digest: string;
  tags: string[];
  /** ms since the epoch */
  pushedAt: number;
  lastPulledAt?: number;
  /** Absent: `standard`. */
  storageClass?: LifecycleStorageClass;
  /** When it was last moved to the archive. */
  archivedAt?: number;
}

export interface ExpiredImage {
  digest: string;
  tags: string[];
  pushedAt: number;
  /** The rule that expires (or transitions) the image. */
  rulePriority: number;
  /** Present for a `transition` rule: the image moves to the archive instead. */
  transition?: 'archive';
  /** The image's storage class, when it is `archive`. */
  storageClass?: 'archive';
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** "Archived images have a minimum storage duration of 90 days." */
const ARCHIVE_MINIMUM_DAYS = 90;
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
  'storageClass',
];
const TAG_STATUSES: readonly LifecycleTagStatus[] = ['tagged', 'untagged', 'any'];
const COUNT_TYPES: readonly LifecycleCountType[] = [
  'imageCountMoreThan',
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned',
];
const COUNT_UNITS = ['days'];
const ACTION_TYPES = ['expire', 'transition'];
const STORAGE_CLASSES: readonly LifecycleStorageClass[] = ['standard', 'archive'];
const TARGET_STORAGE_CLASSES = ['archive'];

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
  // Archive rules (our wording, from the archive guide's rules).
  transitionFromArchive: "Action type transition can only be used when storageClass=STANDARD.'",
  transitionedOnlyInArchive:
    "countType sinceImageTransitioned can only be used when storageClass=ARCHIVE.'",
  archiveMinimum: `Images in the ARCHIVE storage class cannot be expired before ${ARCHIVE_MINIMUM_DAYS} days in archive (sinceImageTransitioned countNumber must be at least ${ARCHIVE_MINIMUM_DAYS}).'`,
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
  for (const rule of rules) {
    checkTagSelection(rule);
    checkStorageClass(rule);
  }
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
  if (raw.type === 'transition') {
    checkProperties(raw, ['type', 'targetStorageClass'], ['type', 'targetStorageClass']);
    if (raw.targetStorageClass !== 'archive') {
      throw invalid(Detail.notInEnum(raw.targetStorageClass, TARGET_STORAGE_CLASSES));
    }
    return { type: 'transition', targetStorageClass: 'archive' };
  }
  checkProperties(raw, ['type'], ['type']);
  if (raw.type !== 'expire') throw invalid(Detail.notInEnum(raw.type, ACTION_TYPES));
  return { type: 'expire' };
}

function parseSelection(raw: unknown): LifecycleRule['selection'] {
  if (!isObject(raw)) throw invalid(Detail.wrongType(raw, 'object'));
  checkProperties(raw, SELECTION_REQUIRED, SELECTION_PROPERTIES);

  const { tagStatus, countType, countUnit, storageClass } = raw;
  if (!isOneOf(tagStatus, TAG_STATUSES)) throw invalid(Detail.notInEnum(tagStatus, TAG_STATUSES));
  if (storageClass !== undefined && !isOneOf(storageClass, STORAGE_CLASSES)) {
    throw invalid(Detail.notInEnum(storageClass, STORAGE_CLASSES));
  }
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
    ...(storageClass !== undefined && { storageClass }),
    countType,
    ...(countType !== 'imageCountMoreThan' && { countUnit: 'days' as const }),
    countNumber,
  };
}

/** What a rule may do in its storage class. */
function checkStorageClass(rule: LifecycleRule): void {
  const archive = rule.selection.storageClass === 'archive';
  if (rule.action.type === 'transition' && archive) throw invalid(Detail.transitionFromArchive);
  if (rule.selection.countType === 'sinceImageTransitioned' && !archive) {
    throw invalid(Detail.transitionedOnlyInArchive);
  }
  if (
    archive &&
    rule.selection.countType === 'sinceImageTransitioned' &&
    rule.selection.countNumber < ARCHIVE_MINIMUM_DAYS
  ) {
    throw invalid(Detail.archiveMinimum);
  }
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

/**
 * Checks across rules: unique priorities; per storage class (as AWS words it), one
 * untagged rule and the `any` rule last.
 */
function checkRuleSet(rules: LifecycleRule[]): void {
  const priorities = new Set<number>();
  for (const { rulePriority } of rules) {
    if (priorities.has(rulePriority)) throw invalid(Detail.duplicatePriority(rulePriority));
    priorities.add(rulePriority);
  }
  for (const storageClass of STORAGE_CLASSES) {
    const inClass = rules.filter((r) => storageClassOf(r) === storageClass);
    if (inClass.length === 0) continue;
    // "Only one rule is allowed to select untagged images."
    if (inClass.filter((r) => r.selection.tagStatus === 'untagged').length > 1) {
      throw invalid(Detail.oneUntaggedRule);
    }
    // "A rule with a tagStatus value of any must have the highest value for rulePriority."
    const highest = Math.max(...inClass.map((r) => r.rulePriority));
    if (inClass.some((r) => r.selection.tagStatus === 'any' && r.rulePriority !== highest)) {
      throw invalid(Detail.anyRuleLast);
    }
  }
}

const storageClassOf = (rule: LifecycleRule): LifecycleStorageClass =>
  rule.selection.storageClass ?? 'standard';

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
    const storageClass = storageClassOf(rule);
    const selected = images.filter(
      (image) =>
        (image.storageClass ?? 'standard') === storageClass &&
        matchesTagging(rule.selection, image),
    );
    for (const image of expiryCandidates(rule.selection, selected, now)) {
      if (matchedEarlier.has(image.digest)) continue;
      // "You cannot … delete images that have been in archive for less than 90 days."
      if (
        storageClass === 'archive' &&
        now - (image.archivedAt ?? 0) < ARCHIVE_MINIMUM_DAYS * DAY_MS
      ) {
        continue;
      }
      expired.push({
        digest: image.digest,
        tags: [...image.tags],
        pushedAt: image.pushedAt,
        rulePriority: rule.rulePriority,
        ...(rule.action.type === 'transition' && { transition: 'archive' as const }),
        ...(storageClass === 'archive' && { storageClass: 'archive' as const }),
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
  // "all images whose pushed_at_time is older than the specified number of days"; likewise
  // the last pull (an image never pulled counts from its push) and the move to the archive.
  const cutoff = now - selection.countNumber * DAY_MS;
  return oldestFirst.filter((image) => since(selection.countType as DayCount, image) < cutoff);
}

function since(countType: DayCount, image: LifecycleImage): number {
  switch (countType) {
    case 'sinceImagePushed':
      return image.pushedAt;
    case 'sinceImagePulled':
      return image.lastPulledAt ?? image.pushedAt;
    case 'sinceImageTransitioned':
      return image.archivedAt ?? image.pushedAt;
  }
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
