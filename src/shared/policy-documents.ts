/**
 * Policy documents: the checks IAM makes before storing one, and the URL encoding IAM
 * applies when it returns one ("The policy document returned in this structure is URL-encoded
 * compliant with RFC 3986", GetRolePolicy reference). SDKs for Python and the CLI decode
 * it; the JavaScript SDK leaves that to the caller, as AWS does.
 */

const TOP_ELEMENTS = new Set(['Version', 'Id', 'Statement']);
const VERSIONS = new Set(['2008-10-17', '2012-10-17']);
const STATEMENT_ELEMENTS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition',
]);

export type PolicyKind = 'trust' | 'permissions';

/**
 * The MalformedPolicyDocument message AWS gives for `doc`, or undefined when it is
 * acceptable. Trust policies (CreateRole, UpdateAssumeRolePolicy) answer invalid JSON
 * with "This policy contains invalid Json"; permission policies with "Syntax errors in
 * policy." A permission statement also needs an action and a resource.
 */
export function policyDocumentError(doc: string, kind: PolicyKind): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    return kind === 'trust' ? 'This policy contains invalid Json' : 'Syntax errors in policy.';
  }
  if (!isObject(parsed)) return 'Syntax errors in policy.';
  for (const key of Object.keys(parsed))
    if (!TOP_ELEMENTS.has(key)) return 'Syntax errors in policy.';
  if ('Version' in parsed && !VERSIONS.has(parsed.Version as string)) {
    return 'Syntax errors in policy.';
  }
  const statements = parsed.Statement;
  const list = Array.isArray(statements) ? statements : isObject(statements) ? [statements] : [];
  if (list.length === 0) return 'Syntax errors in policy.';
  for (const s of list) {
    if (!isObject(s)) return 'Syntax errors in policy.';
    for (const key of Object.keys(s))
      if (!STATEMENT_ELEMENTS.has(key)) return 'Syntax errors in policy.';
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') return 'Syntax errors in policy.';
    if (kind === 'permissions') {
      if ('Principal' in s || 'NotPrincipal' in s) {
        return 'Policy document should not specify a principal.';
      }
      if (!('Action' in s) && !('NotAction' in s)) return 'Policy statement must contain actions.';
      if (!('Resource' in s) && !('NotResource' in s)) {
        return 'Policy statement must contain resources.';
      }
    }
  }
  return undefined;
}

/** Size as IAM counts it against quotas: "IAM doesn't count white space". */
export function policySize(doc: string): number {
  let size = 0;
  let inString = false;
  for (let i = 0; i < doc.length; i++) {
    const c = doc.charCodeAt(i);
    if (inString) {
      size++;
      if (c === 0x5c /* \ */) {
        size++;
        i++;
      } else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
      size++;
    } else if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) size++;
  }
  return size;
}

/** RFC 3986 percent-encoding, as IAM returns documents (`*` and `(` stay literal). */
export function encodeDocument(doc: string): string {
  return encodeURIComponent(doc);
}

/** Parses a stored (already validated) document, e.g. for the trust policy directory. */
export function parseDocument(doc: string): unknown {
  return JSON.parse(doc) as unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
