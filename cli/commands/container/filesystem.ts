import type { ServiceError } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { invalidArgument } from '../../../libs/errors';
import { fromServiceError } from '../../../libs/grpc';
import type { runtime } from '../../../libs/proto';
import { archiveOutput, readArchive } from '../../archive';
import { parseFlags } from '../../args';
import { runtimeAgent } from '../../client';

/** `berth diff CONTAINER`: A, C and D lines, as `docker diff` prints them. */
export async function diff(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'diff');
  if (positionals.length !== 1) throw invalidArgument('diff: give one container');
  const agent = runtimeAgent();
  try {
    const response = await agent.call<runtime.DiffResponse>((m, o, cb) => agent.client.diff({ container: positionals[0]! }, m, o, cb));
    process.stdout.write(response.changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
  } finally {
    agent.close();
  }
  return 0;
}

/** `berth commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE]... [--no-pause] CONTAINER [REPOSITORY[:TAG]]` */
export async function commit(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    args,
    {
      author: { type: 'string', short: 'a', default: '', value: 'AUTHOR', description: 'Author of the image' },
      message: { type: 'string', short: 'm', default: '', value: 'MESSAGE', description: "Commit message, kept as the comment in the image's history" },
      change: { type: 'string', short: 'c', multiple: true, value: 'INSTRUCTION', description: 'Apply a Dockerfile instruction to the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR' },
      pause: { type: 'boolean', short: 'p', default: true, description: 'Pause the container while committing' },
      'no-pause': { type: 'boolean', default: false, description: 'Do not pause the container while committing' },
    },
    'commit',
  );
  if (positionals.length < 1 || positionals.length > 2) throw invalidArgument('commit: give a container and, optionally, a name for the image');
  const agent = runtimeAgent();
  try {
    const response = await agent.call<runtime.CommitResponse>((m, o, cb) =>
      agent.client.commit(
        {
          container: positionals[0]!,
          reference: positionals[1] ?? '',
          comment: values.message,
          author: values.author,
          changes: values.change ?? [],
          noPause: values['no-pause'] || !values.pause,
          uncompressed: false,
          remove: false,
        },
        m,
        { ...o, deadline: Infinity },
        cb,
      ),
    );
    process.stdout.write(`${response.imageId}\n`);
  } finally {
    agent.close();
  }
  return 0;
}

/** `berth export [-o FILE] CONTAINER`: the filesystem as a tar, to stdout unless -o. */
export async function exportContainer(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { output: { type: 'string', short: 'o', value: 'FILE', description: 'Write the tar to a file instead of STDOUT' } }, 'export');
  if (positionals.length !== 1) throw invalidArgument('export: give one container');
  const out = archiveOutput(values.output, 'export');
  const agent = runtimeAgent();
  try {
    await readArchive(agent.client.export({ container: positionals[0]! }, agent.metadata(), { deadline: Infinity }), agent.endpoint, out);
  } finally {
    agent.close();
  }
  return 0;
}

/**
 * `berth cp CONTAINER:PATH DEST|-` and `berth cp SRC|- CONTAINER:DIR`. Out of a container: into
 * DEST if it is a directory, else as DEST. Into a container: SRC lands inside the directory DIR.
 */
export async function cp(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, 'cp');
  if (positionals.length !== 2) throw invalidArgument('cp: give a source and a destination, one of them CONTAINER:PATH');
  const [source, destination] = positionals as [string, string];
  const inContainer = (text: string) => /^[^/.][^:]*:/.test(text);
  const agent = runtimeAgent();
  try {
    if (inContainer(source) && !inContainer(destination)) await copyOut(agent, source, destination);
    else if (inContainer(destination) && !inContainer(source)) await copyIn(agent, source, destination);
    else throw invalidArgument('cp: exactly one of source and destination must be CONTAINER:PATH');
  } finally {
    agent.close();
  }
  return 0;
}

type Agent = ReturnType<typeof runtimeAgent>;

async function copyOut(agent: Agent, source: string, destination: string): Promise<void> {
  const [container, path] = splitContainerPath(source);
  const stream = () => agent.client.copyFrom({ container, path }, agent.metadata(), { deadline: Infinity });
  if (destination === '-') return readArchive(stream(), agent.endpoint, process.stdout);
  const target = resolve(destination);
  const intoDirectory = existsSync(target) && statSync(target).isDirectory();
  // Unpacked beside the destination, then moved: the entry takes the destination's name.
  const scratch = intoDirectory ? target : mkdtempSync(join(dirname(target), '.berth-cp-'));
  try {
    const tar = spawn('tar', ['-x', '-C', scratch], { stdio: ['pipe', 'inherit', 'inherit'] });
    const done = new Promise<void>((resolveDone, reject) => tar.once('exit', (code) => (code === 0 ? resolveDone() : reject(new Error(`tar exited ${code}`)))));
    try {
      await readArchive(stream(), agent.endpoint, tar.stdin);
    } catch (err) {
      tar.kill();
      throw err;
    }
    await done;
    if (!intoDirectory) {
      const [entry] = readdirSync(scratch);
      if (entry !== undefined) renameSync(join(scratch, entry), target);
    }
  } finally {
    if (!intoDirectory) rmSync(scratch, { recursive: true, force: true });
  }
}

async function copyIn(agent: Agent, source: string, destination: string): Promise<void> {
  const [container, path] = splitContainerPath(destination);
  const input =
    source === '-'
      ? process.stdin
      : spawn('tar', ['-c', '-C', dirname(resolve(source)), basename(resolve(source))], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout!;
  await new Promise<void>((resolveDone, reject) => {
    const call = agent.client.copyTo(agent.metadata(), { deadline: Infinity }, (err) => (err ? reject(err) : resolveDone()));
    call.write({ container, path, data: Buffer.alloc(0) });
    input.on('data', (data: Buffer) => {
      if (!call.write({ container: '', path: '', data })) input.pause();
    });
    call.on('drain', () => input.resume());
    input.once('end', () => call.end());
  }).catch((err: unknown) => {
    throw fromServiceError(err as ServiceError, agent.endpoint);
  });
}

function splitContainerPath(text: string): [string, string] {
  const colon = text.indexOf(':');
  const path = text.slice(colon + 1);
  if (path === '') throw invalidArgument(`cp: "${text}" names no path in the container`);
  return [text.slice(0, colon), path];
}
