import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkHealth, createClient, unaryCall } from '../../libs/grpc';
import { imagestore } from '../../libs/proto';
import { freePort, startService } from '../support';
import { fuzzParameters, mutateJson, oddString } from './fuzz';

/**
 * The image-store's registry server (the OCI distribution API) answers whoever reaches its port. Every
 * request, however it is formed, gets a 4xx (or a 2xx/3xx when it happens to be valid), or is dropped
 * when it is not HTTP; never a 5xx, which is the server's own failure; never no answer at all. After
 * the run the service is still healthy, and its log has no unexpected error.
 */

interface HttpRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** How Content-Length is written: honestly, larger or smaller than the body, absent, or not a number. */
  length: 'honest' | 'larger' | 'smaller' | 'none' | 'garbage' | 'chunked';
}

/** What a request got: the final status (after any 1xx), if an answer came before the connection closed. */
interface Outcome {
  status?: number;
  raw: string;
}

const HOST_ARCHITECTURE = process.arch === 'arm64' ? 'arm64' : 'amd64';
const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const REQUEST_TIMEOUT_MS = 15_000;

/** A request as HTTP/1.1 bytes, with "Connection: close": the server closes once it has answered. */
function serialize(request: HttpRequest): Buffer {
  const lines = [`${request.method} ${request.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...request.headers.map(([name, value]) => `${name}: ${value}`)];
  let body = request.body;
  switch (request.length) {
    case 'honest':
      lines.push(`Content-Length: ${body.length}`);
      break;
    case 'larger':
      lines.push(`Content-Length: ${body.length + 1 + (body.length % 7) * 1000}`);
      break;
    case 'smaller':
      lines.push(`Content-Length: ${Math.max(0, body.length - 1 - (body.length % 5))}`);
      break;
    case 'garbage':
      lines.push(`Content-Length: ${['-1', 'abc', '1e3', '99999999999999999999', ' 5', '5, 6'][body.length % 6]}`);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      // Proper chunks, but for one in three bodies whose last chunk lies about its size.
      body = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(body.length % 3 === 0 ? '\r\n5\r\nab\r\n0\r\n\r\n' : '\r\n0\r\n\r\n')]);
      break;
    case 'none':
      break;
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** Whether a well-behaved server must answer it: HTTP it can parse, with a body whose length it knows. */
function isWellFormed(request: HttpRequest): boolean {
  return (
    (request.length === 'honest' || (request.length === 'none' && request.body.length === 0)) &&
    /^[A-Z]+$/.test(request.method) &&
    ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'].includes(request.method) &&
    /^\/[\x21-\x7e]*$/.test(request.target) &&
    request.headers.every(([name, value]) => /^[A-Za-z-]+$/.test(name) && /^[\x20-\x7e]*$/.test(value) && value.length < 4_000)
  );
}

/**
 * Sends a request and reads until the server closes. A client that lied about its body's length
 * gives up after a moment and closes its side, as the server may be waiting for bytes that never
 * come. (Not an honest one: Node's server ends the connection at once when its client half-closes,
 * answered or not.)
 */
async function send(port: number, request: HttpRequest): Promise<Outcome> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => void chunks.push(chunk));
  return new Promise<Outcome>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close in ${REQUEST_TIMEOUT_MS} ms to ${request.method} ${request.target.slice(0, 200)}`));
    }, REQUEST_TIMEOUT_MS);
    let connected = false;
    socket.on('error', (err) => {
      // Refused: the server is gone. A reset once connected: it answered or gave up, and what it sent is in chunks.
      if (!connected) {
        clearTimeout(timer);
        reject(new Error(`cannot connect to the registry server (has it crashed?): ${err.message}`));
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ status: finalStatus(raw), raw });
    });
    socket.on('connect', () => {
      connected = true;
      socket.write(serialize(request));
      if (!isWellFormed(request)) setTimeout(() => socket.end(), 300).unref();
    });
  });
}

function finalStatus(raw: string): number | undefined {
  let rest = raw;
  for (;;) {
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(rest);
    if (status === null) return undefined;
    if (Number(status[1]) >= 200) return Number(status[1]);
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    rest = rest.slice(end + 4);
  }
}

/** Sends request and insists on the property; returns what came back. */
async function check(port: number, request: HttpRequest): Promise<Outcome> {
  const outcome = await send(port, request);
  const what = `${request.method} ${request.target.slice(0, 200)} (${request.length} length)`;
  if (outcome.status !== undefined) assert.ok(outcome.status < 500, `${what} → ${outcome.raw.slice(0, 600)}`);
  else assert.ok(!isWellFormed(request), `${what}: no answer to a well-formed request`);
  return outcome;
}

const NAMES = ['app', 'library/app', 'a/b/c', 'ghcr.io/o/app', 'a'.repeat(250), 'x'.repeat(300), 'A', '..', '%2e%2e', 'a%2fb', 'a//b', '', '_catalog', 'app/../../etc', 'é'];
const DIGESTS = [sha256('x'), 'sha256:', 'sha256:XYZ', `sha256:${'A'.repeat(64)}`, `sha512:${'0'.repeat(128)}`, `${sha256('x')}%00`];
const UUIDS = ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '../../../../etc/passwd', 'x'];

const segment = fc.oneof(
  fc.constantFrom('latest', '1', '-x', 'UPPER', '%00', '%ff', '..', '.', 'a'.repeat(5_000), '%2F', 'a;b', 'a?b'),
  fc.string({ unit: fc.constantFrom(...'az09.-_%:@'), maxLength: 10 }),
);

const target = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        name: fc.oneof(fc.constantFrom(...NAMES), segment),
        route: fc.constantFrom('manifests', 'blobs', 'blobs/uploads/', 'blobs/uploads', 'tags/list', ''),
        reference: fc.oneof(fc.constantFrom(...DIGESTS, ...UUIDS, ''), segment),
        query: fc.constantFrom('', `?digest=${sha256('x')}`, '?digest=garbage', `?mount=${sha256('x')}&from=app`, '?mount=../x', '?n=-1&last=%ff', `?${'q'.repeat(10_000)}`, '?digest=', '?digest=sha256:%00'),
      })
      .map(({ name, route, reference, query }) => `/v2/${name}/${route}${route.endsWith('/') || route === '' || route === 'tags/list' ? '' : `/${reference}`}${query}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('/v2/', '/v2', '/', '*', '/v2/_catalog', '/v2/_catalog?n=99999999999999999999', 'http://[/v2/', 'http://registry/v2/', '//evil/v2/', '/v2/%', '/v2/%zz', `/v2/${'a/'.repeat(3_000)}manifests/1`, '/v2/\u00ff/manifests/1', '/v2/app/manifests/1#frag', '/../../v2/'),
  },
);

const header: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('Content-Type'), fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/json', 'text/plain', '', 'a'.repeat(3_000))),
  fc.tuple(fc.constant('Range'), fc.constantFrom('bytes=0-', 'bytes=0-0', 'bytes=5-1', 'bytes=-5', 'bytes=99999999999999999999-', 'bytes=0-1,2-3', 'bytes=1-99999999999999999999', 'items=0-1', '')),
  fc.tuple(fc.constant('Content-Range'), fc.constantFrom('0-0', '5-1', 'bytes 0-1/2', '-1--1')),
  fc.tuple(fc.constantFrom('Accept', 'Authorization', 'X-Junk', 'Expect'), fc.constantFrom('*/*', 'Bearer x', 'Basic !!!', '100-continue', 'x'.repeat(20_000))),
);

const method = fc.oneof({ weight: 10, arbitrary: fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('OPTIONS', 'TRACE', 'get', 'FOO', 'M-SEARCH', 'PROPFIND') });

const anyRequest: fc.Arbitrary<HttpRequest> = fc.record({
  method,
  target,
  headers: fc.array(header, { maxLength: 3 }),
  body: fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)), fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? ''))),
  length: fc.oneof({ weight: 8, arbitrary: fc.constant<HttpRequest['length']>('honest') }, { weight: 1, arbitrary: fc.constantFrom<HttpRequest['length']>('larger', 'smaller', 'none', 'garbage', 'chunked') }),
});

/** A request whose body is exact and whose other parts are ordinary. */
function plain(methodName: string, path: string, body: Buffer = Buffer.alloc(0), headers: Array<[string, string]> = []): HttpRequest {
  return { method: methodName, target: path, headers, body, length: 'honest' };
}

interface Push {
  name: string;
  tag: string;
  layer: Buffer;
  index: boolean;
  configBytes: Buffer;
  manifest: unknown;
  /** Neither document was mutated: the push must succeed (when its tag is one). */
  valid: boolean;
}

/**
 * A push as a client makes one, with its documents mutated or not: the config and a layer uploaded
 * in one request each, then the manifest (or an index over it) put by tag, then read back. Valid
 * ones must succeed; the rest must be refused, not fail.
 */
const push: fc.Arbitrary<Push> = fc
  .record({
    name: fc.constantFrom('app', 'library/app', 'a/b/c', 'ghcr.io/o/app'),
    tag: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('1', 'latest', 'v1.2.3') }, { weight: 1, arbitrary: fc.constantFrom('-x', 'a'.repeat(129), '%00', 'UPPER.case') }),
    layer: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    mutateConfig: fc.constantFrom('no', 'anywhere', 'shown'),
    mutateManifest: fc.nat({ max: 2 }).map((n) => n === 0),
    index: fc.boolean(),
  })
  .chain(({ mutateConfig, ...drawn }) => {
    const config = {
      created: '2026-01-02T03:04:05Z',
      architecture: HOST_ARCHITECTURE,
      os: 'linux',
      config: { Env: ['A=b'], Labels: { x: 'y' } },
      rootfs: { type: 'layers', diff_ids: [sha256(drawn.layer)] },
      history: [{ created: '2026-01-02T03:04:05Z', created_by: 'fuzz' }],
    };
    const mutated = mutateConfig === 'no' ? fc.constant<unknown>(config) : mutateConfig === 'anywhere' ? mutateJson(config) : oddShownField(config);
    return mutated.map((value) => ({ ...drawn, configBytes: Buffer.from(JSON.stringify(value) ?? 'null'), configValid: mutateConfig === 'no' }));
  })
  .chain(({ mutateManifest, configValid, ...drawn }) => {
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(drawn.configBytes), size: drawn.configBytes.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(drawn.layer), size: drawn.layer.length }],
    };
    return (mutateManifest ? mutateJson(manifest) : fc.constant<unknown>(manifest)).map((mutated) => ({ ...drawn, manifest: mutated, valid: configValid && !mutateManifest }));
  });

/** Inspect and History over gRPC of an image the registry server accepted: what was taken in can be shown. */
type Show = (reference: string) => Promise<void>;

/**
 * The config with an odd string in one of the fields the image-store records or shows (times, os,
 * labels, history): where a value that validates may still fail to be stored or sent.
 */
function oddShownField(config: { config: { Labels: Record<string, string> }; history: Array<Record<string, unknown>> } & Record<string, unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom('created', 'os', 'architecture', 'variant', 'author', 'label key', 'label value', 'history created', 'history created_by'), oddString).map(([field, value]) => {
    const copy = structuredClone(config);
    if (field === 'label key') copy.config.Labels = { [value]: 'x' };
    else if (field === 'label value') copy.config.Labels = { x: value };
    else if (field.startsWith('history ')) copy.history[0]![field.slice('history '.length)] = value;
    else copy[field] = value;
    return copy;
  });
}

async function runPush(port: number, drawn: Push, show: Show): Promise<void> {
  const { configBytes, manifest } = drawn;
  for (const blob of [configBytes, drawn.layer]) {
    const stored = await check(port, plain('POST', `/v2/${drawn.name}/blobs/uploads/?digest=${sha256(blob)}`, blob));
    assert.equal(stored.status, 201, `a monolithic upload of a blob with its digest is stored: ${stored.raw.slice(0, 300)}`);
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest) ?? 'null');
  const valid = drawn.valid && /^[\w][\w.-]{0,127}$/.test(drawn.tag);
  const contentType: [string, string] = ['Content-Type', 'application/vnd.oci.image.manifest.v1+json'];
  if (drawn.index) {
    // The manifest by digest, then an index over it for this host's platform, by tag.
    const byDigest = await check(port, plain('PUT', `/v2/${drawn.name}/manifests/${sha256(manifestBytes)}`, manifestBytes, [contentType]));
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifestBytes), size: manifestBytes.length, platform: { os: 'linux', architecture: HOST_ARCHITECTURE } }] };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const byTag = await check(port, plain('PUT', `/v2/${drawn.name}/manifests/${drawn.tag}`, indexBytes, [['Content-Type', 'application/vnd.oci.image.index.v1+json']]));
    if (valid) assert.deepEqual([byDigest.status, byTag.status], [201, 201], `a valid multi-platform push is accepted: ${byDigest.raw.slice(0, 300)} ${byTag.raw.slice(0, 300)}`);
    if (byTag.status === 201) await show(`${drawn.name}:${drawn.tag}`);
  } else {
    const put = await check(port, plain('PUT', `/v2/${drawn.name}/manifests/${drawn.tag}`, manifestBytes, [contentType]));
    if (valid) assert.equal(put.status, 201, `a valid push is accepted: ${put.raw.slice(0, 300)}`);
    if (put.status === 201) await show(`${drawn.name}:${drawn.tag}`);
  }
  const read = await check(port, plain('GET', `/v2/${drawn.name}/manifests/${drawn.tag}`));
  if (valid) assert.equal(read.status, 200, `what was pushed reads back: ${read.raw.slice(0, 300)}`);
  await check(port, plain('GET', `/v2/${drawn.name}/tags/list`));
  await check(port, plain('HEAD', `/v2/${drawn.name}/blobs/${sha256(drawn.layer)}`, Buffer.alloc(0), [['Range', 'bytes=0-']]));
}

/** An upload in several requests: started, appended to (honestly or not), then finished, cancelled or both at once. */
const upload = fc.record({
  name: fc.constantFrom('app', 'library/app', 'x/y'),
  chunks: fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), fc.constantFrom<HttpRequest['length']>('honest', 'honest', 'honest', 'larger', 'smaller', 'chunked')), { maxLength: 3 }),
  end: fc.constantFrom('finish', 'wrong-digest', 'no-digest', 'cancel', 'finish-twice', 'cancel-and-finish', 'none'),
});

async function runUpload(port: number, { name, chunks, end }: typeof upload extends fc.Arbitrary<infer T> ? T : never): Promise<void> {
  const started = await check(port, plain('POST', `/v2/${name}/blobs/uploads/`));
  assert.equal(started.status, 202, `an upload starts: ${started.raw.slice(0, 300)}`);
  const location = /\r\nlocation: ([^\r]+)/i.exec(started.raw)?.[1];
  assert.ok(location !== undefined, 'a started upload has a location');
  let data = Buffer.alloc(0);
  for (const [chunk, length] of chunks) {
    const patched = await check(port, { method: 'PATCH', target: location, headers: [['Content-Type', 'application/octet-stream']], body: chunk, length });
    if (patched.status === 202 && length === 'honest') data = Buffer.concat([data, chunk]);
  }
  const finish = (digest: string) => check(port, plain('PUT', `${location}?digest=${digest}`));
  switch (end) {
    case 'finish':
      await finish(sha256(data));
      break;
    case 'wrong-digest':
      await finish(sha256(Buffer.concat([data, Buffer.from('x')])));
      break;
    case 'no-digest':
      await check(port, plain('PUT', location));
      break;
    case 'cancel':
      await check(port, plain('DELETE', location));
      break;
    case 'finish-twice':
      await Promise.all([finish(sha256(data)), finish(sha256(data))]);
      break;
    case 'cancel-and-finish':
      await Promise.all([check(port, plain('DELETE', location)), finish(sha256(data))]);
      break;
  }
}

test('the registry server answers any request with a 4xx or a success, never a 5xx, and stays healthy', { timeout: 240_000 }, async (t) => {
  const port = await freePort();
  const store = await startService(t, 'image-store', { BERTH_REGISTRY_SERVER_LISTEN: `127.0.0.1:${port}` });
  const images = createClient(imagestore.ImageStoreServiceClient, store.endpoint, { deadlineMs: 10_000 });
  t.after(() => images.close());
  const show: Show = async (reference) => {
    // A config whose history says "yesterday" was taken in, and History then failed to encode its time.
    await unaryCall(store.endpoint, (m, o, cb) => images.inspect({ image: reference }, m, o, cb));
    await unaryCall(store.endpoint, (m, o, cb) => images.history({ image: reference }, m, o, cb));
  };

  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        { weight: 6, arbitrary: fc.array(anyRequest, { minLength: 1, maxLength: 4 }).map((requests) => ({ kind: 'requests' as const, requests })) },
        { weight: 2, arbitrary: push.map((drawn) => ({ kind: 'push' as const, drawn })) },
        { weight: 2, arbitrary: upload.map((drawn) => ({ kind: 'upload' as const, drawn })) },
      ),
      async (scenario) => {
        if (scenario.kind === 'requests') for (const request of scenario.requests) await check(port, request);
        else if (scenario.kind === 'push') await runPush(port, scenario.drawn, show);
        else await runUpload(port, scenario.drawn);
        // Still there: a request that crashed the server fails here, not the next one.
        assert.equal((await send(port, plain('GET', '/v2/'))).status, 200, `the registry answers after the scenario:\n${store.output().slice(-3_000)}`);
      },
    ),
    // One server for the whole run: a failure may leave it broken, so that every smaller case fails
    // too. The case reported is the one that failed first, not a shrunk one.
    fuzzParameters(150, { endOnFailure: true }),
  );

  // What fuzzing found stays fixed. A request target new URL() throws on took the service down.
  assert.equal((await send(port, { ...plain('GET', 'http://[/v2/'), target: 'http://[/v2/' })).status, 400);
  // Two PUTs finishing one upload at once: the second found the upload gone mid-way (a TypeError, 500).
  const started = await send(port, plain('POST', '/v2/app/blobs/uploads/'));
  const location = /\r\nlocation: ([^\r]+)/i.exec(started.raw)![1]!;
  const finishes = await Promise.all([0, 1].map(() => send(port, plain('PUT', `${location}?digest=${sha256('')}`))));
  assert.deepEqual(finishes.map((finish) => finish.status).sort(), [201, 404]);
  // A name past 255 characters once normalised is the client's mistake, answered as the spec says.
  const long = await send(port, plain('GET', `/v2/${'a'.repeat(250)}/tags/list`));
  assert.equal(long.status, 400);
  assert.match(long.raw, /"code":"NAME_INVALID"/);

  assert.equal(await checkHealth(store.endpoint, { deadlineMs: 5_000 }), 'SERVING');
  assert.equal((await send(port, plain('GET', '/v2/'))).status, 200, 'the registry still answers');
  const problems = store
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string; method?: string; path?: string; err?: { message?: string } })
    .filter((entry) => entry.level === 'error' || entry.level === 'fatal' || /unexpected error|registry request failed/.test(entry.msg))
    .map((entry) => `${entry.msg}: ${entry.method ?? ''} ${(entry.path ?? '').slice(0, 100)}: ${(entry.err?.message ?? '').slice(0, 200)}`);
  assert.deepEqual(problems, [], 'the log has no error');
});
