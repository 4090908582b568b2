/**
 * The fields Logs Insights discovers in one log event: the system fields, the members of a
 * JSON message (flattened with dots, `a.b.0.c`), and the fields of Lambda's platform lines.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html
 */
import { Instant, type Value } from './values.js';

export type LogRecordFields = Map<string, Value>;

export interface SourceEvent {
  account: string;
  group: string;
  stream: string;
  timestamp: number;
  ingestionTime: number;
  message: string;
  /** The opaque pointer GetLogRecord takes. */
  ptr: string;
}

/** "CloudWatch Logs Insights … discovers a maximum of 1000 log event fields in a JSON log". */
const MAX_JSON_FIELDS = 1000;

export function recordOf(ev: SourceEvent): LogRecordFields {
  const r: LogRecordFields = new Map();
  r.set('@timestamp', new Instant(ev.timestamp));
  r.set('@message', ev.message);
  r.set('@logStream', ev.stream);
  r.set('@log', `${ev.account}:${ev.group}`);
  r.set('@ingestionTime', new Instant(ev.ingestionTime));
  r.set('@ptr', ev.ptr);
  discoverJson(ev.message, r);
  discoverLambda(ev.message, r);
  return r;
}

function discoverJson(message: string, r: LogRecordFields): void {
  // A JSON object may follow a prefix (Lambda's Node runtime: "<time>\t<id>\tINFO\t{...}").
  const brace = message.indexOf('{');
  if (brace < 0 || !message.trimEnd().endsWith('}')) return;
  let doc: unknown;
  try {
    doc = JSON.parse(message.slice(brace));
  } catch {
    return;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
  let count = 0;
  const walk = (v: unknown, path: string): void => {
    if (count >= MAX_JSON_FIELDS) return;
    if (v !== null && typeof v === 'object') {
      const entries = Array.isArray(v)
        ? v.map((x, i) => [String(i), x] as const)
        : Object.entries(v);
      for (const [k, x] of entries) walk(x, path ? `${path}.${k}` : k);
      return;
    }
    if (!path || r.has(path)) return;
    count++;
    r.set(
      path,
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null,
    );
  };
  walk(doc, '');
}

const REPORT_FIELDS: [RegExp, string, number][] = [
  [/\tDuration: ([\d.]+) ms/, '@duration', 1],
  [/\tBilled Duration: ([\d.]+) ms/, '@billedDuration', 1],
  // "@memorySize … in bytes" (AWS's examples divide by 1000 / 1000 for MB).
  [/\tMemory Size: ([\d.]+) MB/, '@memorySize', 1_000_000],
  [/\tMax Memory Used: ([\d.]+) MB/, '@maxMemoryUsed', 1_000_000],
  [/\tInit Duration: ([\d.]+) ms/, '@initDuration', 1],
];

/** `START`, `END` and `REPORT RequestId: …` lines (@type, @requestId and the metrics). */
function discoverLambda(message: string, r: LogRecordFields): void {
  const m = /^(START|END|REPORT) RequestId: ([0-9a-fA-F-]{36})/.exec(message);
  if (!m) return;
  r.set('@type', m[1]);
  r.set('@requestId', m[2]);
  if (m[1] !== 'REPORT') return;
  for (const [re, field, scale] of REPORT_FIELDS) {
    const f = re.exec(message);
    if (f) r.set(field, Number(f[1]) * scale);
  }
}
