/** Lambda's log stream names (the writer itself is src/events/log-writer.ts). */
import { randomBytes } from 'node:crypto';

/** `2024/05/01/[$LATEST]0123456789abcdef0123456789abcdef` */
export function logStreamName(version: string, now: Date = new Date()): string {
  const y = now.getUTCFullYear();
  const m = String(now.getUTCMonth() + 1).padStart(2, '0');
  const d = String(now.getUTCDate()).padStart(2, '0');
  return `${y}/${m}/${d}/[${version}]${randomBytes(16).toString('hex')}`;
}
