import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isBerthError } from '../../libs/errors';
import { imagestore } from '../../libs/proto';
import { toDescriptor, toImageConfig } from '../../services/image-store/grpc/mapping';
import { formatPlatform, hostPlatform, MEDIA_TYPES, parseImageConfig, parseManifest, selectPlatform, type ImageConfig, type Parsed } from '../../services/image-store/images/manifest';
import { fuzzParameters, mutateJson, returnsOrRefuses } from './fuzz';

/**
 * Manifests, indexes and image configs come from registries, pushes to the registry server and
 * loaded archives. Whatever the bytes, validation returns a checked value or refuses with
 * INVALID_ARGUMENT; and what it returns can be recorded and shown: the image-store stores media
 * types, platforms, os, architecture, labels and the creation time in Postgres (whose text holds
 * no NUL, whose bigint holds sizes to 2^63, whose timestamptz holds no year past 294276) and sends
 * them in gRPC messages.
 */

const digestOf = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

const validManifest = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociManifest,
  config: { mediaType: MEDIA_TYPES.ociConfig, digest: digestOf(1), size: 1234 },
  layers: [
    { mediaType: MEDIA_TYPES.ociLayerGzip, digest: digestOf(2), size: 100, annotations: { 'org.opencontainers.image.title': 'x' } },
    { mediaType: MEDIA_TYPES.dockerLayerGzip, digest: digestOf(3), size: 0, urls: ['https://example.com/layer'] },
  ],
  annotations: { a: 'b' },
};

const validIndex = {
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociIndex,
  manifests: [
    { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(4), size: 500, platform: { os: 'linux', architecture: 'amd64' } },
    { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(5), size: 500, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    { mediaType: MEDIA_TYPES.ociManifest, digest: digestOf(6), size: 500, platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0' } },
  ],
};

const validConfig = {
  created: '2026-01-02T03:04:05.123456789Z',
  author: 'someone',
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: '1000:1000',
    Env: ['PATH=/usr/bin', 'A=b'],
    Entrypoint: ['/init'],
    Cmd: ['sh'],
    WorkingDir: '/app',
    Labels: { 'org.example': 'x' },
    ExposedPorts: { '80/tcp': {} },
    Volumes: { '/data': {} },
    StopSignal: 'SIGTERM',
    Healthcheck: { Test: ['CMD', 'true'], Interval: 1000 },
  },
  rootfs: { type: 'layers', diff_ids: [digestOf(7), digestOf(8)] },
  history: [{ created: '2026-01-02T03:04:05Z', created_by: 'RUN x' }, { empty_layer: true, comment: 'c' }],
};

/** A body, shown in a failure's report as its text (as far as it is text) rather than as bytes. */
interface Body {
  bytes: Buffer;
  [fc.toStringMethod](): string;
}

function body(bytes: Buffer): Body {
  return { bytes, [fc.toStringMethod]: () => `body ${JSON.stringify(bytes.toString('utf8').slice(0, 2_000))}` };
}

/** Bodies: JSON of mutated valid documents, any JSON, and bytes that are not JSON or not UTF-8. */
function bodies(valid: unknown): fc.Arbitrary<Body> {
  const text = JSON.stringify(valid);
  return fc
    .oneof(
      { weight: 12, arbitrary: mutateJson(valid).map((mutated) => Buffer.from(JSON.stringify(mutated) ?? 'null')) },
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')) },
      { weight: 1, arbitrary: fc.constantFrom('null', '0', '"x"', '[]', '{}', '{"__proto__": {"mediaType": "x"}}', '{"mediaType": null}', '', '{', '\uFEFF{}', '{"a": 1e999}').map((t) => Buffer.from(t)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
      { weight: 1, arbitrary: fc.nat().map((cut) => Buffer.from(text).subarray(0, cut % text.length)) },
    )
    .map(body);
}

const declaredTypes = fc.oneof(fc.constant(undefined), fc.constantFrom(...Object.values(MEDIA_TYPES), '', 'application/json', 'text/plain; charset=utf-8', `${MEDIA_TYPES.ociManifest}; x=y`));

const STORABLE_TIME = { min: Date.parse('0000-01-01T00:00:00Z'), max: Date.parse('9999-12-31T23:59:59.999Z') };

/** A string Postgres stores as it is in text or jsonb: no NUL, no lone surrogate (jsonb refuses "\udfff"). */
function assertStorable(text: string | undefined, what: string): void {
  if (text === undefined) return;
  assert.ok(!text.includes('\0'), `${what} ${JSON.stringify(text.slice(0, 80))} holds a NUL, which Postgres cannot store`);
  assert.equal(Buffer.from(text, 'utf8').toString('utf8'), text, `${what} ${JSON.stringify(text.slice(0, 80))} holds a lone surrogate, which jsonb refuses`);
}

function checkDescriptor(descriptor: { mediaType: string; digest: string; size: number; platform?: { os: string; architecture: string; variant?: string } }, what: string): void {
  assert.match(descriptor.digest, /^sha256:[a-f0-9]{64}$/, `${what}'s digest`);
  assert.ok(Number.isSafeInteger(descriptor.size) && descriptor.size >= 0, `${what}'s size ${descriptor.size}`);
  assertStorable(descriptor.mediaType, `${what}'s media type`);
  if (descriptor.platform !== undefined) assertStorable(formatPlatform(descriptor.platform), `${what}'s platform`);
  // What the gRPC API sends of it serializes.
  imagestore.Descriptor.encode(toDescriptor(descriptor as Parameters<typeof toDescriptor>[0])).finish();
}

function checkParsed(parsed: Parsed): void {
  assertStorable(parsed.mediaType, 'the media type');
  if (parsed.kind === 'index') {
    for (const [index, child] of parsed.index.manifests.entries()) checkDescriptor(child, `manifest ${index}`);
    const native = selectPlatform(parsed.index, hostPlatform());
    if (native !== undefined) assert.ok(parsed.index.manifests.includes(native), 'the platform picked is one of the index');
    return;
  }
  const { config, layers } = parsed.manifest;
  checkDescriptor(config, 'the config');
  for (const [index, layer] of layers.entries()) checkDescriptor(layer, `layer ${index}`);
  // The image's size, the layers' sum, goes into a bigint, and must be exact to be anything.
  assert.ok(Number.isSafeInteger(layers.reduce((sum, layer) => sum + layer.size, 0)), 'the layers add up to an exact size');
}

function checkConfig(config: ImageConfig): void {
  for (const digest of config.rootfs.diff_ids) assert.match(digest, /^sha256:[a-f0-9]{64}$/);
  if (config.created !== undefined) {
    const time = Date.parse(config.created);
    assert.ok(time >= STORABLE_TIME.min && time <= STORABLE_TIME.max, `created ${JSON.stringify(config.created)} is a time Postgres can store`);
  }
  for (const [field, value] of [['os', config.os], ['architecture', config.architecture], ['variant', config.variant]] as const) assertStorable(value, field);
  for (const [key, value] of Object.entries(config.config?.Labels ?? {})) {
    assertStorable(key, 'a label');
    assertStorable(value, `label ${key}`);
  }
  // What the gRPC API sends of it (inspect) serializes.
  imagestore.ImageConfig.encode(toImageConfig(config)).finish();
}

// Manifests and indexes: both come through parseManifest, and either may be declared as the other.
for (const [valid, plural] of [[validManifest, 'manifests'], [validIndex, 'indexes']] as const) {
  test(`${plural} (mutated, any JSON, any bytes) validate to storable ${plural} or are refused`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(bodies(valid), declaredTypes, ({ bytes }, declared) => {
        const parsed = returnsOrRefuses(() => parseManifest(bytes, declared), ['invalid_argument', 'failed_precondition'], 'parseManifest');
        if (parsed === undefined) return;
        accepted++;
        checkParsed(parsed);
      }),
      fuzzParameters(300),
    );
    assert.ok(accepted >= 15, `only ${accepted} ${plural} validated`);
  });
}

test('image config bodies validate to storable configs or are refused', () => {
  let accepted = 0;
  fc.assert(
    fc.property(bodies(validConfig), ({ bytes }) => {
      const config = returnsOrRefuses(() => parseImageConfig(bytes), ['invalid_argument', 'failed_precondition'], 'parseImageConfig');
      if (config === undefined) return;
      accepted++;
      checkConfig(config);
    }),
    fuzzParameters(300),
  );
  assert.ok(accepted >= 15, `only ${accepted} configs validated`);
});

test('what fuzzing found stays fixed: non-objects, times and text Postgres cannot take, sizes past counting', () => {
  const refusedWith = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (err: unknown) => {
      assert.ok(isBerthError(err, 'invalid_argument'), String(err));
      assert.match(err.message, message);
      return true;
    });
  // JSON null was read as an object: a TypeError.
  refusedWith(() => parseManifest(Buffer.from('null')), /not a JSON object/);
  // Each of these validated, then failed the INSERT: an INTERNAL, or a 500 from the registry server.
  const config = (changes: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...validConfig, ...changes }));
  refusedWith(() => parseImageConfig(config({ created: 'yesterday' })), /RFC 3339 time at created/);
  refusedWith(() => parseImageConfig(config({ created: '+275760-09-13T00:00:00Z' })), /RFC 3339 time at created/);
  refusedWith(() => parseImageConfig(config({ os: 'li\0nux' })), /without NUL characters or lone surrogates at os/);
  refusedWith(() => parseImageConfig(config({ config: { Labels: { a: '\uDFFF' } } })), /without NUL characters or lone surrogates at config\.Labels/);
  const manifest = { ...validManifest, layers: Array.from({ length: 2 }, () => ({ ...validManifest.layers[0]!, size: Number.MAX_SAFE_INTEGER })) };
  refusedWith(() => parseManifest(Buffer.from(JSON.stringify(manifest))), /more bytes than can be counted/);
  // Go's zero time, which reproducible builds write, is a time.
  assert.equal(parseImageConfig(config({ created: '0001-01-01T00:00:00Z' })).created, '0001-01-01T00:00:00Z');
});
