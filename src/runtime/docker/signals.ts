import { constants } from 'node:os';

const SIGNALS = constants.signals as Record<string, number>;

/** A signal as Docker writes it (`SIGTERM`, `TERM` or `15`, in image configs) as Node's name. */
export function signalName(value: string | undefined): NodeJS.Signals | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) as NodeJS.Signals | undefined;
  }
  const upper = value.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in SIGNALS ? (name as NodeJS.Signals) : undefined;
}
