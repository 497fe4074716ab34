/**
 * Helpers of the fuzz tests (issue 10, "Hostile input"): property-based tests with fast-check that
 * feed each way in from outside (Dockerfiles, image references, layer tars, manifests, the registry
 * server's HTTP, the gRPC services) what an attacker or a broken peer would, in a bounded number of
 * runs. `CI=true node dist/test/run.js test/fuzz` runs them all. Environment:
 *   FUZZ_SEED=<integer>  replays a failure's seed (printed with it);
 *   FUZZ_SCALE=<number>  multiplies every property's runs, for a longer search;
 *   FUZZ_DEBUG=1         prints each refusal, to see which checks a generator's inputs reach.
 */
import fc from 'fast-check';
import { isBerthError, messageOf, type ErrorKind } from '../../libs/errors';

/**
 * fast-check's parameters for one property: numRuns runs (a CI budget, not a search for everything),
 * seeded from FUZZ_SEED when it is set so that a failure seen elsewhere replays here. Without it the
 * seed is random; on a failure fast-check prints it (with the path of the shrunk case): run again
 * with FUZZ_SEED=<seed> to reproduce (and the same FUZZ_SCALE, if one was set).
 */
export function fuzzParameters<T>(numRuns: number, more: fc.Parameters<T> = {}): fc.Parameters<T> {
  const runs = Math.max(1, Math.round(numRuns * scale()));
  const seed = process.env.FUZZ_SEED;
  if (seed === undefined || seed === '') return { numRuns: runs, ...more };
  if (!/^-?\d+$/.test(seed)) throw new Error(`FUZZ_SEED must be an integer, not "${seed}"`);
  return { numRuns: runs, seed: Number(seed), ...more };
}

/** FUZZ_SCALE multiplies every property's runs: 20 for a long search on a workstation, 1 in CI. */
function scale(): number {
  const value = Number(process.env.FUZZ_SCALE ?? '1');
  if (!Number.isFinite(value) || value <= 0) throw new Error(`FUZZ_SCALE must be a positive number, not "${process.env.FUZZ_SCALE}"`);
  return value;
}

/**
 * Runs fn and insists that it either returns or throws a BerthError of one of the kinds: anything
 * else (a TypeError, a RangeError, an error of Node's or of a library) is a crash the caller would
 * see as an internal error. Returns what fn returned, or undefined when it threw.
 */
export function returnsOrRefuses<T>(fn: () => T, kinds: ErrorKind[], what: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    assertRefusal(err, kinds, what);
    return undefined;
  }
}

/** The async returnsOrRefuses. */
export async function resolvesOrRefuses<T>(fn: () => Promise<T>, kinds: ErrorKind[], what: string): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    assertRefusal(err, kinds, what);
    return undefined;
  }
}

function assertRefusal(err: unknown, kinds: ErrorKind[], what: string): void {
  if (process.env.FUZZ_DEBUG) process.stdout.write(`refused: ${messageOf(err).slice(0, 120)}\n`);
  if (isBerthError(err) && kinds.includes(err.kind)) return;
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  throw new Error(`${what}: expected a result or a BerthError (${kinds.join(', ')}), got ${isBerthError(err) ? `a BerthError of kind ${err.kind}: ` : ''}${detail}`);
}

/** Text made of the characters that mean something to the parser at hand, and a few that should not. */
export function textOf(alphabet: string[], maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...alphabet), maxLength });
}

/** Characters no parser expects: NUL, controls, a BOM, lone surrogates, combining marks, astral ones. */
export const ODD_CHARACTERS = ['\0', '\x01', '\x7f', '\uFEFF', '\uD800', '\uDFFF', '\u0301', '\u2028', '\u00A0', 'é', 'ß', 'İ', '\u{1F600}', '\uFFFF'];

/** arb once in oneIn draws, else null (fc.option's freq is the other way round: null once in freq). */
export function onceIn<T>(oneIn: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

/** Strings a registry or a client could put anywhere: NUL, controls, very long, lookalike digests and times. */
export const oddString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...ODD_CHARACTERS, 'a\0b', '', 'sha256:', `SHA256:${'0'.repeat(64)}`, `sha256:${'0'.repeat(64)}\n`, 'x'.repeat(10_000)),
  fc.constantFrom('2026-13-45T00:00:00Z', 'yesterday', '+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z', '0001-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '2026-01-02'),
  fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.oci.image.layer.v1.tar+gzip'),
);

/** Numbers a registry could put anywhere: negative, fractional, huge, beyond JSON's safe integers. */
export const oddNumber = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1e308, 0.5), fc.nat());

export const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddString,
  oddNumber,
  fc.constantFrom(null, true, false, [], {}),
  fc.jsonValue({ maxDepth: 2 }),
  fc.array(oddString, { maxLength: 3 }),
  fc.dictionary(oddString, oddString, { maxKeys: 3 }),
);

/** A change at one of the document's nodes (the node drawn as a number, taken modulo their count). */
type Mutation = { at: number; kind: 'tweak' | 'set' | 'delete' | 'duplicate' | 'grow'; value: unknown; text: string; number: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  // Mostly a tweak, which keeps a string a string and a number a number: the document keeps its
  // shape and its values go to the edges, which is where validation must be right.
  kind: fc.constantFrom('tweak', 'tweak', 'tweak', 'tweak', 'set', 'delete', 'duplicate', 'grow'),
  value: oddValue,
  text: oddString,
  number: oddNumber,
});

type Key = string | number;

/** Every node of a JSON value but the root, as the container holding it and its key there. */
function nodesOf(value: unknown): Array<{ container: Record<Key, unknown>; key: Key }> {
  const nodes: Array<{ container: Record<Key, unknown>; key: Key }> = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const keys: Key[] = Array.isArray(node) ? node.map((_, index) => index) : Object.keys(node);
    for (const key of keys) {
      nodes.push({ container: node as Record<Key, unknown>, key });
      walk((node as Record<Key, unknown>)[key]);
    }
  };
  walk(value);
  return nodes;
}

/** Applies mutations to a copy of value, each at a node drawn among those the copy has by then. */
function applyMutations(value: unknown, mutations: Mutation[]): unknown {
  const copy = structuredClone(value);
  for (const { at, kind, value: replacement, text, number } of mutations) {
    const nodes = nodesOf(copy);
    if (nodes.length === 0) break;
    const { container, key } = nodes[at % nodes.length]!;
    const current = container[key];
    if (kind === 'tweak') container[key] = typeof current === 'string' ? text : typeof current === 'number' ? number : replacement;
    else if (kind === 'set') container[key] = replacement;
    else if (kind === 'delete') {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key];
    } else if (Array.isArray(current) && current.length > 0) {
      // More entries of the same kind: the same ones twice, or a manifest of thousands of layers.
      container[key] = kind === 'duplicate' ? [...current, ...current] : Array.from({ length: 2_000 }, () => structuredClone(current[0]));
    } else container[key] = replacement;
  }
  return copy;
}

/**
 * Copies of a JSON document with one to three changes, mostly small: the shape stays, so that what
 * is checked deep inside (a digest, a size, a platform) is reached with values at its edges.
 */
export function mutateJson(valid: unknown): fc.Arbitrary<unknown> {
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((mutations) => applyMutations(valid, mutations));
}
