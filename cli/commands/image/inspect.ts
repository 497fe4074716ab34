import { invalidArgument, messageOf } from '../../../libs/errors';
import { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';
import { printInspected } from '../../output';

/** `berth image inspect IMAGE...`: a JSON array, like `docker image inspect`; exit 1 if one is missing. */
export async function inspect(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { format: { type: 'string', short: 'f', value: 'TEMPLATE', description: 'Print each image through a Go template (e.g. {{.summary.id}}) instead of as JSON' } }, 'image inspect');
  if (positionals.length === 0) throw invalidArgument('image inspect: give at least one image');
  const store = imageStore();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const image of positionals) {
      try {
        const response = await store.call<imagestore.InspectResponse>((m, o, cb) => store.client.inspect({ image }, m, o, cb));
        found.push(inspectedImage(response.image!));
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    store.close();
  }
  printInspected(found, values.format);
  return failed ? 1 : 0;
}

/** An image as inspect shows it: the API's detail, with the config as stored decoded (more use to people than base64). */
export function inspectedImage(image: imagestore.ImageDetail): Record<string, unknown> {
  const detail = imagestore.ImageDetail.toJSON(image) as Record<string, unknown>;
  detail.rawConfig = JSON.parse(Buffer.from(image.rawConfig).toString('utf8'));
  return detail;
}
