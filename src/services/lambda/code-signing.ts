/**
 * Code signing configurations and which functions use them.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-codesigning.html
 *
 * A configuration is stored and returned as AWS does (`csc-` + 17 hex digits), may be
 * tagged, and may be attached to any number of functions (a function has at most one). Stratus
 * has no AWS Signer to check signatures against, so a package is deployed whatever the
 * policy says (as `Warn` does); the configuration is kept so tools read back what they set.
 */
import { randomBytes } from 'node:crypto';
import { CodeSigningConfigNotFoundException } from '../../api/lambda/errors.js';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  AllowedPublishers,
  CodeSigningConfig,
  CodeSigningPolicies,
} from '../../api/lambda/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { functionArn, type Scope } from './arns.js';
import { locate, pageArray, requireFunction, scopeOf, type LambdaDeps } from './common.js';
import { lambdaDate } from './dates.js';
import { conflict } from './errors.js';
import { T, scopePrefix } from './store.js';

type CodeSigningOps = Pick<
  LambdaOperations,
  | 'CreateCodeSigningConfig'
  | 'GetCodeSigningConfig'
  | 'UpdateCodeSigningConfig'
  | 'DeleteCodeSigningConfig'
  | 'ListCodeSigningConfigs'
  | 'ListFunctionsByCodeSigningConfig'
  | 'PutFunctionCodeSigningConfig'
  | 'GetFunctionCodeSigningConfig'
  | 'DeleteFunctionCodeSigningConfig'
>;

export interface CodeSigningConfigRecord {
  id: string;
  description: string;
  allowedPublishers: AllowedPublishers;
  policies: CodeSigningPolicies;
  lastModified: string;
  tags: Record<string, string>;
}

/** Function key → the configuration it uses. */
export interface FunctionCodeSigningRecord {
  arn: string;
}

const cscKey = (scope: Scope, id: string): string => scopePrefix(scope) + id;

export const codeSigningConfigArn = (scope: Scope, id: string): string =>
  buildArn('lambda', scope.region, scope.account, `code-signing-config:${id}`);

const notFound = (arn: string): CodeSigningConfigNotFoundException =>
  new CodeSigningConfigNotFoundException(
    `The code signing configuration cannot be found. Check that the provided configuration is not deleted: ${arn}.`,
    { Type: 'User' },
  );

/** The scope and id an ARN names, when it names a code signing configuration. */
export function parseCodeSigningConfigArn(arn: string): { scope: Scope; id: string } | undefined {
  const p = parseArn(arn);
  const m = /^code-signing-config:(csc-[a-z0-9]{17})$/.exec(p?.resource ?? '');
  if (!p || p.service !== 'lambda' || !m) return undefined;
  return { scope: { account: p.account, region: p.region }, id: m[1] };
}

/** The configuration an ARN names, or AWS's CodeSigningConfigNotFoundException. */
export async function requireCodeSigningConfig(
  ops: MetadataOps,
  arn: string,
): Promise<CodeSigningConfigRecord> {
  const ref = parseCodeSigningConfigArn(arn);
  const rec =
    ref && (await ops.get<CodeSigningConfigRecord>(T.codeSigning, cscKey(ref.scope, ref.id)));
  if (!rec) throw notFound(arn);
  return rec;
}

/** Attaches a configuration to a function (CreateFunction's CodeSigningConfigArn). */
export async function attachCodeSigning(
  tx: MetadataOps,
  fnKey: string,
  arn: string,
): Promise<void> {
  await requireCodeSigningConfig(tx, arn);
  await tx.put<FunctionCodeSigningRecord>(T.functionCodeSigning, fnKey, { arn });
}

function view(scope: Scope, rec: CodeSigningConfigRecord): CodeSigningConfig {
  const out: CodeSigningConfig = {
    CodeSigningConfigId: rec.id,
    CodeSigningConfigArn: codeSigningConfigArn(scope, rec.id),
    AllowedPublishers: rec.allowedPublishers,
    CodeSigningPolicies: rec.policies,
    LastModified: rec.lastModified,
  };
  out.Description = rec.description;
  return out;
}

/** Tags of a configuration, for TagResource / ListTags on its ARN. */
export async function editCodeSigningTags(
  ops: MetadataOps,
  caller: Scope,
  arn: string,
  edit?: (tags: Record<string, string>) => void,
): Promise<Record<string, string>> {
  const ref = parseCodeSigningConfigArn(arn);
  if (ref?.scope.account !== caller.account || ref.scope.region !== caller.region) {
    throw notFound(arn);
  }
  const rec = await requireCodeSigningConfig(ops, arn);
  if (edit && ref) {
    edit(rec.tags);
    await ops.put(T.codeSigning, cscKey(ref.scope, ref.id), rec);
  }
  return rec.tags;
}

export function codeSigningOperations(deps: LambdaDeps): CodeSigningOps {
  const { store } = deps;

  /** The configuration's key in the caller's scope, or not found (other scopes too). */
  function ownKey(ctx: RequestContext, arn: string): string {
    const ref = parseCodeSigningConfigArn(arn);
    const scope = scopeOf(ctx);
    if (!ref || ref.scope.account !== scope.account || ref.scope.region !== scope.region) {
      throw notFound(arn);
    }
    return cscKey(scope, ref.id);
  }

  async function usersOf(ops: MetadataOps, scope: Scope, arn: string): Promise<string[]> {
    const rows = await ops.list<FunctionCodeSigningRecord>(T.functionCodeSigning, {
      prefix: scopePrefix(scope),
    });
    return rows
      .filter((r) => r.value.arn === arn)
      .map((r) => functionArn(scope, r.key.slice(scopePrefix(scope).length)));
  }

  return {
    async CreateCodeSigningConfig(input, ctx) {
      const scope = scopeOf(ctx);
      const rec: CodeSigningConfigRecord = {
        id: 'csc-' + randomBytes(9).toString('hex').slice(0, 17),
        description: input.Description ?? '',
        allowedPublishers: input.AllowedPublishers,
        policies: { UntrustedArtifactOnDeployment: 'Warn', ...input.CodeSigningPolicies },
        lastModified: lambdaDate(deps.now()),
        tags: input.Tags ?? {},
      };
      await store.put(T.codeSigning, cscKey(scope, rec.id), rec);
      return { CodeSigningConfig: view(scope, rec) };
    },

    async GetCodeSigningConfig(input, ctx) {
      const key = ownKey(ctx, input.CodeSigningConfigArn);
      const rec = await store.get<CodeSigningConfigRecord>(T.codeSigning, key);
      if (!rec) throw notFound(input.CodeSigningConfigArn);
      return { CodeSigningConfig: view(scopeOf(ctx), rec) };
    },

    async UpdateCodeSigningConfig(input, ctx) {
      const key = ownKey(ctx, input.CodeSigningConfigArn);
      const rec = await store.transaction(async (tx) => {
        const rec = await tx.get<CodeSigningConfigRecord>(T.codeSigning, key);
        if (!rec) throw notFound(input.CodeSigningConfigArn);
        if (input.Description !== undefined) rec.description = input.Description;
        if (input.AllowedPublishers) rec.allowedPublishers = input.AllowedPublishers;
        if (input.CodeSigningPolicies)
          rec.policies = { ...rec.policies, ...input.CodeSigningPolicies };
        rec.lastModified = lambdaDate(deps.now());
        await tx.put(T.codeSigning, key, rec);
        return rec;
      });
      return { CodeSigningConfig: view(scopeOf(ctx), rec) };
    },

    async DeleteCodeSigningConfig(input, ctx) {
      const key = ownKey(ctx, input.CodeSigningConfigArn);
      await store.transaction(async (tx) => {
        if (!(await tx.get(T.codeSigning, key))) throw notFound(input.CodeSigningConfigArn);
        const users = await usersOf(tx, scopeOf(ctx), input.CodeSigningConfigArn);
        if (users.length) {
          throw conflict(
            `Cannot delete code signing config ${input.CodeSigningConfigArn} because it is associated with one or more functions.`,
          );
        }
        await tx.delete(T.codeSigning, key);
      });
      return {};
    },

    async ListCodeSigningConfigs(input, ctx) {
      const scope = scopeOf(ctx);
      const rows = await store.list<CodeSigningConfigRecord>(T.codeSigning, {
        prefix: scopePrefix(scope),
      });
      const page = pageArray(
        rows.map((r) => view(scope, r.value)),
        (c) => c.CodeSigningConfigId,
        input.Marker,
        input.MaxItems,
      );
      return page.nextMarker === undefined
        ? { CodeSigningConfigs: page.items }
        : { CodeSigningConfigs: page.items, NextMarker: page.nextMarker };
    },

    async ListFunctionsByCodeSigningConfig(input, ctx) {
      const key = ownKey(ctx, input.CodeSigningConfigArn);
      if (!(await store.get(T.codeSigning, key))) throw notFound(input.CodeSigningConfigArn);
      const users = await usersOf(store, scopeOf(ctx), input.CodeSigningConfigArn);
      const page = pageArray(users, (a) => a, input.Marker, input.MaxItems);
      return page.nextMarker === undefined
        ? { FunctionArns: page.items }
        : { FunctionArns: page.items, NextMarker: page.nextMarker };
    },

    async PutFunctionCodeSigningConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'PutFunctionCodeSigningConfig',
        allowQualifier: false,
      });
      ownKey(ctx, input.CodeSigningConfigArn);
      await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        await attachCodeSigning(tx, at.key, input.CodeSigningConfigArn);
      });
      return { CodeSigningConfigArn: input.CodeSigningConfigArn, FunctionName: at.name };
    },

    async GetFunctionCodeSigningConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'GetFunctionCodeSigningConfig',
        allowQualifier: false,
      });
      await requireFunction(store, at);
      const rec = await store.get<FunctionCodeSigningRecord>(T.functionCodeSigning, at.key);
      // Both members are required: a function without one answers an empty ARN.
      return { CodeSigningConfigArn: rec?.arn ?? '', FunctionName: at.name };
    },

    async DeleteFunctionCodeSigningConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'DeleteFunctionCodeSigningConfig',
        allowQualifier: false,
      });
      await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        await tx.delete(T.functionCodeSigning, at.key);
      });
    },
  };
}
