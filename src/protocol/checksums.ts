/**
 * The flexible checksums S3 takes in headers and aws-chunked trailers
 * (`x-amz-checksum-crc32|crc32c|crc64nvme|sha1|sha256`, base64 of the big-endian digest)
 * and Content-MD5: running digests fed as the payload streams by.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** `x-amz-checksum-crc32` for CRC32, … */
export function checksumHeader(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** The algorithm a checksum header or trailer names, if it names one. */
export function checksumAlgorithmOf(header: string): ChecksumAlgorithm | undefined {
  const lower = header.trim().toLowerCase();
  return CHECKSUM_ALGORITHMS.find((a) => checksumHeader(a) === lower);
}

/** Byte lengths of each digest: a value of another length is not a checksum of that kind. */
export const DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm | 'MD5', number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
  MD5: 16,
};

export interface RunningDigest {
  update(data: Buffer): void;
  /** base64 of the digest */
  digest(): Promise<string>;
}

export function runningDigest(algorithm: ChecksumAlgorithm | 'MD5'): RunningDigest {
  switch (algorithm) {
    case 'CRC32': {
      let value = 0;
      return {
        update: (data) => void (value = crc32(data, value)),
        digest: async () => uint32(value),
      };
    }
    case 'CRC32C': {
      const c = new Crc32c();
      return { update: (data) => void c.update(data), digest: async () => uint32(c.digest()) };
    }
    case 'CRC64NVME': {
      const c = new Crc64Nvme();
      return {
        update: (data) => c.update(data),
        digest: async () => Buffer.from(await c.digest()).toString('base64'),
      };
    }
    case 'SHA1':
      return hashDigest(createHash('sha1'));
    case 'SHA256':
      return hashDigest(createHash('sha256'));
    case 'MD5':
      return hashDigest(createHash('md5'));
    default:
      return assertNever(algorithm);
  }
}

/** Whether `value` is base64 of a digest as long as `algorithm`'s. */
export function isDigestOf(algorithm: ChecksumAlgorithm | 'MD5', value: string): boolean {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  return Buffer.from(value, 'base64').length === DIGEST_BYTES[algorithm];
}

function hashDigest(hash: Hash): RunningDigest {
  return { update: (data) => void hash.update(data), digest: async () => hash.digest('base64') };
}

function uint32(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b.toString('base64');
}

function assertNever(x: never): never {
  throw new Error(`unknown checksum algorithm ${String(x)}`);
}
