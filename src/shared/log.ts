/**
 * Structured server logs: one JSON object per line when stdout is not a terminal (for
 * collectors), a short coloured line when it is (for people).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOUR: Record<LogLevel, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};

export interface Logger {
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  level: LogLevel,
  out: NodeJS.WriteStream = process.stderr,
  pretty: boolean = Boolean(out.isTTY),
): Logger {
  const min = ORDER[level];
  const enabled = (l: LogLevel) => ORDER[l] >= min;
  const log = (l: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (!enabled(l)) return;
    const time = new Date().toISOString();
    if (pretty) {
      const extra = fields
        ? ' ' +
          Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : '';
      out.write(
        `\x1b[90m${time.slice(11, 23)}\x1b[0m ${COLOUR[l]}${l.padEnd(5)}\x1b[0m ${msg}${extra}\n`,
      );
    } else {
      out.write(JSON.stringify({ time, level: l, msg, ...fields }) + '\n');
    }
  };
  return {
    enabled,
    log,
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}
