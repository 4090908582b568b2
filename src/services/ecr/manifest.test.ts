import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ManifestInvalidError,
  MediaTypes,
  acceptsMediaType,
  isManifestMediaType,
  parseManifest,
} from './manifest.js';

/** A well-formed digest whose hex digits are `char` repeated (fixtures need not be real). */
function digestOf(char: string): string {
  return `sha256:${char.repeat(64)}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 3));
}

const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const EMPTY_JSON = 'application/vnd.oci.empty.v1+json';
const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

function dockerManifest(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: DOCKER_CONFIG, size: 1469, digest: digestOf('1') },
    layers: [
      { mediaType: DOCKER_LAYER, size: 2814446, digest: digestOf('2') },
      { mediaType: DOCKER_LAYER, size: 32, digest: digestOf('3') },
    ],
  };
}

function ociManifest(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: OCI_CONFIG, size: 7023, digest: digestOf('a') },
    layers: [{ mediaType: OCI_LAYER, size: 32654, digest: digestOf('b') }],
    annotations: { 'com.example.key1': 'value1' },
  };
}

function ociIndex(): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      {
        mediaType: MediaTypes.ociManifest,
        size: 7143,
        digest: digestOf('c'),
        platform: { architecture: 'ppc64le', os: 'linux' },
      },
      {
        mediaType: MediaTypes.ociManifest,
        size: 7682,
        digest: digestOf('d'),
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
    annotations: { 'com.example.key1': 'value1' },
  };
}

function assertInvalid(
  bytes: Buffer,
  contentType: string | undefined,
  message: RegExp,
): ManifestInvalidError {
  let caught: unknown;
  try {
    parseManifest(bytes, contentType);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ManifestInvalidError, `expected ManifestInvalidError, got ${caught}`);
  assert.equal(caught.code, 'MANIFEST_INVALID');
  assert.equal(caught.name, 'ManifestInvalidError');
  assert.match(caught.message, message);
  return caught;
}

// ---------------------------------------------------------------------------------------
// Valid manifests

test('a Docker schema 2 manifest: config then layers, size is their sum', () => {
  const bytes = json(dockerManifest());
  const parsed = parseManifest(bytes, MediaTypes.dockerManifest);
  assert.deepEqual(parsed, {
    mediaType: MediaTypes.dockerManifest,
    kind: 'image',
    blobs: [
      { mediaType: DOCKER_CONFIG, size: 1469, digest: digestOf('1') },
      { mediaType: DOCKER_LAYER, size: 2814446, digest: digestOf('2') },
      { mediaType: DOCKER_LAYER, size: 32, digest: digestOf('3') },
    ],
    manifests: [],
    artifactType: DOCKER_CONFIG,
    contentSize: 1469 + 2814446 + 32,
  });
});

test('Content-Type parameters and case are ignored; no Content-Type falls back to the field', () => {
  const bytes = json(dockerManifest());
  for (const contentType of [
    'application/vnd.docker.distribution.manifest.v2+json; charset=utf-8',
    ' Application/VND.docker.distribution.manifest.v2+JSON ',
    undefined,
    '',
    'application/json',
  ]) {
    const parsed = parseManifest(bytes, contentType);
    assert.equal(parsed.mediaType, MediaTypes.dockerManifest, String(contentType));
    assert.equal(parsed.kind, 'image');
  }
});

test('a Docker manifest list with two platforms', () => {
  const list = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerList,
    manifests: [
      {
        mediaType: MediaTypes.dockerManifest,
        size: 7143,
        digest: digestOf('e'),
        platform: { architecture: 'ppc64le', os: 'linux' },
      },
      {
        mediaType: MediaTypes.dockerManifest,
        size: 7682,
        digest: digestOf('f'),
        platform: {
          architecture: 'amd64',
          os: 'windows',
          'os.version': '10.0.14393.1066',
          'os.features': ['win32k'],
          features: ['sse4'],
        },
      },
    ],
  };
  const bytes = json(list);
  const parsed = parseManifest(bytes, MediaTypes.dockerList);
  assert.deepEqual(parsed, {
    mediaType: MediaTypes.dockerList,
    kind: 'index',
    blobs: [],
    manifests: [
      {
        mediaType: MediaTypes.dockerManifest,
        size: 7143,
        digest: digestOf('e'),
        platform: { architecture: 'ppc64le', os: 'linux' },
      },
      {
        mediaType: MediaTypes.dockerManifest,
        size: 7682,
        digest: digestOf('f'),
        platform: {
          architecture: 'amd64',
          os: 'windows',
          'os.version': '10.0.14393.1066',
          'os.features': ['win32k'],
        },
      },
    ],
    contentSize: bytes.length,
  });
});

test('an OCI image manifest keeps its annotations', () => {
  const parsed = parseManifest(json(ociManifest()), MediaTypes.ociManifest);
  assert.equal(parsed.mediaType, MediaTypes.ociManifest);
  assert.equal(parsed.kind, 'image');
  assert.deepEqual(
    parsed.blobs.map((blob) => blob.digest),
    [digestOf('a'), digestOf('b')],
  );
  assert.deepEqual(parsed.manifests, []);
  assert.deepEqual(parsed.annotations, { 'com.example.key1': 'value1' });
  assert.equal(parsed.artifactType, OCI_CONFIG);
  assert.equal(parsed.contentSize, 7023 + 32654);
  assert.equal(parsed.subject, undefined);
});

test('an OCI index: child manifests with platforms, size of the index bytes', () => {
  const bytes = json(ociIndex());
  const parsed = parseManifest(bytes, MediaTypes.ociIndex);
  assert.equal(parsed.kind, 'index');
  assert.equal(parsed.mediaType, MediaTypes.ociIndex);
  assert.deepEqual(parsed.blobs, []);
  assert.equal(parsed.manifests.length, 2);
  assert.deepEqual(parsed.manifests[1]?.platform, { architecture: 'amd64', os: 'linux' });
  assert.equal(parsed.contentSize, bytes.length);
  assert.equal(parsed.artifactType, undefined);
  assert.deepEqual(parsed.annotations, { 'com.example.key1': 'value1' });
});

test('an OCI index may be empty and may nest indexes and unknown media types', () => {
  const empty = parseManifest(json({ schemaVersion: 2, manifests: [] }), MediaTypes.ociIndex);
  assert.deepEqual(empty.manifests, []);
  const nested = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [
      { mediaType: MediaTypes.ociIndex, size: 10, digest: digestOf('1') },
      { mediaType: 'application/vnd.example.future+json', size: 10, digest: digestOf('2') },
    ],
  };
  assert.equal(parseManifest(json(nested), undefined).manifests.length, 2);
});

test('OCI documents without a mediaType field: Content-Type, else inferred from the shape', () => {
  const manifest = ociManifest();
  delete manifest.mediaType;
  const index = ociIndex();
  delete index.mediaType;

  assert.equal(parseManifest(json(manifest), undefined).mediaType, MediaTypes.ociManifest);
  assert.equal(parseManifest(json(manifest), 'application/json').kind, 'image');
  assert.equal(parseManifest(json(index), undefined).mediaType, MediaTypes.ociIndex);
  assert.equal(parseManifest(json(index), undefined).kind, 'index');
  // A Docker list pushed without its mediaType field but with its Content-Type.
  const parsed = parseManifest(json(index), MediaTypes.dockerList);
  assert.equal(parsed.mediaType, MediaTypes.dockerList);
  assert.equal(parsed.kind, 'index');
});

test('an artifact manifest with artifactType and subject (OCI 1.1, as oras pushes it)', () => {
  const subject = {
    mediaType: MediaTypes.ociManifest,
    size: 7682,
    digest: digestOf('5'),
  };
  const artifact = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: 'application/vnd.example.sbom.v1',
    config: { mediaType: EMPTY_JSON, digest: EMPTY_DIGEST, size: 2, data: 'e30=' },
    layers: [
      {
        mediaType: 'application/vnd.example.sbom.v1+json',
        size: 1234,
        digest: digestOf('6'),
        annotations: { 'org.opencontainers.image.title': 'sbom.json' },
      },
    ],
    subject,
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z' },
  };
  const parsed = parseManifest(json(artifact), MediaTypes.ociManifest);
  assert.equal(parsed.artifactType, 'application/vnd.example.sbom.v1');
  assert.deepEqual(parsed.subject, subject);
  assert.deepEqual(parsed.blobs[0], { mediaType: EMPTY_JSON, digest: EMPTY_DIGEST, size: 2 });
  assert.deepEqual(parsed.blobs[1]?.annotations, {
    'org.opencontainers.image.title': 'sbom.json',
  });
  assert.equal(parsed.contentSize, 2 + 1234);
});

test('an artifact without artifactType: config.mediaType is its artifactType', () => {
  const signature = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: 'application/vnd.cncf.notary.signature', size: 2, digest: EMPTY_DIGEST },
    layers: [],
    subject: { mediaType: MediaTypes.ociManifest, size: 10, digest: digestOf('7') },
  };
  const parsed = parseManifest(json(signature), undefined);
  assert.equal(parsed.artifactType, 'application/vnd.cncf.notary.signature');
  assert.deepEqual(parsed.blobs.length, 1);
  assert.equal(parsed.contentSize, 2);
});

test('an index keeps its own artifactType and subject, with no config fallback', () => {
  const index = {
    ...ociIndex(),
    artifactType: 'application/vnd.example.bundle',
    subject: { mediaType: MediaTypes.ociManifest, size: 10, digest: digestOf('8') },
  };
  const parsed = parseManifest(json(index), MediaTypes.ociIndex);
  assert.equal(parsed.artifactType, 'application/vnd.example.bundle');
  assert.equal(parsed.subject?.digest, digestOf('8'));
});

test('descriptor artifactType, urls and unknown fields are accepted', () => {
  const manifest = ociManifest();
  manifest.layers = [
    {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      size: 1,
      digest: digestOf('9'),
      urls: ['https://example.com/layer'],
      'com.example.unknown': { nested: true },
    },
  ];
  manifest['com.example.extension'] = [1, 2, 3];
  const index = ociIndex();
  (index.manifests as Record<string, unknown>[])[0].artifactType = 'application/vnd.example';
  assert.equal(parseManifest(json(manifest), undefined).blobs.length, 2);
  assert.equal(
    parseManifest(json(index), undefined).manifests[0]?.artifactType,
    'application/vnd.example',
  );
});

test('an annotation named __proto__ stays an ordinary key', () => {
  const bytes = Buffer.from(
    `{"schemaVersion":2,"manifests":[],"annotations":{"__proto__":"x","a":"b"}}`,
  );
  const annotations = parseManifest(bytes, undefined).annotations;
  assert.ok(annotations);
  assert.equal(Object.getPrototypeOf(annotations), Object.prototype);
  assert.deepEqual(Object.keys(annotations), ['__proto__', 'a']);
});

// ---------------------------------------------------------------------------------------
// Invalid manifests

test('bytes that are not UTF-8, not JSON, or not an object are refused', () => {
  assertInvalid(Buffer.alloc(0), undefined, /empty/);
  assertInvalid(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined, /not valid UTF-8/);
  assertInvalid(Buffer.from('{"schemaVersion": 2,'), undefined, /not valid JSON/);
  assertInvalid(Buffer.from('not json at all'), MediaTypes.ociManifest, /not valid JSON/);
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(ociManifest())]);
  assertInvalid(bom, undefined, /not valid JSON/);
  assertInvalid(Buffer.from('[]'), undefined, /must be a JSON object, got an array/);
  assertInvalid(Buffer.from('null'), undefined, /must be a JSON object, got null/);
  assertInvalid(Buffer.from('"manifest"'), undefined, /must be a JSON object/);
  assertInvalid(Buffer.from('[['.repeat(20000)), undefined, /not valid JSON/);
  // Deep nesting in an unknown field is parsed by JSON.parse and never walked.
  const deep = `{"schemaVersion":2,"manifests":[],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  assert.equal(parseManifest(Buffer.from(deep), undefined).kind, 'index');
});

test('Docker schema 1 is refused as such, by Content-Type, field or schemaVersion', () => {
  const schema1 = json({
    schemaVersion: 1,
    name: 'library/hello',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: [{ blobSum: digestOf('1') }],
    history: [],
    signatures: [],
  });
  for (const contentType of [
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/vnd.docker.distribution.manifest.v1+json',
  ]) {
    assertInvalid(schema1, contentType, /schema 1 is deprecated and not supported/);
  }
  assertInvalid(schema1, undefined, /schemaVersion 1: Docker image manifest v2 schema 1/);
  assertInvalid(
    json({
      ...dockerManifest(),
      mediaType: 'application/vnd.docker.distribution.manifest.v1+json',
    }),
    undefined,
    /schema 1/,
  );
});

test('unsupported media types are refused, naming the supported ones', () => {
  const bytes = json(ociManifest());
  const error = assertInvalid(
    bytes,
    'text/plain',
    /unsupported manifest Content-Type "text\/plain"/,
  );
  assert.match(error.message, /application\/vnd\.oci\.image\.index\.v1\+json/);
  assertInvalid(bytes, 'application/octet-stream', /unsupported/);
  assertInvalid(bytes, OCI_LAYER, /unsupported/);
  assertInvalid(bytes, 'application/vnd.oci.artifact.manifest.v1+json', /dropped from image-spec/);
  assertInvalid(
    json({ ...ociManifest(), mediaType: 'application/vnd.example+json' }),
    undefined,
    /unsupported manifest mediaType "application\/vnd.example\+json"/,
  );
  assertInvalid(json({ ...ociManifest(), mediaType: 7 }), undefined, /mediaType must be a string/);
});

test('a mediaType field contradicting the Content-Type is refused', () => {
  assertInvalid(
    json(ociManifest()),
    MediaTypes.dockerManifest,
    /mediaType field "application\/vnd.oci.image.manifest.v1\+json" contradicts Content-Type "application\/vnd.docker.distribution.manifest.v2\+json"/,
  );
  assertInvalid(json(ociIndex()), MediaTypes.ociManifest, /contradicts/);
});

test('schemaVersion must be the number 2', () => {
  for (const [value, message] of [
    [undefined, /no schemaVersion/],
    [3, /must be 2, got 3/],
    ['2', /must be 2, got the string "2"/],
    [2.5, /must be 2/],
    [null, /must be 2, got null/],
  ] as const) {
    const manifest = ociManifest();
    if (value === undefined) delete manifest.schemaVersion;
    else manifest.schemaVersion = value;
    assertInvalid(json(manifest), undefined, message);
  }
});

test('an image manifest needs a config descriptor and a layers array', () => {
  const noConfig = ociManifest();
  delete noConfig.config;
  assertInvalid(json(noConfig), MediaTypes.ociManifest, /no config/);
  const noLayers = ociManifest();
  delete noLayers.layers;
  assertInvalid(json(noLayers), MediaTypes.ociManifest, /no layers/);
  assertInvalid(json({ ...ociManifest(), config: 'x' }), undefined, /config must be an object/);
  assertInvalid(json({ ...ociManifest(), config: [] }), undefined, /config must be an object/);
  assertInvalid(json({ ...ociManifest(), layers: {} }), undefined, /layers must be an array/);
  assertInvalid(json({ ...ociManifest(), layers: [null] }), undefined, /layers\[0\] must be/);
});

test('an index needs a manifests array', () => {
  const noManifests = ociIndex();
  delete noManifests.manifests;
  assertInvalid(json(noManifests), undefined, /no manifests/);
  assertInvalid(json({ ...ociIndex(), manifests: 'x' }), undefined, /manifests must be an array/);
  assertInvalid(
    json({ schemaVersion: 2, mediaType: MediaTypes.dockerList }),
    undefined,
    /no manifests/,
  );
});

test('ambiguous documents (image and index fields together) are refused', () => {
  assertInvalid(
    json({ ...ociManifest(), manifests: [] }),
    undefined,
    /must not have a manifests field/,
  );
  assertInvalid(json({ ...ociIndex(), layers: [] }), undefined, /must not have a layers field/);
  const both: Record<string, unknown> = { ...ociIndex(), config: ociManifest().config };
  delete both.mediaType;
  assertInvalid(json(both), undefined, /ambiguous/);
  assertInvalid(json({ schemaVersion: 2 }), undefined, /cannot determine the manifest type/);
});

test('descriptors with bad digests are refused (only sha256 + 64 lowercase hex)', () => {
  for (const digest of [
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'a'.repeat(63)}`,
    `sha512:${'a'.repeat(128)}`,
    'sha256:../../etc/passwd',
    '',
    `sha256:${'a'.repeat(64)}\n`,
  ]) {
    const manifest = ociManifest();
    manifest.layers = [{ mediaType: OCI_LAYER, size: 1, digest }];
    assertInvalid(json(manifest), undefined, /layers\[0\]\.digest .* not a valid digest/);
  }
  const missing = ociManifest();
  missing.config = { mediaType: OCI_CONFIG, size: 1 };
  assertInvalid(json(missing), undefined, /config\.digest is missing/);
  const index = ociIndex();
  (index.manifests as Record<string, unknown>[])[1].digest = 42;
  assertInvalid(json(index), undefined, /manifests\[1\]\.digest must be a string, got 42/);
});

test('sizes must be non-negative safe integers', () => {
  for (const size of [-1, 1.5, '12', null, 2 ** 53, 1e300]) {
    const manifest = ociManifest();
    manifest.config = { mediaType: OCI_CONFIG, size, digest: digestOf('a') };
    assertInvalid(json(manifest), undefined, /config\.size must be a non-negative integer/);
  }
  const missing = ociManifest();
  missing.config = { mediaType: OCI_CONFIG, digest: digestOf('a') };
  assertInvalid(json(missing), undefined, /config\.size is missing/);
  const huge = ociManifest();
  huge.layers = [
    { mediaType: OCI_LAYER, size: 2 ** 52, digest: digestOf('b') },
    { mediaType: OCI_LAYER, size: 2 ** 52, digest: digestOf('c') },
  ];
  assertInvalid(json(huge), undefined, /too large/);
});

test('descriptor media types must be RFC 6838 type/subtype', () => {
  for (const mediaType of ['', 'tar', 'application/', '/json', 'a/b; charset=utf-8', 3]) {
    const manifest = ociManifest();
    manifest.layers = [{ mediaType, size: 1, digest: digestOf('b') }];
    assertInvalid(json(manifest), undefined, /layers\[0\]\.mediaType/);
  }
  assertInvalid(
    json({ ...ociManifest(), artifactType: 'not a media type' }),
    undefined,
    /artifactType "not a media type" is not a valid media type/,
  );
  const index = ociIndex();
  (index.manifests as Record<string, unknown>[])[0].artifactType = 5;
  assertInvalid(json(index), undefined, /manifests\[0\]\.artifactType must be a string/);
});

test('wrong-typed annotations are refused, at the top and in descriptors', () => {
  assertInvalid(
    json({ ...ociManifest(), annotations: { a: 1 } }),
    undefined,
    /annotations\["a"\] must be a string, got 1/,
  );
  assertInvalid(
    json({ ...ociManifest(), annotations: ['a'] }),
    undefined,
    /annotations must be an object/,
  );
  assertInvalid(
    json({ ...ociManifest(), annotations: null }),
    undefined,
    /annotations must be an object/,
  );
  const manifest = ociManifest();
  manifest.layers = [
    { mediaType: OCI_LAYER, size: 1, digest: digestOf('b'), annotations: { k: null } },
  ];
  assertInvalid(json(manifest), undefined, /layers\[0\]\.annotations\["k"\] must be a string/);
});

test('bad subjects, platforms, urls and embedded data are refused', () => {
  assertInvalid(
    json({ ...ociManifest(), subject: 'sha256:x' }),
    undefined,
    /subject must be an object/,
  );
  assertInvalid(
    json({
      ...ociManifest(),
      subject: { mediaType: MediaTypes.ociManifest, size: 1, digest: 'x' },
    }),
    undefined,
    /subject\.digest/,
  );
  const platforms: [unknown, RegExp][] = [
    [{ os: 'linux' }, /platform\.architecture is missing/],
    [{ architecture: 'amd64', os: 7 }, /platform\.os must be a string/],
    [{ architecture: 'arm', os: 'linux', variant: 7 }, /platform\.variant/],
    [
      { architecture: 'amd64', os: 'windows', 'os.features': 'win32k' },
      /os\.features must be an array/,
    ],
    [{ architecture: 'amd64', os: 'windows', 'os.version': 10 }, /os\.version must be a string/],
    ['linux/amd64', /platform must be an object/],
  ];
  for (const [platform, message] of platforms) {
    const index = ociIndex();
    (index.manifests as Record<string, unknown>[])[0].platform = platform;
    assertInvalid(json(index), undefined, message);
  }
  const urls = ociManifest();
  urls.layers = [{ mediaType: OCI_LAYER, size: 1, digest: digestOf('b'), urls: [1] }];
  assertInvalid(json(urls), undefined, /layers\[0\]\.urls\[0\] must be a string/);

  const data: [unknown, number, string, RegExp][] = [
    ['e30', 2, EMPTY_DIGEST, /not valid base64/],
    ['e3!=', 2, EMPTY_DIGEST, /not valid base64/],
    ['e30=', 3, EMPTY_DIGEST, /decodes to 2 bytes, size says 3/],
    ['e30=', 2, digestOf('0'), /does not match the digest/],
    [12, 2, EMPTY_DIGEST, /data must be a string/],
  ];
  for (const [value, size, digest, message] of data) {
    const manifest = ociManifest();
    manifest.config = { mediaType: EMPTY_JSON, size, digest, data: value };
    assertInvalid(json(manifest), undefined, message);
  }
});

test('embedded data that matches its descriptor is accepted', () => {
  const content = Buffer.from('{"architecture":"amd64"}');
  const manifest = ociManifest();
  manifest.config = {
    mediaType: OCI_CONFIG,
    size: content.length,
    digest: `sha256:${createHash('sha256').update(content).digest('hex')}`,
    data: content.toString('base64'),
  };
  assert.equal(parseManifest(json(manifest), undefined).blobs[0]?.size, content.length);
});

test('client text echoed in errors is bounded', () => {
  const error = assertInvalid(
    json(ociManifest()),
    `application/${'x'.repeat(10000)}`,
    /unsupported/,
  );
  assert.ok(error.message.length < 400, `message is ${error.message.length} characters`);
});

// ---------------------------------------------------------------------------------------
// Media type helpers

test('isManifestMediaType knows exactly the four manifest types', () => {
  for (const mediaType of Object.values(MediaTypes))
    assert.equal(isManifestMediaType(mediaType), true);
  assert.equal(isManifestMediaType(`${MediaTypes.ociIndex}; charset=utf-8`), true);
  assert.equal(
    isManifestMediaType('application/vnd.docker.distribution.manifest.v1+prettyjws'),
    false,
  );
  assert.equal(isManifestMediaType(OCI_CONFIG), false);
  assert.equal(isManifestMediaType('application/json'), false);
  assert.equal(isManifestMediaType(''), false);
});

test('Accept: absent, empty, malformed-only or */* accepts anything', () => {
  for (const mediaType of Object.values(MediaTypes)) {
    assert.equal(acceptsMediaType(undefined, mediaType), true);
    assert.equal(acceptsMediaType([], mediaType), true);
    assert.equal(acceptsMediaType([''], mediaType), true);
    assert.equal(acceptsMediaType(['garbage'], mediaType), true);
    assert.equal(acceptsMediaType(['*/*'], mediaType), true);
    assert.equal(acceptsMediaType(['application/*'], mediaType), true);
  }
});

test('Accept: comma lists and repeated headers, as docker and containerd send them', () => {
  const docker = [
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
  ];
  assert.equal(acceptsMediaType(docker, MediaTypes.dockerManifest), true);
  assert.equal(acceptsMediaType(docker, MediaTypes.ociIndex), true);
  assert.equal(acceptsMediaType(docker, MediaTypes.ociManifest), false);

  const oneHeader = [
    `${MediaTypes.ociManifest},${MediaTypes.ociIndex} ,  ${MediaTypes.dockerManifest}`,
  ];
  assert.equal(acceptsMediaType(oneHeader, MediaTypes.ociIndex), true);
  assert.equal(acceptsMediaType(oneHeader, MediaTypes.dockerManifest), true);
  assert.equal(acceptsMediaType(oneHeader, MediaTypes.dockerList), false);

  const containerd = [`${MediaTypes.dockerManifest}, ${MediaTypes.ociIndex}, */*`];
  assert.equal(acceptsMediaType(containerd, MediaTypes.dockerList), true);
});

test('Accept: q-values; q=0 refuses; the most specific range decides', () => {
  assert.equal(acceptsMediaType([`${MediaTypes.ociManifest};q=0.5`], MediaTypes.ociManifest), true);
  assert.equal(acceptsMediaType([`${MediaTypes.ociManifest}; q=0`], MediaTypes.ociManifest), false);
  assert.equal(
    acceptsMediaType([`${MediaTypes.ociManifest};q=0.000`], MediaTypes.ociManifest),
    false,
  );
  assert.equal(acceptsMediaType(['*/*;q=0'], MediaTypes.ociManifest), false);
  const allButIndex = [`*/*;q=0.8, ${MediaTypes.ociIndex};q=0`];
  assert.equal(acceptsMediaType(allButIndex, MediaTypes.ociIndex), false);
  assert.equal(acceptsMediaType(allButIndex, MediaTypes.ociManifest), true);
  const onlyIndex = [`*/*;q=0, ${MediaTypes.ociIndex};q=0.1`];
  assert.equal(acceptsMediaType(onlyIndex, MediaTypes.ociIndex), true);
  assert.equal(acceptsMediaType(onlyIndex, MediaTypes.dockerList), false);
  const noApplication = ['application/*;q=0, */*'];
  assert.equal(acceptsMediaType(noApplication, MediaTypes.dockerManifest), false);
  // An unreadable q-value is ignored, not fatal; parameter names and types are case-insensitive.
  assert.equal(acceptsMediaType([`${MediaTypes.ociIndex};q=abc`], MediaTypes.ociIndex), true);
  assert.equal(
    acceptsMediaType(['APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON;Q=0'], MediaTypes.ociIndex),
    false,
  );
  // A quoted parameter value may contain commas and semicolons.
  const quoted = [`${MediaTypes.ociManifest}; note="a,b;c", ${MediaTypes.ociIndex}`];
  assert.equal(acceptsMediaType(quoted, MediaTypes.ociIndex), true);
  assert.equal(acceptsMediaType(quoted, MediaTypes.ociManifest), true);
  assert.equal(acceptsMediaType(quoted, MediaTypes.dockerList), false);
});

test('Accept: a schema-1-only client is not given a schema 2 manifest (no conversion)', () => {
  const old = ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/json'];
  for (const mediaType of Object.values(MediaTypes)) {
    assert.equal(acceptsMediaType(old, mediaType), false);
  }
});

test('BatchGetImage acceptedMediaTypes is a plain list of types', () => {
  const accepted = [MediaTypes.dockerManifest, MediaTypes.ociManifest];
  assert.equal(acceptsMediaType(accepted, MediaTypes.ociManifest), true);
  assert.equal(acceptsMediaType(accepted, MediaTypes.ociIndex), false);
});
