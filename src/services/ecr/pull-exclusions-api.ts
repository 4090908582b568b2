/**
 * Pull time update exclusions: IAM principals whose pulls do not update an image's
 * lastRecordedPullTime ("Amazon ECR will not record the pull time if an excluded principal
 * pulls an image"). Stored per registry (account and region).
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_RegisterPullTimeUpdateExclusion.html
 */
import {
  ExclusionAlreadyExistsException,
  ExclusionNotFoundException,
} from '../../api/ecr/errors.js';
import type { EcrOperations } from '../../api/ecr/operations.js';
import type { MetadataOps } from '../../storage/types.js';
import { DEFAULT_PAGE_SIZE, decodeToken, encodeToken } from './api-support.js';
import type { EcrDeps } from './common.js';
import { T, scopePrefix, type Scope } from './store.js';

type PullExclusionOperations = Pick<
  EcrOperations,
  | 'RegisterPullTimeUpdateExclusion'
  | 'DeregisterPullTimeUpdateExclusion'
  | 'ListPullTimeUpdateExclusions'
>;

interface ExclusionRecord {
  principalArn: string;
  /** ms since the epoch */
  createdAt: number;
}

const prefixOf = (scope: Scope) => `${scopePrefix(scope)}pull-exclusion/`;

/**
 * Whether a caller's pulls are excluded. A role session (`sts::…:assumed-role/R/s`) is
 * its role, whose ARN may carry a path the session ARN does not show.
 */
export async function pullTimeExcluded(
  ops: Pick<MetadataOps, 'list'>,
  scope: Scope,
  callerArn: string,
): Promise<boolean> {
  const rows = await ops.list<ExclusionRecord>(T.registry, { prefix: prefixOf(scope) });
  if (rows.length === 0) return false;
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(callerArn);
  return rows.some(({ value: { principalArn: arn } }) => {
    if (arn === callerArn) return true;
    if (!session) return false;
    const role = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    return role !== null && role[1] === session[1] && role[2] === session[2];
  });
}

export function pullExclusionOperations(deps: EcrDeps): PullExclusionOperations {
  const { store } = deps;
  const scope = (ctx: { account: string; region: string }) => ({
    account: ctx.account,
    region: ctx.region,
  });
  return {
    async RegisterPullTimeUpdateExclusion(input, ctx) {
      const record: ExclusionRecord = { principalArn: input.principalArn, createdAt: deps.now() };
      const key = prefixOf(scope(ctx)) + input.principalArn;
      if (!(await store.insert(T.registry, key, record))) {
        throw new ExclusionAlreadyExistsException(
          `The pull time update exclusion for principal '${input.principalArn}' already exists in the registry with id '${ctx.account}'`,
        );
      }
      return { principalArn: record.principalArn, createdAt: new Date(record.createdAt) };
    },

    async DeregisterPullTimeUpdateExclusion(input, ctx) {
      const key = prefixOf(scope(ctx)) + input.principalArn;
      if (!(await store.delete(T.registry, key))) {
        throw new ExclusionNotFoundException(
          `The pull time update exclusion for principal '${input.principalArn}' does not exist in the registry with id '${ctx.account}'`,
        );
      }
      return { principalArn: input.principalArn };
    },

    async ListPullTimeUpdateExclusions(input, ctx) {
      const op = 'ListPullTimeUpdateExclusions';
      const after = input.nextToken === undefined ? '' : decodeToken(op, input.nextToken);
      const all = (
        await store.list<ExclusionRecord>(T.registry, { prefix: prefixOf(scope(ctx)) })
      ).map((r) => r.value.principalArn);
      const rest = all.filter((arn) => arn > after);
      const size = input.maxResults ?? DEFAULT_PAGE_SIZE;
      const page = rest.slice(0, size);
      return {
        pullTimeUpdateExclusions: page,
        ...(rest.length > size && { nextToken: encodeToken(op, page[page.length - 1]) }),
      };
    },
  };
}
