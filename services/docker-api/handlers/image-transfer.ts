import type { BerthClient } from '../../../client';
import { invalidArgument } from '../../../libs/errors';
import type { imagestore } from '../../../libs/proto';
import { familiarName, formatReference, parseReference, repositoryName } from '../../../libs/reference';
import { API_VERSION, type Router } from '../http/router';
import { clientGone, sendJsonMessages, sendTar, tarBody, upload } from '../http/transfer';

/** Images in and out: pull and push with Docker's JSON progress, save (get) and load as tars. */
export function imageTransferRoutes(router: Router, berth: BerthClient): void {
  const { images } = berth;

  router.on('POST', '/images/create', async ({ request, query, response }) => {
    const from = query.get('fromImage') ?? '';
    if (from === '') throw invalidArgument(query.get('fromSrc') !== null ? 'importing with fromSrc is not supported by Berth: use `berth import`' : 'fromImage is required');
    const tag = query.get('tag') ?? '';
    const reference = tag === '' ? from : /^sha256:/.test(tag) ? `${from}@${tag}` : `${from}:${tag}`;
    const auth = registryAuth(request.headers['x-registry-auth']);
    await sendJsonMessages(response, async (write) => {
      for await (const message of images.stream('pull', { reference, platform: query.get('platform') ?? '', auth }, { signal: clientGone(response) })) {
        if (message.progress !== undefined) write(progressMessage(message.progress));
        if (message.image !== undefined) {
          const digest = message.image.repoDigests[0]?.split('@')[1];
          if (digest !== undefined) write({ status: `Digest: ${digest}` });
          write({ status: `Status: Downloaded image for ${familiarName(message.image.repoTags[0] ?? reference)}` });
        }
      }
    });
  });

  // Without a tag, every tag of the repository goes, as Docker's push of a bare name.
  router.on('POST', '/images/{name*}/push', async ({ request, params, query, response }) => {
    const repository = parseReference(params.name!);
    const tag = query.get('tag') ?? '';
    const references = tag !== '' ? [formatReference({ ...repository, tag })] : await tagsOf(berth, repositoryName(repository));
    if (references.length === 0) throw invalidArgument(`An image does not exist locally with the tag: ${familiarName(repositoryName(repository))}`);
    const auth = registryAuth(request.headers['x-registry-auth']);
    await sendJsonMessages(response, async (write) => {
      write({ status: `The push refers to repository [${familiarName(repositoryName(repository))}]` });
      for (const reference of references) {
        for await (const message of images.stream('push', { reference, auth }, { signal: clientGone(response) })) {
          if (message.progress !== undefined) write(progressMessage(message.progress));
          if (message.digest !== '') {
            const pushedTag = parseReference(reference).tag!;
            write({ status: `${pushedTag}: digest: ${message.digest} size: ${message.size}` });
            write({ progressDetail: {}, aux: { Tag: pushedTag, Digest: message.digest, Size: message.size } });
          }
        }
      }
    });
  });

  router.on('GET', '/images/get', async ({ query, response }) => {
    const names = query.getAll('names');
    if (names.length === 0) throw invalidArgument('names is required');
    await sendTar(response, images.stream('save', { images: names }, { signal: clientGone(response) }));
  });

  router.on('GET', '/images/{name*}/get', async ({ params, response }) => {
    await sendTar(response, images.stream('save', { images: [params.name!] }, { signal: clientGone(response) }));
  });

  // quiet leaves out progress, of which a load by Berth has none: the names are said either way.
  router.on('POST', '/images/load', async ({ request, response }) => {
    const loaded = await upload<imagestore.LoadRequest, imagestore.LoadResponse>(
      images.endpoint,
      (callback) => images.client.load({ deadline: Infinity }, callback),
      tarBody(request),
      (data) => ({ data }),
    );
    const lines = [...loaded.names.map((name) => `Loaded image: ${familiarName(name)}\n`), ...loaded.images.filter((image) => image.repoTags.length === 0).map((image) => `Loaded image ID: ${image.id}\n`)];
    response.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION });
    response.end(lines.map((stream) => `${JSON.stringify({ stream })}\n`).join(''));
  });
}

/** The repository's tagged references, for a push of every tag. */
async function tagsOf(berth: BerthClient, repository: string): Promise<string[]> {
  const { images } = await berth.images.call('list', { filters: {}, all: false });
  return images.flatMap((image) => image.repoTags).filter((reference) => reference.startsWith(`${repository}:`)).sort();
}

/** Docker's X-Registry-Auth: base64url JSON of the credentials for this one pull or push. */
function registryAuth(header: string | string[] | undefined): imagestore.RegistryAuth | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  let parsed: { username?: string; password?: string; identitytoken?: string };
  try {
    parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw invalidArgument('X-Registry-Auth is not base64 JSON');
  }
  if (!parsed.username && !parsed.identitytoken) return undefined;
  return { username: parsed.username ?? '', password: parsed.password ?? '', identityToken: parsed.identitytoken ?? '' };
}

function progressMessage(progress: imagestore.Progress): Record<string, unknown> {
  const detail = progress.total > 0 ? { current: progress.current, total: progress.total } : {};
  return { status: progress.status, ...(progress.id === '' ? {} : { id: progress.id }), progressDetail: detail };
}
