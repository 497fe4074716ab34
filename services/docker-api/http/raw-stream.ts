import type { ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { API_VERSION, type UpgradeCall } from './router';

/**
 * Docker's raw streams of a container's output (logs, attach, exec): the bytes as they are when the
 * container has a terminal, else in frames that say which stream each chunk is from.
 */
function contentType(tty: boolean): string {
  return tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
}

/** A 200 whose body is the stream, its headers sent at once. */
export function startStream(response: ServerResponse, tty: boolean): void {
  response.writeHead(200, { 'Content-Type': contentType(tty), 'Api-Version': API_VERSION });
  response.flushHeaders();
}

/**
 * Takes the connection over for a raw stream: 101 for a client that asked to upgrade (its input
 * comes on the same connection), else a 200 whose body is the stream (and there is no input).
 */
export function takeOver(call: UpgradeCall, tty: boolean): { output: Writable; input?: Readable } {
  if (call.socket === undefined) {
    startStream(call.response!, tty);
    return { output: call.response! };
  }
  call.socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType(tty)}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nApi-Version: ${API_VERSION}\r\n\r\n`);
  if (call.head.length > 0) call.socket.unshift(call.head);
  return { output: call.socket, input: call.socket };
}

/**
 * One chunk of output as the stream carries it: as it is with a terminal, else in a frame of stream
 * (1 stdout, 2 stderr), three zero bytes, the length, then the bytes.
 */
export function outputChunk(tty: boolean, stream: 1 | 2, data: Buffer): Buffer {
  if (tty) return data;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}
