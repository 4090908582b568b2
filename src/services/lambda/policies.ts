/**
 * Resource-based policies: AddPermission, RemovePermission, GetPolicy. One policy per
 * qualifier ($LATEST for the unqualified function, a version, an alias), rendered as AWS
 * renders it:
 *   {"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3","Effect":"Allow",
 *    "Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction",
 *    "Resource":"arn:aws:lambda:…:function:f","Condition":{"StringEquals":{…},"ArnLike":{…}}}]}
 * https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
 * A change bumps the RevisionId of the version or alias the policy belongs to.
 */
import { PolicyLengthExceededException } from '../../api/lambda/errors.js';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  AddPermissionRequest,
  AddPermissionResponse,
  GetPolicyRequest,
  GetPolicyResponse,
  RemovePermissionRequest,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, arnFor, isVersionNumber } from './arns.js';
import {
  locate,
  newRevisionId,
  requireFunction,
  resolveTarget,
  type LambdaDeps,
  type Located,
} from './common.js';
import {
  conflict,
  invalidParameter,
  notFound,
  resourceMissing,
  revisionMismatch,
} from './errors.js';
import {
  T,
  qualifierKey,
  versionKey,
  type AliasRecord,
  type PolicyRecord,
  type PolicyStatement,
  type VersionRecord,
} from './store.js';

export const MAX_POLICY_BYTES = 20_480;

type PolicyOps = Pick<LambdaOperations, 'AddPermission' | 'RemovePermission' | 'GetPolicy'>;

export function renderPolicy(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements });
}

/** How AWS writes the Principal parameter into the statement. */
function principalOf(principal: string): PolicyStatement['Principal'] {
  if (principal === '*') return '*';
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:aws:iam::${principal}:root` };
  if (/^arn:aws[a-zA-Z-]*:iam::/.test(principal)) return { AWS: principal };
  if (/^[a-z0-9.-]+\.amazonaws\.com$/.test(principal)) return { Service: principal };
  throw invalidParameter(
    'The provided principal was invalid. Please check the principal and try again.',
  );
}

export function buildStatement(input: AddPermissionRequest, resource: string): PolicyStatement {
  const statement: PolicyStatement = {
    Sid: input.StatementId,
    Effect: 'Allow',
    Principal: principalOf(input.Principal),
    Action: input.Action,
    Resource: resource,
  };
  const condition: Record<string, Record<string, string>> = {};
  const add = (op: string, key: string, value: string) => {
    (condition[op] ??= {})[key] = value;
  };
  if (input.FunctionUrlAuthType)
    add('StringEquals', 'lambda:FunctionUrlAuthType', input.FunctionUrlAuthType);
  if (input.PrincipalOrgID) add('StringEquals', 'aws:PrincipalOrgID', input.PrincipalOrgID);
  if (input.SourceAccount) add('StringEquals', 'AWS:SourceAccount', input.SourceAccount);
  if (input.EventSourceToken)
    add('StringEquals', 'lambda:EventSourceToken', input.EventSourceToken);
  if (input.SourceArn) add('ArnLike', 'AWS:SourceArn', input.SourceArn);
  if (input.InvokedViaFunctionUrl) add('Bool', 'lambda:InvokedViaFunctionUrl', 'true');
  if (Object.keys(condition).length) statement.Condition = condition;
  return statement;
}

/** The RevisionId a policy is checked against and bumps: its version's or alias's. */
async function owner(
  tx: MetadataOps,
  at: Located,
  qualifier: string,
): Promise<{ revisionId: string; bump(): Promise<void> }> {
  if (qualifier === LATEST || isVersionNumber(qualifier)) {
    const key = versionKey(at.key, qualifier);
    const v = (await tx.get<VersionRecord>(T.versions, key)) as VersionRecord;
    return {
      revisionId: v.revisionId,
      bump: async () => {
        v.revisionId = newRevisionId();
        await tx.put(T.versions, key, v);
      },
    };
  }
  const key = qualifierKey(at.key, qualifier);
  const a = (await tx.get<AliasRecord>(T.aliases, key)) as AliasRecord;
  return {
    revisionId: a.revisionId,
    bump: async () => {
      a.revisionId = newRevisionId();
      await tx.put(T.aliases, key, a);
    },
  };
}

export function policyOperations(deps: LambdaDeps): PolicyOps {
  const { store, lifecycle } = deps;

  return {
    async AddPermission(
      input: AddPermissionRequest,
      ctx: RequestContext,
    ): Promise<AddPermissionResponse> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, { action: 'AddPermission' });
      if (at.qualifier === LATEST) {
        throw invalidParameter('We currently do not support adding policies for $LATEST.');
      }
      const qualifier = at.qualifier ?? LATEST;
      const statement = buildStatement(input, arnFor(at.scope, at.name, at.qualifier));
      await store.transaction(async (tx) => {
        await requireFunction(tx, at, at.qualifier);
        await resolveTarget(tx, at, at.qualifier);
        const own = await owner(tx, at, qualifier);
        if (input.RevisionId !== undefined && input.RevisionId !== own.revisionId)
          throw revisionMismatch();
        const key = qualifierKey(at.key, qualifier);
        const policy = (await tx.get<PolicyRecord>(T.policies, key)) ?? { statements: [] };
        if (policy.statements.some((s) => s.Sid === input.StatementId)) {
          throw conflict(
            `The statement id (${input.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
          );
        }
        policy.statements.push(statement);
        const size = Buffer.byteLength(renderPolicy(policy.statements));
        if (size > MAX_POLICY_BYTES) {
          throw new PolicyLengthExceededException(
            `The final policy size (${size}) is bigger than the limit (${MAX_POLICY_BYTES}).`,
            { Type: 'User' },
          );
        }
        await tx.put(T.policies, key, policy);
        await own.bump();
      });
      lifecycle.changed('updated', at.scope, at.name);
      return { Statement: JSON.stringify(statement) };
    },

    async RemovePermission(input: RemovePermissionRequest, ctx: RequestContext): Promise<void> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, { action: 'RemovePermission' });
      const qualifier = at.qualifier ?? LATEST;
      await store.transaction(async (tx) => {
        await requireFunction(tx, at, at.qualifier);
        await resolveTarget(tx, at, at.qualifier);
        const key = qualifierKey(at.key, qualifier);
        const policy = await tx.get<PolicyRecord>(T.policies, key);
        if (!policy) throw notFound('No policy is associated with the given resource.');
        const i = policy.statements.findIndex((s) => s.Sid === input.StatementId);
        if (i < 0)
          throw notFound(`Statement ${input.StatementId} is not found in resource policy.`);
        const own = await owner(tx, at, qualifier);
        if (input.RevisionId !== undefined && input.RevisionId !== own.revisionId)
          throw revisionMismatch();
        policy.statements.splice(i, 1);
        if (policy.statements.length) await tx.put(T.policies, key, policy);
        else await tx.delete(T.policies, key);
        await own.bump();
      });
      lifecycle.changed('updated', at.scope, at.name);
    },

    async GetPolicy(input: GetPolicyRequest, ctx: RequestContext): Promise<GetPolicyResponse> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, { action: 'GetPolicy' });
      const qualifier = at.qualifier ?? LATEST;
      await requireFunction(store, at, at.qualifier);
      const policy = await store.get<PolicyRecord>(T.policies, qualifierKey(at.key, qualifier));
      if (!policy) throw resourceMissing();
      const { version, alias } = await resolveTarget(store, at, at.qualifier);
      return {
        Policy: renderPolicy(policy.statements),
        RevisionId: alias?.revisionId ?? version.revisionId,
      };
    },
  };
}
