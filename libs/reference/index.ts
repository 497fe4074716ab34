import { invalidArgument } from '../errors';

/**
 * An image reference, normalised the way Docker does: "busybox" is
 * docker.io/library/busybox:latest. Written from the distribution project's reference grammar
 * (reference/regexp.go); the npm packages that do this are unmaintained or need native code.
 */
export interface Reference {
  /** The registry's host[:port]: "docker.io", "ghcr.io", "localhost:5000". */
  domain: string;
  /** The repository path: "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPOSITORY = 'library';
export const DEFAULT_TAG = 'latest';
const MAX_NAME_LENGTH = 255;

const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** Parses what a person types ("busybox", "ghcr.io/o/app:1", "reg:5000/app@sha256:...") and normalises it. */
export function parseReference(text: string): Reference {
  const match = REFERENCE.exec(text);
  if (match === null) {
    if (text !== text.toLowerCase() && REFERENCE.test(text.toLowerCase())) {
      throw invalidArgument(`invalid reference "${text}": repository name must be lowercase`);
    }
    throw invalidArgument(`invalid reference format: "${text}"`);
  }
  const [, name, tag, digest] = match as unknown as [string, string, string | undefined, string | undefined];
  if (digest !== undefined && !SHA256.test(digest)) {
    throw invalidArgument(`invalid reference "${text}": only sha256 digests of 64 lowercase hex digits are supported`);
  }
  const { domain, path } = splitDomain(name);
  // The limit is on the normalised name, as Docker has it: "a" * 250 is docker.io/library/ and 250
  // more, a name that would not parse again once stored.
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) throw invalidArgument(`invalid reference "${text}": repository name longer than ${MAX_NAME_LENGTH} characters`);
  return { domain, path, tag: tag ?? (digest === undefined ? DEFAULT_TAG : undefined), digest };
}

/** True when text is a full image id or a hex prefix of one rather than a name. */
export function looksLikeImageId(text: string): boolean {
  return /^(sha256:)?[a-f0-9]{4,64}$/.test(text);
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first === first.toLowerCase())) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `${OFFICIAL_REPOSITORY}/${path}`;
  return { domain, path };
}


/** docker.io/library/busybox */
export function repositoryName(reference: Reference): string {
  return `${reference.domain}/${reference.path}`;
}

/** The full normalised form: docker.io/library/busybox:latest, or ...@sha256:... */
export function formatReference(reference: Reference): string {
  return `${repositoryName(reference)}${reference.tag === undefined ? '' : `:${reference.tag}`}${reference.digest === undefined ? '' : `@${reference.digest}`}`;
}

/**
 * What Docker shows: "busybox:latest", "someone/app:1", "ghcr.io/o/app:1". "library/" goes only
 * where what follows is one component: docker.io/library/a/b is "library/a/b", since "a/b" is
 * docker.io/a/b, another repository.
 */
export function familiarName(normalised: string): string {
  const prefix = `${DEFAULT_DOMAIN}/`;
  if (!normalised.startsWith(prefix)) return normalised;
  const rest = normalised.slice(prefix.length);
  const official = rest.startsWith(`${OFFICIAL_REPOSITORY}/`) ? rest.slice(OFFICIAL_REPOSITORY.length + 1) : undefined;
  return official !== undefined && !official.includes('/') ? official : rest;
}
