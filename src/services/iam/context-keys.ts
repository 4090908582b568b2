/**
 * GetContextKeysForCustomPolicy and GetContextKeysForPrincipalPolicy: the context keys a
 * policy references, i.e. those its Condition blocks test and those its policy variables
 * (`${aws:username}`) read, in the order the documents name them, each once. AWS's own
 * example answers ["aws:username", "aws:CurrentTime"] for a policy whose Resource holds
 * `${aws:username}` and whose Condition tests `aws:CurrentTime`.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForCustomPolicy.html
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetContextKeysForPrincipalPolicy.html
 */
import { MalformedPolicyDocumentException, NoSuchEntityException } from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { parseIamArn } from './arns.js';
import { awsPolicyDocument } from './aws-managed.js';
import type { IamDeps } from './common.js';
import { groupsOf } from './groups.js';
import { getGroup, getRole, getUser } from './owners.js';
import {
  nameKey,
  ownerPrefix,
  T,
  type AttachmentRecord,
  type InlinePolicyRecord,
  type OwnerKind,
  type PolicyRecord,
} from './store.js';

type ContextKeyOps = Pick<
  IamOperations,
  'GetContextKeysForCustomPolicy' | 'GetContextKeysForPrincipalPolicy'
>;

/** `${key}` or `${key, 'default'}`; `${*}`, `${?}` and `${$}` are escapes, not keys. */
const VARIABLE = /\$\{([^}]+)\}/g;
const ESCAPES = new Set(['*', '?', '$']);

/** Adds the keys one document references to `into` (lower-cased key → key as written). */
function collect(document: string, into: Map<string, string>, member: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch {
    throw new MalformedPolicyDocumentException(`${member}: Syntax errors in policy.`);
  }
  const add = (key: string) => {
    const k = key.trim();
    if (k !== '' && !ESCAPES.has(k) && !into.has(k.toLowerCase())) into.set(k.toLowerCase(), k);
  };
  const variables = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const m of value.matchAll(VARIABLE)) add(m[1].split(',')[0]);
    } else if (Array.isArray(value)) {
      value.forEach(variables);
    } else if (value !== null && typeof value === 'object') {
      Object.values(value).forEach(variables);
    }
  };
  const statements = (doc as { Statement?: unknown } | null)?.Statement;
  for (const st of Array.isArray(statements) ? statements : [statements]) {
    if (st === null || typeof st !== 'object') continue;
    for (const [member, value] of Object.entries(st as Record<string, unknown>)) {
      if (member === 'Condition' && value !== null && typeof value === 'object') {
        for (const tests of Object.values(value)) {
          if (tests === null || typeof tests !== 'object') continue;
          for (const [key, v] of Object.entries(tests as Record<string, unknown>)) {
            add(key);
            variables(v);
          }
        }
      } else if (member === 'Resource' || member === 'NotResource') {
        variables(value);
      }
    }
  }
}

function keysOf(documents: readonly { doc: string; member: string }[]): string[] {
  const found = new Map<string, string>();
  for (const d of documents) collect(d.doc, found, d.member);
  return [...found.values()];
}

/** The documents of an identity's inline and attached policies (defaults versions). */
async function ownerDocuments(
  ops: MetadataOps,
  account: string,
  kind: OwnerKind,
  owner: string,
): Promise<{ doc: string; member: string }[]> {
  const prefix = ownerPrefix(account, kind, owner);
  const out = (await ops.list<InlinePolicyRecord>(T.inline, { prefix })).map((r) => ({
    doc: r.value.document,
    member: r.value.name,
  }));
  for (const { value } of await ops.list<AttachmentRecord>(T.attached, { prefix })) {
    const parsed = parseIamArn(value.policyArn, 'policy');
    let doc: string | undefined;
    if (parsed?.account === 'aws') doc = awsPolicyDocument(value.policyArn);
    else if (parsed) {
      const p = await ops.get<PolicyRecord>(T.policies, nameKey(account, parsed.name));
      doc = p?.versions.find((v) => v.id === p.defaultVersionId)?.document;
    }
    if (doc !== undefined) out.push({ doc, member: value.policyArn });
  }
  return out;
}

export function contextKeyOperations(deps: IamDeps): ContextKeyOps {
  const { store } = deps;
  const inputs = (list: readonly string[] | undefined) =>
    (list ?? []).map((doc, i) => ({ doc, member: `PolicyInputList.${i + 1}` }));
  return {
    async GetContextKeysForCustomPolicy(input) {
      return { ContextKeyNames: keysOf(inputs(input.PolicyInputList)) };
    },

    // A user's keys include those of its groups' policies, as its permissions do.
    async GetContextKeysForPrincipalPolicy(input, ctx) {
      const noEntity = () =>
        new NoSuchEntityException(`Entity ${input.PolicySourceArn} does not exist.`);
      const arn = parseArn(input.PolicySourceArn);
      if (arn?.service !== 'iam' || arn.account !== ctx.account) throw noEntity();
      const kind = arn.resource.slice(0, arn.resource.indexOf('/'));
      const name = arn.resource.slice(arn.resource.lastIndexOf('/') + 1);
      const get = { user: getUser, role: getRole, group: getGroup }[kind];
      if (!get) throw noEntity();
      const entity = await get(store, ctx.account, name).catch(() => undefined);
      if (entity?.arn !== input.PolicySourceArn) throw noEntity();
      const owner = kind as OwnerKind;
      const documents = await ownerDocuments(store, ctx.account, owner, entity.name);
      if (owner === 'user') {
        for (const group of await groupsOf(store, ctx.account, entity.name)) {
          documents.push(...(await ownerDocuments(store, ctx.account, 'group', group)));
        }
      }
      return { ContextKeyNames: keysOf([...documents, ...inputs(input.PolicyInputList)]) };
    },
  };
}
