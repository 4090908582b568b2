/**
 * Safe extraction of a deployment package (.zip) with node:zlib only.
 *
 * The central directory is the source of truth (APPNOTE 6.3.10, sections 4.3.12 and 4.3.16):
 * every entry is checked before a byte is written, so a refused archive leaves nothing
 * behind. Refused, with InvalidParameterValueException:
 *  - zip slip: `..` segments, absolute paths (`/x`, `C:\x`), backslash variants of either,
 *    NUL bytes, an entry written through a symbolic link of the archive, and any symbolic
 *    link whose target (followed through the archive's other links) leaves the tree;
 *  - zip bombs: a declared total above the unzipped limit (262,144,000 bytes, AWS's
 *    "Unzipped size must be smaller than 262144000 bytes"), an entry that inflates past its
 *    declared size, a compression ratio no honest deflate stream reaches (deflate tops out
 *    near 1032:1), entries whose data overlap (the "overlapping files" bomb) and too many
 *    entries;
 *  - anything malformed: "Could not unzip uploaded file. Please check your file, then try to
 *    upload again." (AWS's text), optionally followed by what was wrong.
 *
 * Unix modes (version-made-by host 3) are kept, so a `bootstrap` marked executable stays
 * executable; other entries get 0644 (files) and 0755 (directories), Lambda's own defaults.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-function-zip.html
 */
import { mkdir, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { invalidParameter } from './errors.js';

export const MAX_UNZIPPED_BYTES = 262_144_000;
export const MAX_ZIPPED_BYTES = 52_428_800;

export interface ZipLimits {
  /** Total uncompressed bytes. */
  maxUnzippedBytes: number;
  maxEntries: number;
  /** Largest uncompressed:compressed ratio accepted for entries above `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_LIMITS: ZipLimits = {
  maxUnzippedBytes: MAX_UNZIPPED_BYTES,
  maxEntries: 100_000,
  maxRatio: 1100,
  ratioFloorBytes: 1 << 20,
};

export const UNZIP_FAILED =
  'Could not unzip uploaded file. Please check your file, then try to upload again.';

const corrupt = (detail?: string) =>
  invalidParameter(detail ? `${UNZIP_FAILED} ${detail}` : UNZIP_FAILED);

export type EntryKind = 'file' | 'directory' | 'symlink';

/** One entry as the central directory describes it, path already made safe. */
export interface ZipEntry {
  /** Normalised relative path, `/`-separated, never empty, never containing `..`. */
  path: string;
  kind: EntryKind;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Permission bits (no file-type bits). */
  mode: number;
  mtime: Date;
  /** Offset of the entry's data in the archive. */
  dataOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const MAX_LINK_HOPS = 40;
const MAX_SEGMENT = 255;
const MAX_LINK_TARGET = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names are UTF-8 when valid (Info-ZIP on Linux omits the flag), Latin-1 otherwise. */
function decodeName(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** MS-DOS date and time (local time, 2-second resolution), as Info-ZIP and Python read it. */
function dosTime(date: number, time: number): Date {
  const d = new Date(
    ((date >> 9) & 0x7f) + 1980,
    ((date >> 5) & 0x0f) - 1,
    date & 0x1f,
    (time >> 11) & 0x1f,
    (time >> 5) & 0x3f,
    (time & 0x1f) * 2,
  );
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

interface RawEntry {
  name: string;
  nameBytes: Buffer;
  madeBy: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  externalAttr: number;
  localOffset: number;
  mtime: Date;
}

function findEnd(zip: Buffer): number {
  const min = Math.max(0, zip.length - 22 - 0xffff);
  for (let i = zip.length - 22; i >= min; i--) {
    if (zip.readUInt32LE(i) === SIG_EOCD && i + 22 + zip.readUInt16LE(i + 20) <= zip.length) {
      return i;
    }
  }
  throw corrupt();
}

function readCentralDirectory(zip: Buffer, limits: ZipLimits): RawEntry[] {
  if (zip.length < 22) throw corrupt();
  const eocd = findEnd(zip);
  let count = zip.readUInt16LE(eocd + 10);
  let cdSize = zip.readUInt32LE(eocd + 12);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  if (zip.readUInt16LE(eocd + 4) !== 0 || zip.readUInt16LE(eocd + 6) !== 0) {
    throw corrupt('Archives split over several disks are not supported.');
  }
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64 end of central directory, found through its locator right before the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || zip.readUInt32LE(loc) !== SIG_EOCD64_LOCATOR) throw corrupt();
    const at = Number(zip.readBigUInt64LE(loc + 8));
    if (at + 56 > zip.length || zip.readUInt32LE(at) !== SIG_EOCD64) throw corrupt();
    count = Number(zip.readBigUInt64LE(at + 32));
    cdSize = Number(zip.readBigUInt64LE(at + 40));
    cdOffset = Number(zip.readBigUInt64LE(at + 48));
  }
  if (count > limits.maxEntries) {
    throw corrupt(`The archive has ${count} entries, more than the limit of ${limits.maxEntries}.`);
  }
  if (cdOffset + cdSize > zip.length) throw corrupt();
  const entries: RawEntry[] = [];
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > end || zip.readUInt32LE(p) !== SIG_CENTRAL) throw corrupt();
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > end) throw corrupt();
    const nameBytes = zip.subarray(p + 46, p + 46 + nameLen);
    const entry: RawEntry = {
      name: decodeName(nameBytes),
      nameBytes,
      madeBy: zip.readUInt16LE(p + 4),
      flags: zip.readUInt16LE(p + 8),
      method: zip.readUInt16LE(p + 10),
      mtime: dosTime(zip.readUInt16LE(p + 14), zip.readUInt16LE(p + 12)),
      crc32: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      externalAttr: zip.readUInt32LE(p + 38),
      localOffset: zip.readUInt32LE(p + 42),
    };
    readExtraFields(zip, p + 46 + nameLen, extraLen, entry);
    entries.push(entry);
    p = next;
  }
  if (entries.length === 0) throw corrupt('The archive is empty.');
  return entries;
}

/** ZIP64 sizes/offset (0x0001) and the Unix modification time (0x5455). */
function readExtraFields(zip: Buffer, start: number, length: number, e: RawEntry): void {
  let p = start;
  const end = start + length;
  while (p + 4 <= end) {
    const id = zip.readUInt16LE(p);
    const size = zip.readUInt16LE(p + 2);
    const data = p + 4;
    if (data + size > end) throw corrupt();
    if (id === 0x0001) {
      let q = data;
      const take = (): number => {
        if (q + 8 > data + size) throw corrupt();
        const v = Number(zip.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (e.size === 0xffffffff) e.size = take();
      if (e.compressedSize === 0xffffffff) e.compressedSize = take();
      if (e.localOffset === 0xffffffff) e.localOffset = take();
    } else if (id === 0x5455 && size >= 5 && (zip[data] & 1) === 1) {
      e.mtime = new Date(zip.readUInt32LE(data + 1) * 1000);
    }
    p = data + size;
  }
}

/** Splits a name into safe segments, or refuses it as a zip slip. */
function safeSegments(name: string): string[] {
  const refuse = () =>
    invalidParameter(
      `${UNZIP_FAILED} The entry '${name}' would be written outside the function's directory.`,
    );
  if (name.includes('\0')) throw refuse();
  const unified = name.replace(/\\/g, '/');
  if (unified.startsWith('/') || /^[A-Za-z]:/.test(unified)) throw refuse();
  const out: string[] = [];
  for (const seg of unified.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') throw refuse();
    if (Buffer.byteLength(seg) > MAX_SEGMENT)
      throw corrupt(`The entry '${name}' has a name that is too long.`);
    out.push(seg);
  }
  return out;
}

function kindAndMode(e: RawEntry): { kind: EntryKind; mode: number } {
  const host = e.madeBy >> 8;
  // 3 = UNIX, 19 = OS X: the high 16 bits of the external attributes are st_mode.
  const unix = host === 3 || host === 19 ? e.externalAttr >>> 16 : 0;
  const type = unix & S_IFMT;
  const isDir =
    type === S_IFDIR ||
    e.name.endsWith('/') ||
    e.name.endsWith('\\') ||
    (e.externalAttr & 0x10) !== 0;
  if (type === S_IFLNK) return { kind: 'symlink', mode: 0o777 };
  if (isDir) return { kind: 'directory', mode: (unix & 0o777 || 0o755) | 0o700 };
  return { kind: 'file', mode: (unix & 0o777 || 0o644) | 0o400 };
}

/**
 * Reads and checks the whole central directory (names, sizes, overlap, limits) without
 * decompressing anything. Duplicate paths keep the last entry, as unzip does.
 */
export function listEntries(zip: Buffer, limits: ZipLimits = DEFAULT_LIMITS): ZipEntry[] {
  const raw = readCentralDirectory(zip, limits);
  let total = 0;
  for (const e of raw) total += e.size;
  if (total > limits.maxUnzippedBytes) {
    throw invalidParameter(`Unzipped size must be smaller than ${limits.maxUnzippedBytes} bytes`);
  }
  const byPath = new Map<string, ZipEntry>();
  const spans: { start: number; end: number }[] = [];
  for (const e of raw) {
    if (e.flags & 0x1) throw corrupt(`The entry '${e.name}' is encrypted.`);
    if (e.method !== 0 && e.method !== 8) {
      throw corrupt(
        `The entry '${e.name}' uses compression method ${e.method}; only stored (0) and deflated (8) entries are supported.`,
      );
    }
    const segments = safeSegments(e.name);
    const { kind, mode } = kindAndMode(e);
    if (e.method === 0 && e.compressedSize !== e.size) throw corrupt();
    if (
      e.size > limits.ratioFloorBytes &&
      e.size / Math.max(1, e.compressedSize) > limits.maxRatio
    ) {
      throw corrupt(
        `The entry '${e.name}' expands ${Math.floor(e.size / Math.max(1, e.compressedSize))} times, beyond what deflate produces (a zip bomb).`,
      );
    }
    // The local header repeats the name; its own lengths place the data.
    const at = e.localOffset;
    if (at + 30 > zip.length || zip.readUInt32LE(at) !== SIG_LOCAL) throw corrupt();
    const nameLen = zip.readUInt16LE(at + 26);
    const extraLen = zip.readUInt16LE(at + 28);
    if (!zip.subarray(at + 30, at + 30 + nameLen).equals(e.nameBytes)) {
      throw corrupt(`The entry '${e.name}' has a different name in its local header.`);
    }
    const dataOffset = at + 30 + nameLen + extraLen;
    if (dataOffset + e.compressedSize > zip.length) throw corrupt();
    spans.push({ start: at, end: dataOffset + e.compressedSize });
    if (segments.length === 0) continue; // "./" and the like: nothing to create
    const path = segments.join('/');
    const previous = byPath.get(path);
    if (previous && (previous.kind !== kind || kind === 'symlink')) {
      throw corrupt(`The archive holds '${path}' twice, as different kinds of entry.`);
    }
    byPath.set(path, {
      path,
      kind,
      method: e.method,
      crc32: e.crc32,
      compressedSize: e.compressedSize,
      size: e.size,
      mode,
      mtime: e.mtime,
      dataOffset,
    });
  }
  // Overlapping entries are how non-recursive zip bombs reuse one compressed stream.
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) {
      throw corrupt('Entries of the archive overlap each other (a zip bomb).');
    }
  }
  const entries = [...byPath.values()];
  checkTree(entries);
  return entries;
}

/** A file cannot also be a directory, and nothing may be written through an archive link. */
function checkTree(entries: ZipEntry[]): void {
  const kinds = new Map<string, EntryKind>();
  for (const e of entries) kinds.set(e.path, e.kind);
  for (const e of entries) {
    let slash = e.path.indexOf('/');
    while (slash >= 0) {
      const parent = e.path.slice(0, slash);
      const k = kinds.get(parent);
      if (k === 'symlink') {
        throw invalidParameter(
          `${UNZIP_FAILED} The entry '${e.path}' would be written through the symbolic link '${parent}'.`,
        );
      }
      if (k === 'file')
        throw corrupt(`The archive uses '${parent}' both as a file and as a directory.`);
      slash = e.path.indexOf('/', slash + 1);
    }
  }
}

/**
 * Whether a link at `linkPath` with `target` stays inside the tree, following the archive's
 * other links exactly as path resolution would (the destination starts empty, so the
 * archive's links are the only ones there).
 */
export function linkStaysInside(
  linkPath: string,
  target: string,
  links: ReadonlyMap<string, string>,
): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  const stack = linkPath.split('/');
  stack.pop();
  let queue = target.split('/');
  let hops = 0;
  while (queue.length) {
    const seg = queue.shift() as string;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(seg);
    const next = links.get(stack.join('/'));
    if (next !== undefined) {
      if (++hops > MAX_LINK_HOPS || next.startsWith('/')) return false;
      stack.pop();
      queue = next.split('/').concat(queue);
    }
  }
  return true;
}

const inflateRaw = promisify(
  (buf: Buffer, opts: zlib.ZlibOptions, cb: (err: Error | null, out: Buffer) => void) =>
    zlib.inflateRaw(buf, opts, cb),
);

/** zlib.crc32 arrived in Node 20.15; the table version covers older 20.x releases. */
export const crc32: (data: Buffer) => number =
  typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) >>> 0 : tableCrc32;

let crcTable: Uint32Array | undefined;
function tableCrc32(data: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The entry's bytes, checked against its declared size and CRC-32. */
async function entryData(zip: Buffer, e: ZipEntry): Promise<Buffer> {
  const packed = zip.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) {
    data = packed;
  } else {
    try {
      // One byte of headroom: a stream that inflates past its declared size fails here
      // instead of filling memory (ERR_BUFFER_TOO_LARGE).
      data = await inflateRaw(packed, { maxOutputLength: e.size + 1 });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw corrupt(`The entry '${e.path}' inflates beyond its declared size (a zip bomb).`);
      }
      throw corrupt();
    }
  }
  if (data.length !== e.size) {
    throw corrupt(`The entry '${e.path}' does not match its declared size.`);
  }
  if (crc32(data) !== e.crc32) throw corrupt(`The entry '${e.path}' fails its CRC-32 check.`);
  return data;
}

export interface ExtractResult {
  files: number;
  /** Bytes written (regular files and link targets). */
  unzippedSize: number;
}

const PARALLEL_WRITES = 8;

/**
 * Extracts into `dest`, which must be a new, empty directory the caller owns (the code
 * store extracts to a temporary directory and renames it into place).
 */
export async function extractZip(
  zip: Buffer,
  dest: string,
  limits: ZipLimits = DEFAULT_LIMITS,
): Promise<ExtractResult> {
  const entries = listEntries(zip, limits);
  const links = new Map<string, string>();
  const files: ZipEntry[] = [];
  const dirs: ZipEntry[] = [];
  let unzippedSize = 0;
  for (const e of entries) {
    if (e.kind === 'symlink') {
      if (e.size > MAX_LINK_TARGET)
        throw corrupt(`The link '${e.path}' has a target that is too long.`);
      const target = (await entryData(zip, e)).toString('utf8');
      links.set(e.path, target);
      unzippedSize += e.size;
    } else if (e.kind === 'directory') dirs.push(e);
    else files.push(e);
  }
  for (const [path, target] of links) {
    if (!linkStaysInside(path, target, links)) {
      throw invalidParameter(
        `${UNZIP_FAILED} The symbolic link '${path}' points outside the function's directory ('${target}').`,
      );
    }
  }

  // Every parent directory first (explicit entries get their own modes at the end).
  const parents = new Set<string>();
  for (const e of [...files, ...dirs]) {
    const slash = e.path.lastIndexOf('/');
    if (e.kind === 'directory') parents.add(e.path);
    else if (slash > 0) parents.add(e.path.slice(0, slash));
  }
  for (const [path] of links) {
    const slash = path.lastIndexOf('/');
    if (slash > 0) parents.add(path.slice(0, slash));
  }
  for (const dir of [...parents].sort()) await mkdir(join(dest, dir), { recursive: true });

  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const e = files[next++];
      const data = await entryData(zip, e);
      const file = join(dest, e.path);
      await writeFile(file, data, { mode: e.mode, flag: 'wx' });
      // umask may have cleared group/other bits the archive asked for.
      if (e.mode & 0o022) await chmod(file, e.mode);
      await utimes(file, e.mtime, e.mtime);
      unzippedSize += data.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_WRITES, files.length) }, worker));

  for (const [path, target] of links) await symlink(target, join(dest, path));
  // Deepest first, so a directory's own mode never blocks creating what is inside it.
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) await chmod(join(dest, d.path), d.mode);
  return { files: files.length, unzippedSize };
}
