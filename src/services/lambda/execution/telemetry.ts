/**
 * The Telemetry API's delivery side: an environment's platform events, function log lines
 * and extension log lines, batched per subscriber and POSTed as JSON arrays of
 * `{time, type, record}` to the HTTP listener the extension named.
 * https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html
 * https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
 *
 * "Lambda buffers the telemetry ... and sends it when the buffer reaches maxItems or
 * maxBytes, or when timeoutMs passes." Events emitted during INIT before anyone subscribed
 * (platform.initStart, the init code's log lines) are kept and handed to each subscriber
 * that arrives while INIT runs, as AWS does. The listener runs in the sandbox: on the host
 * for the process driver, at the container's address otherwise; `sandbox.localdomain`
 * (AWS's name for it) and `localhost` resolve there.
 */
export type TelemetryCategory = 'platform' | 'function' | 'extension';

export interface TelemetryEvent {
  time: string;
  type: string;
  record: unknown;
}

const CATEGORIES: readonly TelemetryCategory[] = ['platform', 'function', 'extension'];
const SCHEMA_VERSIONS = ['2022-07-01', '2022-12-13', '2025-01-29'];
const SANDBOX_HOSTS = new Set(['sandbox.localdomain', 'sandbox', 'localhost', '127.0.0.1']);
/** Kept for late subscribers while INIT runs. */
const BACKLOG_MAX = 1000;
/** A listener that does not answer within this is given up on for that batch. */
const POST_TIMEOUT_MS = 10_000;

/** "buffering" bounds and defaults (the Telemetry API reference). */
const BUFFERING = {
  maxItems: { min: 1000, max: 10_000, default: 10_000 },
  maxBytes: { min: 262_144, max: 1_048_576, default: 262_144 },
  timeoutMs: { min: 25, max: 30_000, default: 1000 },
} as const;

interface Subscriber {
  name: string;
  url: URL;
  types: Set<TelemetryCategory>;
  maxItems: number;
  maxBytes: number;
  timeoutMs: number;
  queue: TelemetryEvent[];
  bytes: number;
  timer: NodeJS.Timeout | null;
  /** The batch being delivered (batches go out one at a time, in order). */
  sending: Promise<void>;
}

export class Telemetry {
  private readonly subscribers: Subscriber[] = [];
  private backlog: TelemetryEvent[] | null = [];

  /**
   * `sandboxHost`: the address of the sandbox's loopback as Stratus reaches it (127.0.0.1,
   * or the container's address).
   */
  constructor(
    private readonly sandboxHost: () => string,
    private readonly warn: (msg: string, err?: unknown) => void,
  ) {}

  /** Someone listens (events are built only then). */
  get active(): boolean {
    return this.subscribers.length > 0 || this.backlog !== null;
  }

  /** INIT is over: events no longer wait for late subscribers. */
  endInit(): void {
    this.backlog = null;
  }

  emit(type: string, record: unknown): void {
    if (!this.active) return;
    const event: TelemetryEvent = { time: new Date().toISOString(), type, record };
    if (this.backlog !== null && this.backlog.length < BACKLOG_MAX) this.backlog.push(event);
    for (const s of this.subscribers) this.enqueue(s, event);
  }

  /** A PUT /2022-07-01/telemetry body; the error message when it is not valid. */
  subscribe(name: string, body: unknown): string | undefined {
    const b = (body ?? {}) as Record<string, unknown>;
    if (typeof b.schemaVersion !== 'string' || !SCHEMA_VERSIONS.includes(b.schemaVersion)) {
      return `schemaVersion must be one of ${SCHEMA_VERSIONS.join(', ')}`;
    }
    const dest = (b.destination ?? {}) as Record<string, unknown>;
    if (dest.protocol !== 'HTTP') {
      return 'destination.protocol must be HTTP (Stratus delivers telemetry over HTTP only)';
    }
    let url: URL;
    try {
      url = new URL(String(dest.URI));
    } catch {
      return 'destination.URI is not a valid URI';
    }
    if (url.protocol !== 'http:' || !SANDBOX_HOSTS.has(url.hostname)) {
      return 'destination.URI must be an http:// URI on sandbox.localdomain';
    }
    const types = b.types;
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      !types.every((t) => CATEGORIES.includes(t as TelemetryCategory))
    ) {
      return `types must be a non-empty list of ${CATEGORIES.join(', ')}`;
    }
    const buffering = (b.buffering ?? {}) as Record<string, unknown>;
    const bounds: Record<string, number> = {};
    for (const [key, limits] of Object.entries(BUFFERING)) {
      const v = buffering[key] ?? limits.default;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < limits.min || v > limits.max) {
        return `buffering.${key} must be an integer from ${limits.min} to ${limits.max}`;
      }
      bounds[key] = v;
    }
    // A subscriber that subscribes again replaces its subscription.
    const at = this.subscribers.findIndex((s) => s.name === name);
    if (at >= 0) this.subscribers.splice(at, 1);
    const s: Subscriber = {
      name,
      url,
      types: new Set(types as TelemetryCategory[]),
      maxItems: bounds.maxItems,
      maxBytes: bounds.maxBytes,
      timeoutMs: bounds.timeoutMs,
      queue: [],
      bytes: 0,
      timer: null,
      sending: Promise.resolve(),
    };
    this.subscribers.push(s);
    for (const event of this.backlog ?? []) this.enqueue(s, event);
    this.emit('platform.telemetrySubscription', {
      name,
      state: 'Subscribed',
      types: [...s.types],
    });
    return undefined;
  }

  /** Delivers everything buffered; resolves when the batches have been answered (or failed). */
  async flush(): Promise<void> {
    await Promise.all(this.subscribers.map((s) => this.send(s)));
  }

  /** Stops the timers (the environment is gone). */
  close(): void {
    for (const s of this.subscribers) {
      if (s.timer !== null) clearTimeout(s.timer);
      s.timer = null;
      s.queue = [];
    }
    this.subscribers.length = 0;
    this.backlog = null;
  }

  private enqueue(s: Subscriber, event: TelemetryEvent): void {
    const category = event.type.split('.')[0] as TelemetryCategory;
    if (!s.types.has(category)) return;
    s.queue.push(event);
    s.bytes += JSON.stringify(event).length;
    if (s.queue.length >= s.maxItems || s.bytes >= s.maxBytes) {
      void this.send(s);
    } else if (s.timer === null) {
      s.timer = setTimeout(() => void this.send(s), s.timeoutMs);
      s.timer.unref();
    }
  }

  private send(s: Subscriber): Promise<void> {
    if (s.timer !== null) clearTimeout(s.timer);
    s.timer = null;
    const batch = s.queue;
    s.queue = [];
    s.bytes = 0;
    if (batch.length > 0) s.sending = s.sending.then(() => this.post(s, batch));
    return s.sending;
  }

  private async post(s: Subscriber, batch: TelemetryEvent[]): Promise<void> {
    const url = new URL(s.url);
    url.hostname = this.sandboxHost();
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await res.arrayBuffer();
    } catch (err) {
      this.warn(`telemetry delivery to extension ${s.name} failed`, err);
    }
  }
}
