import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { SeqpacketSocket } from 'node-unix-socket';

/** The stream a packet from conmon's attach socket belongs to (its first byte). */
const STDOUT = 2;
const STDERR = 3;

export interface AttachOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/**
 * A connection to conmon's attach socket (RUNTIME-NOTES.md §1): packets
 * from conmon carry the container's output, bytes written go to its stdin. It is a SOCK_SEQPACKET
 * socket, which Node's net module cannot open.
 */
export class AttachConnection {
  private readonly socket = new SeqpacketSocket();
  /** Resolves when conmon closes the connection: the container's output has ended. */
  readonly ended: Promise<void>;

  private constructor(output: AttachOutput) {
    this.socket.on('data', (packet: Buffer) => {
      if (packet.length < 2) return;
      const data = packet.subarray(1);
      if (packet[0] === STDERR) output.stderr(data);
      else if (packet[0] === STDOUT) output.stdout(data);
    });
    this.ended = new Promise((resolve) => {
      this.socket.once('end', resolve);
      this.socket.once('close', resolve);
      this.socket.once('error', resolve);
    });
  }

  /** Connects to the attach socket at path (see attachSocketPath; an exec's is in its own directory). */
  static connect(path: string, output: AttachOutput): Promise<AttachConnection> {
    const connection = new AttachConnection(output);
    return new Promise((resolve, reject) => {
      connection.socket.once('error', reject);
      try {
        connection.socket.connect(path, () => resolve(connection));
      } catch (err) {
        reject(err as Error);
      }
    });
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve) => this.socket.write(data, 0, data.length, resolve));
  }

  /** The end of the container's stdin: conmon closes it when its attached client half-closes. */
  closeStdin(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Resizes a container's terminal through conmon's control FIFO. */
export async function resizeTerminal(bundle: string, rows: number, cols: number): Promise<void> {
  const fifo = await open(join(bundle, 'ctl'), constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    await fifo.write(`1 ${rows} ${cols}\n`);
  } finally {
    await fifo.close();
  }
}
