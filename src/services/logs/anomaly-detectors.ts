/**
 * Log anomaly detectors, stored and returned as AWS does.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/LogsAnomalyDetection.html
 * Stratus trains no model: an enabled detector stays `INITIALIZING` (it never claims to
 * analyse) and reports no anomalies; a disabled one is `PAUSED`.
 */
import { randomUUID } from 'node:crypto';
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type { AnomalyDetector } from '../../api/logs/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { invalid, pageList, parseGroupArn, scopeOf, type LogsDeps } from './common.js';
import { compilePattern } from './filters.js';
import { ANOMALY_DETECTORS, scopePrefix } from './store.js';

type DetectorOps = Pick<
  LogsOperations,
  | 'CreateLogAnomalyDetector'
  | 'GetLogAnomalyDetector'
  | 'UpdateLogAnomalyDetector'
  | 'DeleteLogAnomalyDetector'
  | 'ListLogAnomalyDetectors'
  | 'ListAnomalies'
  | 'UpdateAnomaly'
>;

type DetectorRecord = AnomalyDetector & {
  anomalyDetectorArn: string;
  tags: Record<string, string>;
};

const notFound = () =>
  new ResourceNotFoundException('The specified anomaly detector does not exist.');

export function anomalyDetectorOperations(deps: LogsDeps): DetectorOps {
  const { store } = deps;

  /** The detector's key; other scopes' detectors are not found. */
  function keyOf(ctx: RequestContext, arn: string): string {
    const p = parseArn(arn);
    const id = /^anomaly-detector:([\w-]+)$/.exec(p?.resource ?? '')?.[1];
    if (!p || id === undefined || p.account !== ctx.account || p.region !== ctx.region) {
      throw notFound();
    }
    return scopePrefix(scopeOf(ctx)) + id;
  }

  const view = ({ tags: _t, ...d }: DetectorRecord): AnomalyDetector => d;

  return {
    async CreateLogAnomalyDetector(input, ctx) {
      for (const g of input.logGroupArnList) {
        if (!parseGroupArn(g)) throw invalid(`Invalid log group ARN: ${g}`);
      }
      if (input.filterPattern !== undefined) compilePattern(input.filterPattern);
      const id = randomUUID();
      const now = deps.now();
      const rec: DetectorRecord = {
        anomalyDetectorArn: buildArn('logs', ctx.region, ctx.account, `anomaly-detector:${id}`),
        logGroupArnList: input.logGroupArnList,
        evaluationFrequency: input.evaluationFrequency ?? 'FIVE_MIN',
        anomalyDetectorStatus: 'INITIALIZING',
        anomalyVisibilityTime: input.anomalyVisibilityTime ?? 21,
        creationTimeStamp: now,
        lastModifiedTimeStamp: now,
        tags: input.tags ?? {},
      };
      if (input.detectorName !== undefined) rec.detectorName = input.detectorName;
      if (input.filterPattern !== undefined) rec.filterPattern = input.filterPattern;
      if (input.kmsKeyId !== undefined) rec.kmsKeyId = input.kmsKeyId;
      await store.put(ANOMALY_DETECTORS, scopePrefix(scopeOf(ctx)) + id, rec);
      return { anomalyDetectorArn: rec.anomalyDetectorArn };
    },

    async GetLogAnomalyDetector(input, ctx) {
      const rec = await store.get<DetectorRecord>(
        ANOMALY_DETECTORS,
        keyOf(ctx, input.anomalyDetectorArn),
      );
      if (!rec) throw notFound();
      const { anomalyDetectorArn: _a, ...out } = view(rec);
      return out;
    },

    async UpdateLogAnomalyDetector(input, ctx) {
      const key = keyOf(ctx, input.anomalyDetectorArn);
      if (input.filterPattern !== undefined) compilePattern(input.filterPattern);
      await store.transaction(async (tx) => {
        const rec = await tx.get<DetectorRecord>(ANOMALY_DETECTORS, key);
        if (!rec) throw notFound();
        if (input.evaluationFrequency) rec.evaluationFrequency = input.evaluationFrequency;
        if (input.filterPattern !== undefined) rec.filterPattern = input.filterPattern;
        if (input.anomalyVisibilityTime !== undefined)
          rec.anomalyVisibilityTime = input.anomalyVisibilityTime;
        rec.anomalyDetectorStatus = input.enabled ? 'INITIALIZING' : 'PAUSED';
        rec.lastModifiedTimeStamp = deps.now();
        await tx.put(ANOMALY_DETECTORS, key, rec);
      });
    },

    async DeleteLogAnomalyDetector(input, ctx) {
      const key = keyOf(ctx, input.anomalyDetectorArn);
      await store.transaction(async (tx) => {
        if (!(await tx.get(ANOMALY_DETECTORS, key))) throw notFound();
        await tx.delete(ANOMALY_DETECTORS, key);
      });
    },

    async ListLogAnomalyDetectors(input, ctx) {
      const rows = await store.list<DetectorRecord>(ANOMALY_DETECTORS, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const all = rows
        .map((r) => view(r.value))
        .filter(
          (d) =>
            input.filterLogGroupArn === undefined ||
            (d.logGroupArnList ?? []).includes(input.filterLogGroupArn),
        );
      const page = pageList(
        all,
        (d) => d.anomalyDetectorArn ?? '',
        input.nextToken,
        input.limit,
        50,
      );
      return { anomalyDetectors: page.items, nextToken: page.nextToken };
    },

    async UpdateAnomaly(input, ctx) {
      if (input.anomalyId === undefined && input.patternId === undefined) {
        throw invalid('Either anomalyId or patternId must be specified.');
      }
      const rec = await store.get(ANOMALY_DETECTORS, keyOf(ctx, input.anomalyDetectorArn));
      if (!rec) throw notFound();
      // Stratus's detectors never report an anomaly (see above), so none can be updated.
      throw new ResourceNotFoundException(
        input.anomalyId !== undefined
          ? `The specified anomaly ${input.anomalyId} does not exist.`
          : `The specified pattern ${input.patternId} does not exist.`,
      );
    },

    async ListAnomalies(input, ctx) {
      if (input.anomalyDetectorArn !== undefined) {
        const rec = await store.get(ANOMALY_DETECTORS, keyOf(ctx, input.anomalyDetectorArn));
        if (!rec) throw notFound();
      }
      return { anomalies: [] };
    },
  };
}
