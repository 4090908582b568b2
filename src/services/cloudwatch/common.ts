/** What the CloudWatch operation modules share: deps, AWS's error wording, ARNs. */
import {
  InvalidParameterCombinationException,
  InvalidParameterValueException,
  MissingRequiredParameterException,
} from '../../api/cloudwatch/errors.js';
import type { LogEventReader } from '../../events/metrics.js';
import { buildArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import type { AlarmEngine } from './alarm-engine.js';
import type { MetricStore, Scope } from './series.js';

export interface CloudwatchDeps {
  store: MetadataStore;
  metrics: MetricStore;
  alarms: AlarmEngine;
  /** Milliseconds since the epoch; tests pin it. */
  now(): number;
  /** CloudWatch Logs' events (Contributor Insights), once the logs plugin registered them. */
  logs?(): LogEventReader | undefined;
}

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const invalidValue = (message: string): InvalidParameterValueException =>
  new InvalidParameterValueException(message);

export const invalidCombination = (message: string): InvalidParameterCombinationException =>
  new InvalidParameterCombinationException(message);

export const missing = (parameter: string): MissingRequiredParameterException =>
  new MissingRequiredParameterException(`The parameter ${parameter} is required.`);

/** `arn:aws:cloudwatch:<region>:<account>:alarm:<name>` */
export const alarmArn = (scope: Scope, name: string): string =>
  buildArn('cloudwatch', scope.region, scope.account, `alarm:${name}`);

/** Dashboards are global: `arn:aws:cloudwatch::<account>:dashboard/<name>`. */
export const dashboardArn = (account: string, name: string): string =>
  buildArn('cloudwatch', '', account, `dashboard/${name}`);

/** Periods AWS accepts: 1, 5, 10, 20, 30 (high resolution) or a multiple of 60. */
export function validPeriod(period: number): boolean {
  return [1, 5, 10, 20, 30].includes(period) || (period > 0 && period % 60 === 0);
}
