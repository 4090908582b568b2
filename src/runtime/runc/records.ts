/**
 * What the runc driver remembers of a container in its state directory, written before
 * anything is created on the host: after a crash, the next start finds every namespace,
 * address, port rule and cgroup it must take down from these records alone.
 */
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublishedPort } from '../container.js';

export interface ContainerRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  /** Private network: the address and namespace to release. */
  ip?: string;
  netns?: string;
  /** The address of the container whose namespace this one joined (not ours to release). */
  joinedIp?: string;
  ports: PublishedPort[];
  /** The root is an image assembled in the container's directory (to unmount first). */
  imageRoot?: boolean;
}

export const RECORD_FILE = 'record.json';

export async function writeRecord(dir: string, record: ContainerRecord): Promise<void> {
  const tmp = join(dir, `${RECORD_FILE}.tmp`);
  await writeFile(tmp, JSON.stringify(record));
  await rename(tmp, join(dir, RECORD_FILE));
}

export async function readRecord(dir: string): Promise<ContainerRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, RECORD_FILE), 'utf8')) as ContainerRecord;
  } catch {
    return undefined;
  }
}

/** Every container directory under `root` that holds a record (ids are `stratus-…`). */
export async function listRecords(root: string): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.startsWith('stratus-')) continue;
    const record = await readRecord(join(root, name));
    if (record) out.push(record);
  }
  return out;
}
