import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, write, writeSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { invalidArgument, isBerthError } from '../errors';

const run = promisify(execFile);
const writeAsync = promisify(write);

/**
 * Files larger than this are written without blocking the event loop. The rest of an entry's work
 * (lstat, mkdir, open, chown, chmod, utimes) is done with synchronous calls: each takes microseconds
 * on a local disk, while a round trip through libuv's thread pool costs more than that, several
 * times per entry; a layer or a build context of many small files unpacks several times faster.
 */
const SYNC_WRITE_BYTES = 1024 * 1024;

/** Linux's limits: an xattr's value (XATTR_SIZE_MAX), a device's major (12 bits) and minor (20 bits). */
const MAX_XATTR_VALUE = 64 * 1024;
const MAX_MAJOR = 0xfff;
const MAX_MINOR = 0xfffff;

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

export interface ExtractResult {
  /** The sha256 of the uncompressed tar: the layer's diff id. */
  diffId: string;
  /** Entries written. */
  entries: number;
  /** Paths (relative) turned into overlay whiteouts: character devices 0/0. */
  whiteouts: string[];
  /** Directories (relative) marked opaque with trusted.overlay.opaque=y. */
  opaque: string[];
}

export interface ExtractOptions {
  gzip: boolean;
  /**
   * 'layer' (the default): an image layer for overlayfs, whose OCI whiteouts become overlay whiteouts.
   * 'copy': what `docker cp` writes into a container, where ".wh." names are ordinary files and, as
   * Docker's cp refuses by default, a directory and a non-directory never replace each other.
   * 'volume': a volume's content, whose root entry ("./") gives the root its owner and mode.
   */
  archive?: 'layer' | 'copy' | 'volume';
}

/** How an archive is unpacked, and the words its errors use. */
interface Rules {
  overlayWhiteouts: boolean;
  replaceAcrossKinds: boolean;
  /** The archive's entry for its root ("./") sets the root's owner, mode and times. */
  rootEntry: boolean;
  /** What the archive is, then its entries, and where they must stay. */
  archive: string;
  entry: string;
  root: string;
  inside: string;
}

const RULES: Record<NonNullable<ExtractOptions['archive']>, Rules> = {
  layer: { overlayWhiteouts: true, replaceAcrossKinds: true, rootEntry: false, archive: 'the layer', entry: 'layer entry', root: "the layer's root", inside: 'the layer' },
  copy: { overlayWhiteouts: false, replaceAcrossKinds: false, rootEntry: false, archive: 'the archive', entry: 'entry', root: 'the destination directory', inside: 'the destination directory' },
  volume: { overlayWhiteouts: false, replaceAcrossKinds: true, rootEntry: true, archive: 'the archive', entry: 'entry', root: "the volume's root", inside: 'the volume' },
};

/**
 * Unpacks a tar (by default an image layer, for overlayfs) into a directory, never writing outside it:
 * - every name is taken relative to the root, and one that climbs out ("../x") is refused;
 * - no entry is written through a symlink (a parent that is a symlink is refused, and files are
 *   created with O_NOFOLLOW after what was there is removed), so a symlink in the layer, absolute or
 *   relative, cannot redirect a later entry to the host;
 * - a hardlink must name a regular file already in the layer;
 * - OCI whiteouts become overlay whiteouts: ".wh.NAME" a character device 0/0 named NAME,
 *   ".wh..wh..opq" the xattr trusted.overlay.opaque=y on its directory; trusted.overlay.* xattrs
 *   carried in the tar are dropped, other xattrs (security.capability) are kept.
 * Owners, modes (with setuid/setgid/sticky) and times are kept: the agent runs as root.
 * With `archive: 'copy'` the same rules unpack `docker cp`'s tar into a container's directory.
 */
export async function unpackTar(source: Readable, root: string, options: ExtractOptions): Promise<ExtractResult> {
  const rules = RULES[options.archive ?? 'layer'];
  const result: ExtractResult = { diffId: '', entries: 0, whiteouts: [], opaque: [] };
  const reader = extract();
  const hash = createHash('sha256');
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const consume = (async () => {
    for await (const entry of reader) {
      try {
        await extractEntry(root, entry.header, entry as unknown as Readable, rules, result);
      } catch (err) {
        // A name or link target longer than Linux takes is the archive's doing, not this host's.
        if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
          throw invalidArgument(`${rules.entry} "${entry.header.name}" has a name or link target too long for Linux`);
        }
        throw err;
      } finally {
        entry.resume();
      }
    }
  })();
  const unpacking = options.gzip ? pipeline(source, createGunzip(), measure, reader) : pipeline(source, measure, reader);
  try {
    await Promise.all([unpacking, consume]);
  } catch (err) {
    if (isBerthError(err)) throw err;
    // zlib's and the tar parser's complaints are about the data, not about this host. The parser's
    // errors have no code: a system call's error (code ENOSPC...) may name a path with "tar" in it,
    // and a failed command's code is its exit status, a number.
    const code = (err as NodeJS.ErrnoException).code;
    if ((typeof code === 'string' && code.startsWith('Z_')) || (code === undefined && /tar|header|unexpected end/i.test((err as Error).message))) {
      throw invalidArgument(`${rules.archive} is not a valid ${options.gzip ? 'gzip-compressed ' : ''}tar: ${(err as Error).message}`);
    }
    throw err;
  }
  result.diffId = `sha256:${hash.digest('hex')}`;
  return result;
}

/** A tar name as a path inside the root: a leading "/" dropped, and a name that climbs out refused. */
function relativeName(raw: string, rules: Rules): string {
  if (raw.includes('\0')) throw invalidArgument(`${rules.entry} ${JSON.stringify(raw)} has a NUL byte in its name`);
  const name = posix.normalize(raw.replace(/^\/+/, '')).replace(/\/$/, '');
  if (name === '..' || name.startsWith('../')) throw invalidArgument(`${rules.entry} "${raw}" leaves ${rules.root}`);
  return name === '.' ? '' : name;
}

async function extractEntry(root: string, header: Header, data: Readable, rules: Rules, result: ExtractResult): Promise<void> {
  const name = relativeName(header.name, rules);
  checkHeader(header, rules);
  if (name === '') {
    // The root itself: it exists already, and keeps its attributes unless the rules take the archive's.
    if (rules.rootEntry && header.type === 'directory') await setAttributes(root, header, rules);
    return;
  }
  const parts = name.split('/');
  const base = parts.pop()!;
  const parent = directoryInRoot(root, parts, header.name, rules);
  const relativeParent = parts.join('/');

  if (rules.overlayWhiteouts && base === OPAQUE) {
    // Marked now, while parent is a directory checked to be in the root: a later entry may replace a
    // component of it with a symlink, through which a mark made at the end would land outside.
    await setXattr(parent, 'trusted.overlay.opaque', Buffer.from('y'));
    result.opaque.push(relativeParent);
    return;
  }
  if (rules.overlayWhiteouts && base.startsWith(WHITEOUT)) {
    const hidden = base.slice(WHITEOUT.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw invalidArgument(`${rules.entry} "${header.name}" is not a valid whiteout`);
    const path = join(parent, hidden);
    rmSync(path, { recursive: true, force: true });
    await run('mknod', [path, 'c', '0', '0']);
    result.whiteouts.push(relativeParent === '' ? hidden : `${relativeParent}/${hidden}`);
    return;
  }

  const path = join(parent, base);
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing !== undefined && !rules.replaceAcrossKinds && existing.isDirectory() !== (header.type === 'directory')) {
    const [was, is] = existing.isDirectory() ? ['directory', 'non-directory'] : ['non-directory', 'directory'];
    throw invalidArgument(`${rules.entry} "${header.name}" would replace the ${was} "${name}" with a ${is}`);
  }
  // An entry replaces what is there, except that a directory stays a directory (its children stay).
  if (existing !== undefined && !(existing.isDirectory() && header.type === 'directory')) rmSync(path, { recursive: true, force: true });

  switch (header.type) {
    case 'directory':
      if (existing === undefined || !existing.isDirectory()) mkdirSync(path);
      break;
    case 'file':
    case 'contiguous-file': {
      const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      try {
        const small = (header.size ?? 0) <= SYNC_WRITE_BYTES;
        for await (const chunk of data) {
          if (small) writeSync(fd, chunk as Buffer);
          else await writeFully(fd, chunk as Buffer);
        }
      } finally {
        closeSync(fd);
      }
      break;
    }
    case 'symlink':
      if (!header.linkname || header.linkname.includes('\0')) throw invalidArgument(`${rules.entry} "${header.name}" has ${header.linkname ? 'a NUL byte in its' : 'an empty'} link target`);
      symlinkSync(header.linkname ?? '', path);
      break;
    case 'link': {
      const targetName = relativeName(header.linkname ?? '', rules);
      const targetParts = targetName.split('/');
      const targetBase = targetParts.pop()!;
      const target = join(directoryInRoot(root, targetParts, header.name, rules), targetBase);
      const stats = lstatSync(target, { throwIfNoEntry: false });
      if (stats === undefined || !stats.isFile()) throw invalidArgument(`${rules.entry} "${header.name}" links to "${header.linkname}", which is not a file in ${rules.inside}`);
      linkSync(target, path);
      result.entries++;
      return; // a hard link shares its target's owner, mode and times
    }
    case 'character-device':
    case 'block-device':
      await run('mknod', [path, header.type === 'character-device' ? 'c' : 'b', String(header.devmajor ?? 0), String(header.devminor ?? 0)]);
      break;
    case 'fifo':
      await run('mknod', [path, 'p']);
      break;
    default:
      return; // other kinds (sockets, GNU extensions) have no place in an image
  }
  await setAttributes(path, header, rules);
  result.entries++;
}

async function writeFully(fd: number, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length; ) offset += (await writeAsync(fd, chunk, offset, chunk.length - offset)).bytesWritten;
}

/**
 * Refuses, before anything is written, header fields no file can have: tar's numeric fields are
 * octal text or base-256, and a damaged or hostile one reads as NaN, a negative or a huge number,
 * which lchown, utimes and mknod would throw on or take for something else (-1: "leave unchanged").
 */
function checkHeader(header: Header, rules: Rules): void {
  const id = (value: number | undefined) => value === undefined || (Number.isInteger(value) && value >= 0 && value < 0xffffffff);
  if (!id(header.uid) || !id(header.gid)) throw invalidArgument(`${rules.entry} "${header.name}" has an invalid owner ${header.uid}:${header.gid}`);
  if (header.mtime !== undefined && Number.isNaN(header.mtime.getTime())) throw invalidArgument(`${rules.entry} "${header.name}" has an invalid modification time`);
  if (header.type === 'character-device' || header.type === 'block-device') {
    const { devmajor = 0, devminor = 0 } = header;
    if (!(Number.isInteger(devmajor) && devmajor >= 0 && devmajor <= MAX_MAJOR && Number.isInteger(devminor) && devminor >= 0 && devminor <= MAX_MINOR)) {
      throw invalidArgument(`${rules.entry} "${header.name}" has the device number ${devmajor}:${devminor}, which Linux cannot have`);
    }
  }
}

/** Gives a written entry the archive's owner, mode, times and xattrs (trusted.overlay.* never). */
async function setAttributes(path: string, header: Header, rules: Rules): Promise<void> {
  lchownSync(path, header.uid ?? 0, header.gid ?? 0);
  if (header.type !== 'symlink') chmodSync(path, (header.mode ?? 0o644) & 0o7777);
  const mtime = header.mtime ?? new Date(0);
  lutimesSync(path, mtime, mtime);
  for (const [key, value] of Object.entries((header.pax as Record<string, string> | undefined) ?? {})) {
    const xattr = key.startsWith('SCHILY.xattr.') ? key.slice('SCHILY.xattr.'.length) : undefined;
    if (xattr === undefined || xattr.startsWith('trusted.overlay.') || header.type === 'symlink') continue;
    const bytes = Buffer.from(String(value), 'latin1');
    if (bytes.length > MAX_XATTR_VALUE) throw invalidArgument(`${rules.entry} "${header.name}" has an extended attribute "${xattr}" of ${bytes.length} bytes, more than Linux holds`);
    try {
      await setXattr(path, xattr, bytes);
    } catch (err) {
      // setfattr fails as the kernel refuses: a name in no namespace, a value it does not take.
      const reason = ((err as { stderr?: string }).stderr ?? '').trim().split('\n').at(-1)?.replace(/^setfattr: [^:]*: /, '') || (err as Error).message;
      throw invalidArgument(`${rules.entry} "${header.name}" has an extended attribute "${xattr}" that cannot be set: ${reason}`);
    }
  }
}

/**
 * The directory for an entry's parent components, made where missing; a component that exists as a
 * symlink (or anything but a directory) is refused rather than followed.
 */
function directoryInRoot(root: string, parts: string[], raw: string, rules: Rules): string {
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    const stats = lstatSync(current, { throwIfNoEntry: false });
    if (stats === undefined) mkdirSync(current, { mode: 0o755 });
    else if (stats.isSymbolicLink()) throw invalidArgument(`${rules.entry} "${raw}" goes through the symlink "${part}"`);
    else if (!stats.isDirectory()) throw invalidArgument(`${rules.entry} "${raw}" goes through "${part}", which is not a directory`);
  }
  return current;
}

async function setXattr(path: string, name: string, value: Buffer): Promise<void> {
  // In base64 ("0s"): in hex, a value of 64 KiB, which Linux allows, is longer than an argument may be.
  await run('setfattr', ['-h', '-n', name, '-v', `0s${value.toString('base64')}`, path]);
}
