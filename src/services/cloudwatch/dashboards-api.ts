/**
 * Dashboards (stored and returned; the console draws them) and tags on alarms.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
 */
import {
  DashboardInvalidInputError,
  DashboardNotFoundError,
  ResourceNotFoundException,
} from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type { DashboardValidationMessage } from '../../api/cloudwatch/types.js';
import { parseArn } from '../../shared/arn.js';
import { dashboardArn, invalidValue, type CloudwatchDeps } from './common.js';
import {
  ALARMS,
  DASHBOARDS,
  INSIGHT_RULES,
  MUTE_RULES,
  TAGS,
  scopePrefix,
  type DashboardRecord,
} from './store.js';

type DashboardOps = Pick<
  CloudwatchOperations,
  | 'PutDashboard'
  | 'GetDashboard'
  | 'ListDashboards'
  | 'DeleteDashboards'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource'
>;

const NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** The resources TagResource and its kin take, by ARN resource prefix; keyed `<scope>/<name>`. */
const TAGGABLE = [
  { prefix: 'alarm:', table: ALARMS, type: 'Alarm' },
  { prefix: 'insight-rule/', table: INSIGHT_RULES, type: 'InsightRule' },
  { prefix: 'alarm-mute-rule:', table: MUTE_RULES, type: 'AlarmMuteRule' },
];
const WIDGET_TYPES = new Set(['metric', 'text', 'log', 'alarm', 'explorer', 'custom']);

/** AWS checks the body is a JSON object with a `widgets` array of typed widgets. */
function validateBody(body: string): DashboardValidationMessage[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new DashboardInvalidInputError('The field DashboardBody must be a valid JSON object', {
      dashboardValidationMessages: [{ DataPath: '', Message: 'Invalid JSON' }],
    });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new DashboardInvalidInputError('The field DashboardBody must be a valid JSON object');
  }
  const widgets = (doc as { widgets?: unknown }).widgets;
  if (widgets === undefined) return [];
  if (!Array.isArray(widgets)) {
    throw new DashboardInvalidInputError(
      'The dashboard body is invalid, there are 1 validation errors',
      {
        dashboardValidationMessages: [{ DataPath: '/widgets', Message: 'Should be array' }],
      },
    );
  }
  const problems: DashboardValidationMessage[] = [];
  widgets.forEach((w: unknown, i) => {
    const type = (w as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !WIDGET_TYPES.has(type)) {
      problems.push({
        DataPath: `/widgets/${i}/type`,
        Message: `Should be equal to one of the allowed values [${[...WIDGET_TYPES].join(', ')}]`,
      });
    }
  });
  if (problems.length) {
    throw new DashboardInvalidInputError(
      `The dashboard body is invalid, there are ${problems.length} validation errors`,
      { dashboardValidationMessages: problems },
    );
  }
  return [];
}

export function dashboardOperations(deps: CloudwatchDeps): DashboardOps {
  const { store } = deps;
  const key = (account: string, name: string): string => `${account}/${name}`;

  /**
   * A taggable resource's ARN of this account and region (an alarm, a Contributor Insights
   * rule, an alarm mute rule), or ResourceNotFoundException.
   */
  async function alarmOf(arn: string, ctx: { account: string; region: string }): Promise<string> {
    const p = parseArn(arn);
    if (!p || p.service !== 'cloudwatch') throw invalidValue(`Invalid arn syntax: ${arn}`);
    const kind = TAGGABLE.find((k) => p.resource.startsWith(k.prefix));
    const name = kind && p.resource.slice(kind.prefix.length);
    if (
      kind === undefined ||
      p.account !== ctx.account ||
      p.region !== ctx.region ||
      !(await store.get(kind.table, `${scopePrefix(ctx)}${name}`))
    ) {
      throw new ResourceNotFoundException(`The specified resource ${arn} does not exist.`, {
        ResourceType: kind?.type ?? 'Alarm',
        ResourceId: arn,
      });
    }
    return arn;
  }

  return {
    async PutDashboard(input, ctx) {
      if (!NAME.test(input.DashboardName)) {
        throw new DashboardInvalidInputError(
          'The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).',
        );
      }
      const messages = validateBody(input.DashboardBody);
      await store.put<DashboardRecord>(DASHBOARDS, key(ctx.account, input.DashboardName), {
        name: input.DashboardName,
        body: input.DashboardBody,
        lastModified: deps.now(),
      });
      return { DashboardValidationMessages: messages };
    },

    async GetDashboard(input, ctx) {
      const d = await store.get<DashboardRecord>(DASHBOARDS, key(ctx.account, input.DashboardName));
      if (!d) throw new DashboardNotFoundError('Dashboard does not exist');
      return {
        DashboardArn: dashboardArn(ctx.account, d.name),
        DashboardBody: d.body,
        DashboardName: d.name,
      };
    },

    async ListDashboards(input, ctx) {
      const items = await store.list<DashboardRecord>(DASHBOARDS, {
        prefix: `${ctx.account}/${input.DashboardNamePrefix ?? ''}`,
      });
      return {
        DashboardEntries: items.map(({ value: d }) => ({
          DashboardName: d.name,
          DashboardArn: dashboardArn(ctx.account, d.name),
          LastModified: new Date(d.lastModified),
          Size: Buffer.byteLength(d.body),
        })),
      };
    },

    async DeleteDashboards(input, ctx) {
      await store.transaction(async (tx) => {
        for (const name of input.DashboardNames) {
          if (!(await tx.get(DASHBOARDS, key(ctx.account, name)))) {
            throw new DashboardNotFoundError(`Dashboard ${name} does not exist`);
          }
        }
        for (const name of input.DashboardNames)
          await tx.delete(DASHBOARDS, key(ctx.account, name));
      });
      return {};
    },

    async TagResource(input, ctx) {
      const arn = await alarmOf(input.ResourceARN, ctx);
      await store.transaction(async (tx) => {
        const tags = (await tx.get<Record<string, string>>(TAGS, arn)) ?? {};
        for (const t of input.Tags) tags[t.Key] = t.Value;
        await tx.put(TAGS, arn, tags);
      });
      return {};
    },

    async UntagResource(input, ctx) {
      const arn = await alarmOf(input.ResourceARN, ctx);
      await store.transaction(async (tx) => {
        const tags = (await tx.get<Record<string, string>>(TAGS, arn)) ?? {};
        for (const k of input.TagKeys) delete tags[k];
        await tx.put(TAGS, arn, tags);
      });
      return {};
    },

    async ListTagsForResource(input, ctx) {
      const arn = await alarmOf(input.ResourceARN, ctx);
      const tags = (await store.get<Record<string, string>>(TAGS, arn)) ?? {};
      return { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
    },
  };
}
