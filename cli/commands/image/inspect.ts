import { invalidArgument, messageOf } from '../../../libs/errors';
import { imagestore } from '../../../libs/proto';
import { parseFlags } from '../../args';
import { imageStore } from '../../client';

/** `berth image inspect IMAGE...`: a JSON array, like `docker image inspect`; exit 1 if one is missing. */
export async function inspect(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, { format: { type: 'string', short: 'f', default: 'json', value: 'FORMAT', description: 'Output format; only json is printed' } }, 'image inspect');
  if (positionals.length === 0) throw invalidArgument('image inspect: give at least one image');
  const store = imageStore();
  const found: unknown[] = [];
  let failed = false;
  try {
    for (const image of positionals) {
      try {
        const response = await store.call<imagestore.InspectResponse>((m, o, cb) => store.client.inspect({ image }, m, o, cb));
        const detail = imagestore.ImageDetail.toJSON(response.image!) as Record<string, unknown>;
        // The config as stored is more useful to people than its base64 form.
        detail.rawConfig = JSON.parse(Buffer.from(response.image!.rawConfig).toString('utf8'));
        found.push(detail);
      } catch (err) {
        process.stderr.write(`berth: ${messageOf(err)}\n`);
        failed = true;
      }
    }
  } finally {
    store.close();
  }
  process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  return failed ? 1 : 0;
}
