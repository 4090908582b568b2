/**
 * A small zip writer (stored and deflated entries, Unix modes, symbolic links) for tests,
 * examples and benchmarks that need deployment packages without shelling out to `zip`.
 * It also writes the hostile archives the extractor must refuse: names are written as
 * given, and sizes can be declared falsely.
 */
import { deflateRawSync } from 'node:zlib';
import { crc32 } from '../../src/services/lambda/zip.js';

export interface ZipWriterEntry {
  /** Written verbatim (`../x`, `/etc/x` and `a\\b` included). Directories end with `/`. */
  name: string;
  data?: Buffer | string;
  /** Permission bits, e.g. 0o755 for an executable. Default 0o644 (files), 0o755 (dirs). */
  mode?: number;
  /** Makes the entry a symbolic link to this target. */
  symlink?: string;
  /** Default 'deflate' for files over 64 bytes, 'store' otherwise. */
  method?: 'store' | 'deflate';
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Point the central directory at another entry's local header (overlap bombs). */
  reuseLocalHeaderOf?: number;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function createZip(entries: readonly ZipWriterEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    const raw =
      e.symlink !== undefined
        ? Buffer.from(e.symlink, 'utf8')
        : typeof e.data === 'string'
          ? Buffer.from(e.data, 'utf8')
          : (e.data ?? Buffer.alloc(0));
    const method = e.method ?? (raw.length > 64 && e.symlink === undefined ? 'deflate' : 'store');
    const packed = method === 'deflate' ? deflateRawSync(raw) : raw;
    const type = e.symlink !== undefined ? S_IFLNK : isDir ? S_IFDIR : S_IFREG;
    const perms = e.mode ?? (e.symlink !== undefined ? 0o777 : isDir ? 0o755 : 0o644);
    const name = Buffer.from(e.name, 'utf8');
    const size = e.declaredSize ?? raw.length;
    const crc = crc32(raw);
    const methodId = method === 'deflate' ? 8 : 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(methodId, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date: 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);

    const reused = e.reuseLocalHeaderOf;
    const headerAt = reused === undefined ? offset : offsets[reused];
    offsets.push(headerAt);
    if (reused === undefined) {
      locals.push(local, name, packed);
      offset += local.length + name.length + packed.length;
    }

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by UNIX
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(methodId, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((type | perms) << 16) >>> 0, 38);
    central.writeUInt32LE(headerAt, 42);
    centrals.push(central, name);
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}
