/**
 * S3 through the AWS CLI v2 (`aws s3 cp` multipart both ways, `sync`, `ls`; `s3api`) and
 * boto3 (its default checksums; a corrupted one is refused and nothing stored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsCli, python } from './helpers/clients.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let dir: string;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function cli(args: string[]): Promise<string> {
  const r = await awsCli(server.endpoint, args);
  assert.equal(r.code, 0, `aws ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('S3 through the AWS CLI v2 and boto3', () => {
  before(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'stratus-s3-cli-'));
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('aws s3 cp of a large file up and down (multipart both ways), identical bytes', async () => {
    await cli(['s3', 'mb', 's3://cli-bucket']);
    const src = join(dir, 'big.bin');
    // 40 MB: five 8 MB parts each way (the CLI's threshold and part size); bench/ does 1 GB.
    const block = randomBytes(1024 * 1024);
    await writeFile(src, Buffer.concat(Array.from({ length: 40 }, () => block)));
    await cli(['s3', 'cp', src, 's3://cli-bucket/data/big.bin']);
    const head = JSON.parse(
      await cli(['s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'data/big.bin']),
    ) as { ETag: string; ContentLength: number };
    assert.match(head.ETag, /-5"$/, 'uploaded in parts');
    assert.equal(head.ContentLength, 40 * 1024 * 1024);
    const back = join(dir, 'back.bin');
    await cli(['s3', 'cp', 's3://cli-bucket/data/big.bin', back]);
    assert.equal(await sha256File(back), await sha256File(src));
  });

  test('aws s3 sync of a directory tree, then ls with prefixes', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'top.txt'), 'top');
    await writeFile(join(tree, 'a', 'one.txt'), 'one');
    await writeFile(join(tree, 'a', 'b', 'two words.txt'), 'two');
    await cli(['s3', 'mb', 's3://sync-bucket']);
    await cli(['s3', 'sync', tree, 's3://sync-bucket/site']);
    const ls = await cli(['s3', 'ls', 's3://sync-bucket/site/']);
    assert.match(ls, /PRE a\//);
    assert.match(ls, /top\.txt/);
    const recursive = await cli(['s3', 'ls', '--recursive', 's3://sync-bucket/']);
    assert.match(recursive, /site\/a\/b\/two words\.txt/);
    // A second sync has nothing to do; a changed file is sent again.
    const again = await cli(['s3', 'sync', tree, 's3://sync-bucket/site']);
    assert.equal(again.trim(), '');
    await writeFile(join(tree, 'a', 'one.txt'), 'one, changed');
    const changed = await cli(['s3', 'sync', tree, 's3://sync-bucket/site']);
    assert.match(changed, /upload: .*one\.txt/);
    const down = join(dir, 'down');
    await cli(['s3', 'sync', 's3://sync-bucket/site', down]);
    assert.equal(await readFile(join(down, 'a', 'b', 'two words.txt'), 'utf8'), 'two');
    assert.equal(await readFile(join(down, 'a', 'one.txt'), 'utf8'), 'one, changed');
    const buckets = await cli(['s3', 'ls']);
    assert.match(buckets, /sync-bucket/);
  });

  test('aws s3api list-objects-v2 pages with --max-items', async () => {
    await cli(['s3', 'mb', 's3://page-bucket']);
    for (let i = 0; i < 7; i++) {
      await cli(['s3api', 'put-object', '--bucket', 'page-bucket', '--key', `k${i}`]);
    }
    const out = JSON.parse(
      await cli(['s3api', 'list-objects-v2', '--bucket', 'page-bucket', '--page-size', '3']),
    ) as { Contents: { Key: string }[] };
    assert.deepEqual(
      out.Contents.map((c) => c.Key),
      ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'],
    );
  });

  test('boto3: put with its default checksum, get, a corrupted checksum refused', async () => {
    const r = await python(
      server.endpoint,
      `
import os, boto3, botocore, base64
s3 = boto3.client('s3', endpoint_url=os.environ['ENDPOINT'], region_name='us-east-1')
s3.create_bucket(Bucket='boto-bucket')
put = s3.put_object(Bucket='boto-bucket', Key='hello.txt', Body=b'hello from boto3')
got = s3.get_object(Bucket='boto-bucket', Key='hello.txt', ChecksumMode='ENABLED')
assert got['Body'].read() == b'hello from boto3'
print('checksum', sorted(k for k in put if k.startswith('Checksum')))
s3.upload_fileobj(__import__('io').BytesIO(b'x' * (9 * 1024 * 1024)), 'boto-bucket', 'multi.bin')
assert s3.head_object(Bucket='boto-bucket', Key='multi.bin')['ContentLength'] == 9 * 1024 * 1024
try:
    s3.put_object(Bucket='boto-bucket', Key='bad.txt', Body=b'data', ChecksumSHA256=base64.b64encode(b'0' * 32).decode())
    print('accepted')
except botocore.exceptions.ClientError as e:
    print('refused', e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
try:
    s3.head_object(Bucket='boto-bucket', Key='bad.txt')
    print('stored')
except botocore.exceptions.ClientError as e:
    print('absent', e.response['Error']['Code'])
`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /checksum \['ChecksumCRC32'/);
    assert.match(r.stdout, /refused BadDigest 400/);
    assert.match(r.stdout, /absent 404/);
  });
});
