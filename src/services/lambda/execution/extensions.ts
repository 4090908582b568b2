/**
 * External Lambda extensions of a function: the executables its layers put in
 * /opt/extensions, started at INIT before the runtime, and the Shutdown phase they get.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-shutdown
 *
 * "Lambda starts all extensions" first; the runtime starts once each has registered (or a
 * crash failed INIT). In a container the image's entrypoint starts them (runtime-files.ts)
 * and Stratus only counts their registrations.
 *
 * Shutdown: "0 ms – A function with no registered extensions; 500 ms – A function with a
 * registered internal extension; 2,000 ms – A function with one or more registered
 * external extensions". The runtime gets SIGTERM, each extension that registered for it a
 * SHUTDOWN event; whatever still runs at the deadline is killed.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExtensionsApi, ShutdownReason } from './extensions-api.js';

export const SHUTDOWN_EXTERNAL_MS = 2000;
export const SHUTDOWN_INTERNAL_MS = 500;

/**
 * name → host path of each executable file in a layer's `extensions/` directory; a later
 * layer's file wins over an earlier one of the same name, as in /opt.
 */
export function externalExtensions(layerDirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const layer of layerDirs) {
    const dir = join(layer, 'extensions');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      try {
        const s = statSync(path);
        if (s.isFile() && (s.mode & 0o111) !== 0) out.set(name, path);
      } catch {
        // a dangling link: not an extension
      }
    }
  }
  return out;
}

/** Whether any layer brings an extensions/ directory (such functions take no pre-started runtime). */
export function hasExtensions(layerDirs: readonly string[]): boolean {
  return externalExtensions(layerDirs).size > 0;
}

/** How long the Shutdown phase may last for what registered. */
export function shutdownGraceMs(ext: ExtensionsApi | null): number {
  if (ext === null || ext.registered === 0) return 0;
  return ext.hasExternal ? SHUTDOWN_EXTERNAL_MS : SHUTDOWN_INTERNAL_MS;
}

/**
 * Runs the Shutdown phase: SHUTDOWN to the extensions that asked for it, then waits until
 * `exited` resolves (every process gone) or the grace period ends. `beforeWait` runs once
 * the event is out (the runtime's SIGTERM, the last telemetry).
 */
export async function shutdownPhase(
  ext: ExtensionsApi | null,
  reason: ShutdownReason,
  exited: Promise<unknown>,
  beforeWait: () => Promise<void>,
): Promise<void> {
  const graceMs = shutdownGraceMs(ext);
  if (ext === null || graceMs === 0) return;
  const deadlineMs = Date.now() + graceMs;
  ext.dispatch({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  try {
    await Promise.race([Promise.all([beforeWait(), exited]), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
