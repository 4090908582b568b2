import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XMLParser } from 'fast-xml-parser';
import { model as s3 } from '../api/s3/model.js';
import { NoSuchKey } from '../api/s3/errors.js';
import { AwsError } from '../shared/errors.js';
import type { OperationModel } from './model.js';
import { restXmlCodec as codec } from './rest-xml.js';
import type { Struct, WireRequest } from './types.js';

function request(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body: string | Buffer = '',
): WireRequest {
  const q = url.indexOf('?');
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  return {
    method,
    path: q < 0 ? url : url.slice(0, q),
    rawQuery,
    query: new URLSearchParams(rawQuery),
    headers,
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

function resolve(req: WireRequest): OperationModel {
  const op = codec.resolveOperation(req, s3);
  if (op instanceof AwsError) throw op;
  return op;
}

function parse(req: WireRequest): Struct {
  return codec.parseInput(req, resolve(req), s3);
}

const ctx = { requestId: 'REQ123' };
const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false });
const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

test('S3 PutObject: greedy key label, metadata prefix headers, typed headers, raw body', () => {
  const body = Buffer.from([1, 2, 3, 0, 255]);
  const input = parse(
    request(
      'PUT',
      '/my-bucket/dir/sub/key%20name%2B%C3%BC.txt',
      {
        'content-type': 'image/png',
        'content-length': '5',
        'x-amz-meta-color': 'blue',
        'x-amz-meta-owner-id': '42',
        'x-amz-storage-class': 'STANDARD',
        'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z',
      },
      body,
    ),
  );
  assert.deepEqual(input, {
    Bucket: 'my-bucket',
    Key: 'dir/sub/key name+ü.txt',
    ContentType: 'image/png',
    ContentLength: 5,
    StorageClass: 'STANDARD',
    ObjectLockRetainUntilDate: new Date('2030-01-01T00:00:00Z'),
    Metadata: { color: 'blue', 'owner-id': '42' },
    Body: body,
  });
  assert.equal(parse(request('PUT', '/b/folder/')).Key, 'folder/');
  assert.equal(parse(request('PUT', '/b//leading')).Key, '/leading');
});

test('S3 routing: headers, required query parameters, literal query parts and x-id decide', () => {
  const cases: [string, string, Record<string, string>, string][] = [
    ['PUT', '/b/k', {}, 'PutObject'],
    ['PUT', '/b/k', { 'x-amz-copy-source': '/src/k' }, 'CopyObject'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', {}, 'UploadPart'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': '/src/k' }, 'UploadPartCopy'],
    ['PUT', '/b/k?tagging', {}, 'PutObjectTagging'],
    ['GET', '/b/k', {}, 'GetObject'],
    ['GET', '/b/k?x-id=GetObject', {}, 'GetObject'],
    ['GET', '/b/k?uploadId=u', {}, 'ListParts'],
    ['HEAD', '/b/k', {}, 'HeadObject'],
    ['DELETE', '/b/k', {}, 'DeleteObject'],
    ['DELETE', '/b/k?uploadId=u', {}, 'AbortMultipartUpload'],
    ['POST', '/b/k?uploads', {}, 'CreateMultipartUpload'],
    ['POST', '/b/k?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['GET', '/', {}, 'ListBuckets'],
    ['GET', '/b', {}, 'ListObjects'],
    ['GET', '/b/', {}, 'ListObjects'],
    ['GET', '/b?list-type=2&prefix=a', {}, 'ListObjectsV2'],
    ['GET', '/b?versions', {}, 'ListObjectVersions'],
    ['GET', '/b?tagging', {}, 'GetBucketTagging'],
    ['PUT', '/b?tagging', {}, 'PutBucketTagging'],
    ['PUT', '/b', {}, 'CreateBucket'],
    ['HEAD', '/b', {}, 'HeadBucket'],
    ['POST', '/b?delete', {}, 'DeleteObjects'],
  ];
  for (const [method, url, headers, name] of cases) {
    assert.equal(resolve(request(method, url, headers)).name, name, `${method} ${url}`);
  }
  const err = codec.resolveOperation(request('PATCH', '/b/k'), s3);
  assert.ok(err instanceof AwsError);
  assert.equal(err.code, 'MethodNotAllowed');
  assert.equal(err.status, 405);
});

test('S3 ListObjectsV2: query parameters in, flattened Contents/CommonPrefixes out', () => {
  const req = request(
    'GET',
    '/b?list-type=2&prefix=photos%2F&delimiter=%2F&max-keys=2&fetch-owner=true&continuation-token=abc',
  );
  const op = resolve(req);
  assert.deepEqual(codec.parseInput(req, op, s3), {
    Bucket: 'b',
    Prefix: 'photos/',
    Delimiter: '/',
    MaxKeys: 2,
    FetchOwner: true,
    ContinuationToken: 'abc',
  });
  assert.throws(
    () => codec.parseInput(request('GET', '/b?list-type=2&max-keys=lots'), op, s3),
    (e: AwsError) => e.code === 'InvalidArgument' && e.status === 400,
  );
  const output = {
    Name: 'b',
    Prefix: 'photos/',
    KeyCount: 2,
    MaxKeys: 2,
    IsTruncated: true,
    NextContinuationToken: 'next',
    Contents: [
      {
        Key: 'photos/a&b.jpg',
        LastModified: new Date('2024-01-01T00:00:00.123Z'),
        ETag: '"e1"',
        Size: 10,
        StorageClass: 'STANDARD',
      },
      {
        Key: 'photos/c.jpg',
        LastModified: new Date('2024-01-02T00:00:00Z'),
        ETag: '"e2"',
        Size: 0,
        StorageClass: 'STANDARD',
      },
    ],
    CommonPrefixes: [{ Prefix: 'photos/2024/' }],
  };
  const res = codec.serializeOutput(output, op, s3, ctx);
  assert.equal(res.status, 200);
  assert.equal(res.headers['Content-Type'], 'application/xml');
  assert.equal(res.headers['x-amz-request-id'], 'REQ123');
  const text = String(res.body);
  assert.match(
    text,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<ListBucketResult xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/">/,
  );
  const doc = (xml.parse(text) as Struct).ListBucketResult as Struct;
  assert.equal(doc.IsTruncated, 'true');
  assert.deepEqual(doc.Contents, [
    {
      Key: 'photos/a&b.jpg',
      LastModified: '2024-01-01T00:00:00.123Z',
      ETag: '"e1"',
      Size: '10',
      StorageClass: 'STANDARD',
    },
    {
      Key: 'photos/c.jpg',
      LastModified: '2024-01-02T00:00:00Z',
      ETag: '"e2"',
      Size: '0',
      StorageClass: 'STANDARD',
    },
  ]);
  assert.deepEqual(doc.CommonPrefixes, { Prefix: 'photos/2024/' });
});

test('S3 PutBucketTagging and DeleteObjects: XML payloads into shapes', () => {
  const tagging = parse(
    request(
      'PUT',
      '/b?tagging',
      { 'content-md5': 'abc' },
      `<?xml version="1.0" encoding="UTF-8"?>
<Tagging xmlns="${NS}">
  <TagSet>
    <Tag><Key>team</Key><Value>a &amp; b</Value></Tag>
    <Tag><Key> spaced </Key><Value></Value></Tag>
  </TagSet>
</Tagging>`,
    ),
  );
  assert.deepEqual(tagging, {
    Bucket: 'b',
    ContentMD5: 'abc',
    Tagging: {
      TagSet: [
        { Key: 'team', Value: 'a & b' },
        { Key: ' spaced ', Value: '' },
      ],
    },
  });
  const one = parse(
    request(
      'PUT',
      '/b?tagging',
      {},
      '<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>',
    ),
  );
  assert.deepEqual(one.Tagging, { TagSet: [{ Key: 'k', Value: 'v' }] });
  const del = parse(
    request(
      'POST',
      '/b?delete',
      {},
      `<Delete xmlns="${NS}"><Object><Key>a</Key></Object><Object><Key>b&#xD;</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>`,
    ),
  );
  assert.deepEqual(del.Delete, {
    Objects: [{ Key: 'a' }, { Key: 'b\r', VersionId: 'v1' }],
    Quiet: true,
  });
});

test('S3 XML attributes and namespaces: Grantee xsi:type in and out', () => {
  const req = request(
    'PUT',
    '/b?acl',
    {},
    `<AccessControlPolicy xmlns="${NS}"><Owner><ID>o1</ID></Owner><AccessControlList>` +
      '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o1</ID></Grantee>' +
      '<Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>',
  );
  const op = resolve(req);
  assert.equal(op.name, 'PutBucketAcl');
  assert.deepEqual(codec.parseInput(req, op, s3).AccessControlPolicy, {
    Owner: { ID: 'o1' },
    Grants: [{ Grantee: { ID: 'o1', Type: 'CanonicalUser' }, Permission: 'FULL_CONTROL' }],
  });
  const get = resolve(request('GET', '/b?acl'));
  const res = codec.serializeOutput(
    {
      Owner: { ID: 'o1' },
      Grants: [{ Grantee: { ID: 'o1', Type: 'CanonicalUser' }, Permission: 'FULL_CONTROL' }],
    },
    get,
    s3,
    ctx,
  );
  assert.match(
    String(res.body),
    /<AccessControlList><Grant><Grantee xmlns:xsi="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o1<\/ID><\/Grantee><Permission>FULL_CONTROL<\/Permission><\/Grant><\/AccessControlList>/,
  );
});

test('S3 malformed XML bodies are MalformedXML (bad syntax, DTDs, wrong scalar types)', () => {
  for (const body of [
    '<Tagging><TagSet></Tagging>',
    'not xml',
    '<!DOCTYPE x [<!ENTITY a "aaaa">]><Tagging>&a;</Tagging>',
    '<a/><b/>',
  ]) {
    assert.throws(
      () => parse(request('PUT', '/b?tagging', {}, body)),
      (e: AwsError) => e.code === 'MalformedXML' && e.status === 400,
      body,
    );
  }
  assert.throws(
    () =>
      parse(
        request(
          'POST',
          '/b?delete',
          {},
          '<Delete><Object><Key>a</Key></Object><Quiet>maybe</Quiet></Delete>',
        ),
      ),
    (e: AwsError) => e.code === 'MalformedXML',
  );
  const invalidUtf8 = Buffer.concat([
    Buffer.from('<Tagging><TagSet><Tag><Key>'),
    Buffer.from([0xff]),
    Buffer.from('</Key><Value>v</Value></Tag></TagSet></Tagging>'),
  ]);
  const tagging = parse(request('PUT', '/b?tagging', {}, invalidUtf8)).Tagging as Struct;
  assert.deepEqual(tagging, { TagSet: [{ Key: '\uFFFD', Value: 'v' }] });
});

test('S3 GetObject output: blob payload, header members, rfc822 dates, metadata headers', () => {
  const op = resolve(request('GET', '/b/k'));
  const res = codec.serializeOutput(
    {
      Body: Buffer.from('hello'),
      ContentType: 'text/plain',
      ContentLength: 5,
      ETag: '"5d41402abc4b2a76b9719d911017c592"',
      LastModified: new Date('2024-03-04T05:06:07Z'),
      Metadata: { color: 'blue' },
      DeleteMarker: false,
    },
    op,
    s3,
    ctx,
  );
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, Buffer.from('hello'));
  assert.equal(res.headers['Content-Type'], 'text/plain');
  assert.equal(res.headers['Content-Length'], '5');
  assert.equal(res.headers['Last-Modified'], 'Mon, 04 Mar 2024 05:06:07 GMT');
  assert.equal(res.headers['x-amz-meta-color'], 'blue');
  assert.equal(res.headers['x-amz-delete-marker'], 'false');
  const put = resolve(request('PUT', '/b/k'));
  const empty = codec.serializeOutput({ ETag: '"e"' }, put, s3, ctx);
  assert.equal(empty.body, '');
  assert.equal(empty.headers.ETag, '"e"');
});

test('S3 errors: <Error> with Code, Message, extra fields, RequestId', () => {
  const res = codec.serializeError(
    new NoSuchKey('The specified key does not exist.', { Key: 'a<b' }),
    s3,
    ctx,
  );
  assert.equal(res.status, 404);
  assert.equal(res.headers['x-amz-request-id'], 'REQ123');
  assert.deepEqual((xml.parse(String(res.body)) as Struct).Error, {
    Code: 'NoSuchKey',
    Message: 'The specified key does not exist.',
    Key: 'a<b',
    RequestId: 'REQ123',
    HostId: res.headers['x-amz-id-2'],
  });
});
