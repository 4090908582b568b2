import { closeSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * One Stratus per state directory. The lock file holds the owner's pid; it is created
 * atomically with its content (write a private file, then link(2), which fails when the
 * lock exists), and a lock whose pid is no longer running is taken over. Two processes
 * taking over the same stale lock at the same instant could both succeed here, so the
 * SQLite database is also held with locking_mode=EXCLUSIVE (a kernel lock that dies with
 * the process), which refuses the loser.
 */

export class StateDirLockedError extends Error {
  readonly code = 'STATE_DIR_LOCKED';

  constructor(
    readonly lockPath: string,
    readonly pid: number | undefined,
  ) {
    super(
      `state directory is in use by another Stratus` +
        (pid === undefined ? '' : ` (pid ${pid})`) +
        ` (${lockPath}); stop it, or use another state directory`,
    );
    this.name = 'StateDirLockedError';
  }
}

export interface StateLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Lock files this process holds, so a lock naming our own pid can be told apart from a
 *  stale one left by an earlier process that had the same pid (common in containers). */
const held = new Set<string>();

export function acquireStateLock(lockFile: string): StateLock {
  const path = resolve(lockFile);
  const mine = `${path}.${process.pid}.tmp`;
  writePrivate(mine, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, path);
        held.add(path);
        return lockHandle(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readOwner(path);
      if (owner === 'gone') continue;
      if (
        owner !== undefined &&
        isProcessRunning(owner) &&
        (owner !== process.pid || held.has(path))
      ) {
        throw new StateDirLockedError(path, owner);
      }
      // Stale: its process is gone (or the file is unreadable garbage).
      rmSync(path, { force: true });
    }
    throw new StateDirLockedError(path, undefined);
  } finally {
    rmSync(mine, { force: true });
  }
}

function lockHandle(path: string): StateLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      held.delete(path);
      if (readOwner(path) === process.pid) rmSync(path, { force: true });
    },
  };
}

function writePrivate(file: string, content: string): void {
  const fd = openSync(file, 'w', 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The pid in the lock file, undefined when unparsable, 'gone' when the file vanished. */
function readOwner(path: string): number | undefined | 'gone' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
