import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_DOMAIN, familiarName, formatReference, parseReference, type Reference } from '../../libs/reference';
import { fuzzParameters, ODD_CHARACTERS, onceIn, returnsOrRefuses, textOf } from './fuzz';

/**
 * Image references come from people (pull, run, tag) and from registries and archives (a manifest's
 * annotations, a docker-archive's RepoTags). Whatever the text, parseReference gives a normalised
 * reference or refuses it with INVALID_ARGUMENT; and what it gives is a fixed point: its string form,
 * the name Berth stores and shows, parses back to the same reference. A name that did not would be
 * stored under one name and found under another, or not at all.
 */

/** parseReference(text), or undefined when it refuses; anything but a refusal fails. */
function parsed(text: string): Reference | undefined {
  return returnsOrRefuses(() => parseReference(text), ['invalid_argument'], `parseReference(${JSON.stringify(text)})`);
}

/** The properties of anything parseReference returns. */
function checkNormalised(text: string, reference: Reference): void {
  const formatted = formatReference(reference);
  const again = returnsOrRefuses(() => parseReference(formatted), ['invalid_argument'], `re-parsing ${formatted}`);
  assert.ok(again !== undefined, `${JSON.stringify(text)} parsed as ${formatted}, which does not parse`);
  assert.deepEqual(again, reference, `${JSON.stringify(text)} → ${formatted} → a different reference`);
  assert.equal(formatReference(again), formatted, 'formatting is stable');
  // Normalised: a domain always, the official images' "library/", a tag unless pinned by digest.
  assert.ok(reference.domain !== '' && reference.path !== '', formatted);
  assert.ok(reference.tag !== undefined || reference.digest !== undefined, `${formatted} has a tag or a digest`);
  assert.equal(reference.path, reference.path.toLowerCase(), `${formatted}: repository paths are lowercase`);
  if (reference.domain === DEFAULT_DOMAIN) assert.ok(reference.path.includes('/'), `${formatted}: Docker Hub names have a namespace`);
  // The short form shown to people (busybox:latest) names the same image, unless the first component
  // of a Docker Hub path looks like a registry (docker.io/a.b/c shows as a.b/c), as in Docker.
  const familiar = familiarName(formatted);
  const first = familiar.split('/')[0]!;
  if (reference.domain !== DEFAULT_DOMAIN || !familiar.includes('/') || !(/[.:]/.test(first) || first === 'localhost')) {
    assert.deepEqual(parsed(familiar), reference, `${formatted} shows as ${familiar}, which names something else`);
  }
}

const ALPHANUMERIC = textOf([...'abcz09'], 6).filter((s) => s !== '');
const SEPARATORS = ['.', '_', '__', '-', '--', '---'];

/** A path component as the grammar has it, and near misses (uppercase, leading separators, empty). */
const component = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(ALPHANUMERIC, fc.array(fc.tuple(fc.constantFrom(...SEPARATORS), ALPHANUMERIC), { maxLength: 2 })).map(([head, rest]) => head + rest.map(([s, a]) => s + a).join('')) },
  { weight: 1, arbitrary: fc.constantFrom('', 'A', 'Abc', '-a', 'a-', 'a..b', 'a___b', '_', '.', '..', 'library', 'localhost', 'sha256', 'a'.repeat(256), 'é', '\0') },
);

const domain = fc.oneof(
  fc.constantFrom('docker.io', 'index.docker.io', 'localhost', 'localhost:5000', 'ghcr.io', 'registry.example.com:443', 'Registry.Example.COM', '[::1]:5000', '[fe80::1]', '127.0.0.1:5000', 'a-b.c', 'UPPER', 'x:0', 'x:99999999999', '-bad.com', 'bad-.com', 'a..b', ':5000', '[]', '[::1'),
  fc.tuple(ALPHANUMERIC, fc.constantFrom('', '.io', '.example.com'), fc.option(fc.nat({ max: 70000 }))).map(([host, suffix, port]) => `${host}${suffix}${port === null ? '' : `:${port}`}`),
);

const tag = fc.oneof(
  fc.constantFrom('latest', '1', '1.0.0', 'v1_2-3', '_x', 'X', '-x', '.x', 'a'.repeat(128), 'a'.repeat(129), 'sha256', 'ä', ''),
  textOf([...'aZ9_.-'], 10),
);

const HEX = [...'0123456789abcdef'];
const digest = fc.oneof(
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }).map((hex) => `sha256:${hex}`),
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 32, maxLength: 128 }).map((hex) => `sha256:${hex}`),
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }).map((hex) => `sha256:${hex.toUpperCase()}`),
  fc.string({ unit: fc.constantFrom(...HEX), minLength: 128, maxLength: 128 }).map((hex) => `sha512:${hex}`),
  fc.constantFrom('sha256:', 'sha256:xyz', 'md5:0123456789abcdef0123456789abcdef', 'a+b.c:0123456789abcdef0123456789abcdef'),
);

/** References assembled from parts: mostly valid, often at the grammar's and the length limit's edges. */
const nearValid = fc
  .record({
    domain: fc.option(domain, { freq: 2 }),
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(tag, { freq: 2 }),
    digest: onceIn(3, digest),
    long: onceIn(5, fc.integer({ min: 200, max: 260 })),
  })
  .map(({ domain: d, path, tag: t, digest: dg, long }) => {
    // Names close to the 255-character limit, where the written name and its normalised form
    // (docker.io/library/ added) fall on different sides of it.
    if (long !== null) path = [...path.slice(0, -1), 'a'.repeat(Math.max(1, long - path.slice(0, -1).join('/').length - (d === null ? 0 : d.length + 1)))];
    return `${d === null ? '' : `${d}/`}${path.join('/')}${t === null ? '' : `:${t}`}${dg === null ? '' : `@${dg}`}`;
  });

test('any string parses to a normalised reference that round-trips, or is refused', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    textOf([...'abAZ09', '.', '_', '-', '/', ':', '@', '[', ']', 'sha256:', 'docker.io/', 'library/', 'localhost', ...ODD_CHARACTERS], 40),
  );
  fc.assert(
    fc.property(anyText, (text) => {
      const reference = parsed(text);
      if (reference !== undefined) checkNormalised(text, reference);
    }),
    fuzzParameters(300),
  );
});

test('near-valid references parse to normalised references that round-trip, or are refused', () => {
  let accepted = 0;
  fc.assert(
    fc.property(nearValid, (text) => {
      const reference = parsed(text);
      if (reference === undefined) return;
      accepted++;
      checkNormalised(text, reference);
      // What was written is kept: its digest, and its tag (after the last "/"), else latest unless pinned.
      const [written, pinned] = text.split('@') as [string, string | undefined];
      const last = written.slice(written.lastIndexOf('/') + 1);
      const writtenTag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : undefined;
      assert.equal(reference.digest, pinned, `${text}: the digest as written`);
      assert.equal(reference.tag, writtenTag ?? (pinned === undefined ? 'latest' : undefined), `${text}: the tag as written`);
    }),
    fuzzParameters(300),
  );
  // A generator whose references were all refused would only test the refusals.
  assert.ok(accepted >= 30, `only ${accepted} of the near-valid references parsed`);
});

test('what fuzzing found stays fixed: the length limit is on the normalised name; library/ is dropped only before one component', () => {
  // "a" * 250 is 250 characters as written and 268 once docker.io/library/ is added: Docker checks
  // the normalised name, so the one written is refused rather than stored under a name that is not one.
  assert.throws(() => parseReference('a'.repeat(250)), /longer than 255 characters/);
  assert.equal(parseReference(`ghcr.io/${'a'.repeat(247)}`).path, 'a'.repeat(247));
  // docker.io/library/a/b shown as "a/b" would name docker.io/a/b, another repository.
  assert.equal(familiarName('docker.io/library/a/b:1'), 'library/a/b:1');
  assert.equal(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarName(`docker.io/library/busybox@sha256:${'0'.repeat(64)}`), `busybox@sha256:${'0'.repeat(64)}`);
});
