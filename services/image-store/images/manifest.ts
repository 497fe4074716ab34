import { z } from 'zod';
import { invalidArgument } from '../../../libs/errors';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** What a pull accepts, in order of preference. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.dockerManifest];

export function isIndexType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerManifestList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
}

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be a sha256 digest');

/**
 * Text the image-store records in Postgres: no NUL, which text and jsonb cannot hold, and no lone
 * surrogate ("\udfff" in JSON), which jsonb refuses and text would store as U+FFFD.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const stored = z.string().refine((text) => !text.includes('\0') && !LONE_SURROGATE.test(text), 'must be text without NUL characters or lone surrogates');

/** The earliest and latest times Go's RFC 3339 (four-digit years) writes, all of which Postgres stores. */
const TIME_RANGE = [Date.parse('0000-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')] as const;
const time = z.string().refine((text) => {
  const parsed = Date.parse(text);
  return parsed >= TIME_RANGE[0] && parsed <= TIME_RANGE[1];
}, 'must be an RFC 3339 time');

const platformSchema = z.object({
  architecture: stored,
  os: stored,
  variant: stored.optional(),
  'os.version': z.string().optional(),
});

export const descriptorSchema = z.object({
  mediaType: stored,
  digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platformSchema.optional(),
  urls: z.array(z.string()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;
export type Platform = z.infer<typeof platformSchema>;

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  // The image's size is their sum, recorded as a bigint: it must be an exact number.
  layers: z.array(descriptorSchema).refine((layers) => Number.isSafeInteger(layers.reduce((sum, layer) => sum + layer.size, 0)), 'the layers add up to more bytes than can be counted'),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Index = z.infer<typeof indexSchema>;

/** A manifest or index body, checked against its schema; mediaType is what the registry said or the body says. */
export type Parsed = { kind: 'manifest'; mediaType: string; manifest: Manifest } | { kind: 'index'; mediaType: string; index: Index };

export function parseManifest(body: Uint8Array, declaredType?: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw invalidArgument('the manifest is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalidArgument('the manifest is not a JSON object');
  const bodyType = (json as { mediaType?: unknown }).mediaType;
  const mediaType = typeof bodyType === 'string' ? bodyType : (declaredType ?? '');
  if (!stored.safeParse(mediaType).success) throw invalidArgument('the manifest media type must be text without NUL characters or lone surrogates');
  const looksLikeIndex = isIndexType(mediaType) || (mediaType === '' && Array.isArray((json as { manifests?: unknown }).manifests));
  if (looksLikeIndex) {
    const index = indexSchema.safeParse(json);
    if (!index.success) throw invalidArgument(`invalid image index: ${index.error.issues[0]!.message} at ${index.error.issues[0]!.path.join('.')}`);
    return { kind: 'index', mediaType: mediaType || MEDIA_TYPES.ociIndex, index: index.data };
  }
  if (mediaType !== '' && !isManifestType(mediaType)) throw invalidArgument(`unsupported manifest media type "${mediaType}"`);
  const manifest = manifestSchema.safeParse(json);
  if (!manifest.success) throw invalidArgument(`invalid image manifest: ${manifest.error.issues[0]!.message} at ${manifest.error.issues[0]!.path.join('.')}`);
  return { kind: 'manifest', mediaType: mediaType || MEDIA_TYPES.ociManifest, manifest: manifest.data };
}

const stringList = z.array(z.string()).nullish();
const storedMap = z.record(stored, stored).nullish();
const objectSet = z.record(z.string(), z.unknown()).nullish();

const imageConfigSchema = z.object({
  created: time.optional(),
  author: z.string().optional(),
  architecture: stored.default(''),
  os: stored.default(''),
  variant: stored.optional(),
  config: z
    .object({
      User: z.string().optional(),
      Env: stringList,
      Entrypoint: stringList,
      Cmd: stringList,
      WorkingDir: z.string().optional(),
      Labels: storedMap,
      ExposedPorts: objectSet,
      Volumes: objectSet,
      StopSignal: z.string().optional(),
      Shell: stringList,
      OnBuild: stringList,
      Healthcheck: z.unknown().optional(),
    })
    .passthrough()
    .nullish(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(digest) }),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        comment: z.string().optional(),
        empty_layer: z.boolean().optional(),
        author: z.string().optional(),
      }),
    )
    .optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

/** An image config (OCI or Docker), checked: its diff ids must be sha256 digests. */
export function parseImageConfig(body: Uint8Array): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw invalidArgument('the image config is not JSON');
  }
  const config = imageConfigSchema.safeParse(json);
  if (!config.success) throw invalidArgument(`invalid image config: ${config.error.issues[0]!.message} at ${config.error.issues[0]!.path.join('.')}`);
  return config.data;
}

/** "linux/arm64/v8" */
export function formatPlatform(platform: { os: string; architecture: string; variant?: string }): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined && part !== '').join('/');
}

const NODE_ARCHITECTURES: Record<string, { architecture: string; variant?: string }> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64', variant: 'v8' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
};

/** The platform this host runs, in OCI terms. */
export function hostPlatform(): { os: string; architecture: string; variant?: string } {
  return { os: 'linux', ...(NODE_ARCHITECTURES[process.arch] ?? { architecture: process.arch }) };
}

/** "os/arch[/variant]" → a platform; an empty text means this host's. */
export function parsePlatform(text: string): { os: string; architecture: string; variant?: string } {
  if (text === '') return hostPlatform();
  const [os, architecture, variant, extra] = text.split('/');
  if (!os || !architecture || extra !== undefined) throw invalidArgument(`invalid platform "${text}": expected os/arch[/variant]`);
  return { os, architecture, variant: variant || undefined };
}

/**
 * The index entry for a platform, as containerd's default matcher picks it: same os and architecture,
 * and the same variant when both name one (arm64's v8 is its only variant).
 */
export function selectPlatform(index: Index, wanted: { os: string; architecture: string; variant?: string }): Descriptor | undefined {
  const candidates = index.manifests.filter(
    (m) => m.platform !== undefined && m.platform.os === wanted.os && m.platform.architecture === wanted.architecture,
  );
  const normalise = (v?: string) => (wanted.architecture === 'arm64' && (v === undefined || v === '') ? 'v8' : v);
  return (
    candidates.find((m) => normalise(m.platform!.variant) === normalise(wanted.variant)) ??
    candidates.find((m) => wanted.variant === undefined || m.platform!.variant === undefined)
  );
}
