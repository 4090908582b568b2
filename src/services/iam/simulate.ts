/**
 * SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the same evaluator that
 * enforces (src/policy/evaluate.ts), so a simulation and a real call agree.
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
 */
import {
  InvalidInputException,
  MalformedPolicyDocumentException,
  NoSuchEntityException,
} from '../../api/iam/errors.js';
import type { IamOperations } from '../../api/iam/operations.js';
import type {
  ContextEntry,
  EvaluationResult,
  PolicySourceType,
  SimulatePolicyResponse,
  Statement,
} from '../../api/iam/types.js';
import { RequestFacts } from '../../policy/context.js';
import {
  type CallerIds,
  type CompiledPolicy,
  compilePolicy,
  PolicySyntaxError,
} from '../../policy/document.js';
import { type PrincipalPolicies, evaluate } from '../../policy/evaluate.js';
import { parseArn } from '../../shared/arn.js';
import type { IamDeps } from './common.js';
import { getRole, getUser } from './owners.js';

type SimulateOps = Pick<IamOperations, 'SimulatePrincipalPolicy' | 'SimulateCustomPolicy'>;

interface Simulation {
  policies: PrincipalPolicies;
  caller: CallerIds;
  callerArn: string;
  actions: readonly string[];
  resources: readonly string[] | undefined;
  resourcePolicy?: string;
  resourceOwner?: string;
  context?: readonly ContextEntry[];
  username?: string;
  /** The kind of entity inline policies belong to (SourcePolicyType). */
  ownerKind?: PolicySourceType;
}

export function simulateOperations(deps: IamDeps): SimulateOps {
  return {
    async SimulatePrincipalPolicy(input, ctx) {
      const arn = parseArn(input.PolicySourceArn);
      const resource = arn?.service === 'iam' ? arn.resource : '';
      const name = resource.slice(resource.lastIndexOf('/') + 1);
      let kind: 'user' | 'role';
      let entityArn: string;
      if (resource.startsWith('user/')) {
        kind = 'user';
        entityArn = (await getUser(deps.store, ctx.account, name)).arn;
      } else if (resource.startsWith('role/')) {
        kind = 'role';
        entityArn = (await getRole(deps.store, ctx.account, name)).arn;
      } else {
        throw new NoSuchEntityException(`Entity ${input.PolicySourceArn} does not exist.`);
      }
      if (entityArn !== input.PolicySourceArn) {
        throw new NoSuchEntityException(`Entity ${input.PolicySourceArn} does not exist.`);
      }
      const own = await deps.authority.identityPolicies(kind, ctx.account, name);
      const extra = compileList(input.PolicyInputList, 'PolicyInputList');
      const boundaryList = compileList(
        input.PermissionsBoundaryPolicyInputList,
        'PermissionsBoundaryPolicyInputList',
      );
      const callerArn = input.CallerArn ?? entityArn;
      return simulate({
        policies: {
          identity: [...own.identity, ...extra],
          ...(boundaryList.length > 0
            ? { boundary: merged(boundaryList) }
            : own.boundary && { boundary: own.boundary }),
        },
        caller: { self: callerArn, account: ctx.account },
        callerArn,
        actions: input.ActionNames,
        resources: input.ResourceArns,
        resourcePolicy: input.ResourcePolicy,
        resourceOwner: input.ResourceOwner,
        context: input.ContextEntries,
        ...(kind === 'user' && { username: name }),
        ownerKind: kind,
      });
    },

    async SimulateCustomPolicy(input, ctx) {
      const identity = compileList(input.PolicyInputList, 'PolicyInputList');
      const boundaryList = compileList(
        input.PermissionsBoundaryPolicyInputList,
        'PermissionsBoundaryPolicyInputList',
      );
      const callerArn = input.CallerArn ?? `arn:aws:iam::${ctx.account}:user/simulated`;
      const caller = parseArn(callerArn);
      const username = caller?.resource.startsWith('user/')
        ? caller.resource.slice(caller.resource.lastIndexOf('/') + 1)
        : undefined;
      return simulate({
        policies: {
          identity,
          ...(boundaryList.length > 0 && { boundary: merged(boundaryList) }),
        },
        caller: { self: callerArn, account: caller?.account || ctx.account },
        callerArn,
        actions: input.ActionNames,
        resources: input.ResourceArns,
        resourcePolicy: input.ResourcePolicy,
        resourceOwner: input.ResourceOwner,
        context: input.ContextEntries,
        ...(username !== undefined && input.CallerArn !== undefined && { username }),
      });
    },
  };
}

function simulate(s: Simulation): SimulatePolicyResponse {
  const resourcePolicy =
    s.resourcePolicy === undefined ? undefined : compileOne(s.resourcePolicy, 'ResourcePolicy');
  const resourceOwner = s.resourceOwner ? parseArn(s.resourceOwner)?.account : undefined;
  const results: EvaluationResult[] = [];
  for (const action of s.actions) {
    for (const resource of s.resources?.length ? s.resources : ['*']) {
      const facts = contextFacts(s.context);
      facts
        .set('aws:PrincipalArn', s.callerArn)
        .set('aws:PrincipalAccount', s.caller.account)
        .set('aws:username', s.username);
      if (!facts.has('aws:currenttime')) facts.set('aws:CurrentTime', new Date().toISOString());
      if (!facts.has('aws:epochtime')) {
        facts.set('aws:EpochTime', String(Math.floor(Date.now() / 1000)));
      }
      const decision = evaluate({
        request: { action, resource, facts },
        caller: s.caller,
        isRoot: false,
        policies: s.policies,
        ...(resourcePolicy && { resourcePolicy }),
        ...(resourceOwner !== undefined && { resourceAccount: resourceOwner }),
      });
      const result: EvaluationResult = {
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: decision.allowed
          ? 'allowed'
          : decision.denial?.explicit
            ? 'explicitDeny'
            : 'implicitDeny',
        MatchedStatements: decision.matched.map((m) => statement(m.policy, s.ownerKind)),
        MissingContextValues: [],
      };
      if (s.policies.boundary) {
        result.PermissionsBoundaryDecisionDetail = {
          AllowedByPermissionsBoundary: !(
            decision.denial?.in === 'permissions boundary' && !decision.allowed
          ),
        };
      }
      results.push(result);
    }
  }
  return { EvaluationResults: results, IsTruncated: false };
}

/** The caller's context entries as condition keys (`…List` types are multi-valued). */
function contextFacts(entries: readonly ContextEntry[] | undefined): RequestFacts {
  const facts = new RequestFacts();
  for (const e of entries ?? []) {
    if (!e.ContextKeyName) continue;
    const values = e.ContextKeyValues ?? [];
    const multi = e.ContextKeyType?.endsWith('List') ?? false;
    facts.set(e.ContextKeyName, multi ? values : values[0]);
  }
  return facts;
}

function statement(policyId: string, ownerKind: PolicySourceType | undefined): Statement {
  let type: PolicySourceType = ownerKind ?? 'none';
  if (policyId.startsWith('arn:aws:iam::aws:policy/')) type = 'aws-managed';
  else if (policyId.startsWith('arn:')) type = 'user-managed';
  else if (policyId.startsWith('PolicyInputList.') || policyId.startsWith('Permissions')) {
    type = 'none';
  } else if (policyId === 'ResourcePolicy') type = 'resource';
  return { SourcePolicyId: policyId, SourcePolicyType: type };
}

function compileList(list: readonly string[] | undefined, member: string): CompiledPolicy[] {
  return (list ?? []).map((doc, i) => compileOne(doc, `${member}.${i + 1}`));
}

function compileOne(doc: string, id: string): CompiledPolicy {
  try {
    return compilePolicy(doc, id);
  } catch (err) {
    if (err instanceof PolicySyntaxError) {
      throw new MalformedPolicyDocumentException(`${id}: ${err.message}`);
    }
    throw new InvalidInputException(`${id}: ${String(err)}`);
  }
}

/** Several boundary documents act as one boundary (every statement of each). */
function merged(list: readonly CompiledPolicy[]): CompiledPolicy {
  return {
    id: list[0].id,
    statements: list.flatMap((p) => p.statements),
  };
}
