/**
 * Layer version permissions: AddLayerVersionPermission, RemoveLayerVersionPermission,
 * GetLayerVersionPolicy. One policy per layer version, rendered as AWS renders it.
 * https://docs.aws.amazon.com/lambda/latest/dg/permissions-layer-cross-account.html
 * The statements are kept and returned; layers stay readable by their own account only.
 */
import { randomUUID } from 'node:crypto';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type { RequestContext } from '../../shared/context.js';
import { layerVersionArn, resolveLayerName, type LayerRef } from './arns.js';
import { scopeOf, type LambdaDeps } from './common.js';
import { accessDenied, conflict, invalidParameter, notFound, revisionMismatch } from './errors.js';
import { renderPolicy } from './policies.js';
import { T, layerKey, layerVersionKey, type PolicyStatement } from './store.js';

type LayerPermissionOps = Pick<
  LambdaOperations,
  'AddLayerVersionPermission' | 'RemoveLayerVersionPermission' | 'GetLayerVersionPolicy'
>;

interface LayerPolicyRecord {
  statements: PolicyStatement[];
  revisionId: string;
}

/** "Principal": "*" for everyone, an account's root otherwise. */
function principalOf(principal: string): PolicyStatement['Principal'] {
  if (principal === '*') return '*';
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:aws:iam::${principal}:root` };
  throw invalidParameter(
    'The provided principal was invalid. Please check the principal and try again.',
  );
}

export function layerPermissionOperations(deps: LambdaDeps): LayerPermissionOps {
  const { store } = deps;

  function where(ctx: RequestContext, layerName: string, version: number, action: string) {
    const ref: LayerRef = resolveLayerName(scopeOf(ctx), layerName);
    const arn = layerVersionArn(ref.scope, ref.name, version);
    if (ref.scope.account !== ctx.account) throw accessDenied(ctx.principal.arn, action, arn);
    return { arn, key: layerVersionKey(layerKey(ref.scope, ref.name), version) };
  }

  const missingVersion = (arn: string) => notFound(`Layer version ${arn} does not exist.`);

  return {
    async AddLayerVersionPermission(input, ctx) {
      const { arn, key } = where(
        ctx,
        input.LayerName,
        input.VersionNumber,
        'AddLayerVersionPermission',
      );
      if (input.Action !== 'lambda:GetLayerVersion') {
        throw invalidParameter(
          'The action provided is not supported for layer version permission. Please use lambda:GetLayerVersion.',
        );
      }
      const statement: PolicyStatement = {
        Sid: input.StatementId,
        Effect: 'Allow',
        Principal: principalOf(input.Principal),
        Action: input.Action,
        Resource: arn,
      };
      if (input.OrganizationId) {
        statement.Condition = { StringEquals: { 'aws:PrincipalOrgID': input.OrganizationId } };
      }
      const revisionId = await store.transaction(async (tx) => {
        if (!(await tx.get(T.layerVersions, key))) throw missingVersion(arn);
        const rec = (await tx.get<LayerPolicyRecord>(T.layerPolicies, key)) ?? {
          statements: [],
          revisionId: randomUUID(),
        };
        if (input.RevisionId !== undefined && input.RevisionId !== rec.revisionId) {
          throw revisionMismatch();
        }
        if (rec.statements.some((s) => s.Sid === input.StatementId)) {
          throw conflict(
            `The statement id (${input.StatementId}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
          );
        }
        rec.statements.push(statement);
        rec.revisionId = randomUUID();
        await tx.put(T.layerPolicies, key, rec);
        return rec.revisionId;
      });
      return { Statement: JSON.stringify(statement), RevisionId: revisionId };
    },

    async RemoveLayerVersionPermission(input, ctx) {
      const { arn, key } = where(
        ctx,
        input.LayerName,
        input.VersionNumber,
        'RemoveLayerVersionPermission',
      );
      await store.transaction(async (tx) => {
        if (!(await tx.get(T.layerVersions, key))) throw missingVersion(arn);
        const rec = await tx.get<LayerPolicyRecord>(T.layerPolicies, key);
        const i = rec?.statements.findIndex((s) => s.Sid === input.StatementId) ?? -1;
        if (!rec || i < 0) {
          throw notFound(`Statement ${input.StatementId} is not found in resource policy.`);
        }
        if (input.RevisionId !== undefined && input.RevisionId !== rec.revisionId) {
          throw revisionMismatch();
        }
        rec.statements.splice(i, 1);
        if (rec.statements.length) {
          rec.revisionId = randomUUID();
          await tx.put(T.layerPolicies, key, rec);
        } else {
          await tx.delete(T.layerPolicies, key);
        }
      });
    },

    async GetLayerVersionPolicy(input, ctx) {
      const { arn, key } = where(
        ctx,
        input.LayerName,
        input.VersionNumber,
        'GetLayerVersionPolicy',
      );
      if (!(await store.get(T.layerVersions, key))) throw missingVersion(arn);
      const rec = await store.get<LayerPolicyRecord>(T.layerPolicies, key);
      if (!rec) throw notFound('No policy is associated with the given resource.');
      return { Policy: renderPolicy(rec.statements), RevisionId: rec.revisionId };
    },
  };
}
