import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { failedPrecondition } from '../../../libs/errors';

export interface PortRequest {
  protocol: 'tcp' | 'udp';
  /** '' for every address. */
  hostIp: string;
  /** 0 for one the kernel picks. */
  hostPort: number;
}

/**
 * Host ports held for running containers' published ports. The traffic itself goes by the DNAT
 * rules and never reaches these sockets; holding them keeps another program (or container) from
 * taking the port, makes a port in use fail the start clearly, and lets the kernel pick a free port
 * when none is given, as Docker's proxy does.
 */
export class PortReservations {
  private readonly held = new Map<string, (Server | Socket)[]>();

  /** Binds each port for the container; returns the host ports, in order. Nothing stays held on failure. */
  async reserve(containerId: string, ports: PortRequest[]): Promise<number[]> {
    const sockets: (Server | Socket)[] = [];
    try {
      const bound: number[] = [];
      for (const port of ports) {
        const { socket, hostPort } = await bind(port);
        sockets.push(socket);
        bound.push(hostPort);
      }
      this.held.set(containerId, [...(this.held.get(containerId) ?? []), ...sockets]);
      return bound;
    } catch (err) {
      for (const socket of sockets) socket.close();
      throw err;
    }
  }

  release(containerId: string): void {
    for (const socket of this.held.get(containerId) ?? []) socket.close();
    this.held.delete(containerId);
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }
}

async function bind(port: PortRequest): Promise<{ socket: Server | Socket; hostPort: number }> {
  const host = port.hostIp === '' ? '0.0.0.0' : port.hostIp;
  const where = `${host}:${port.hostPort === 0 ? '(any)' : port.hostPort}/${port.protocol}`;
  try {
    if (port.protocol === 'udp') {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port.hostPort, host, () => resolve());
      });
      return { socket, hostPort: socket.address().port };
    }
    const server = createServer((connection) => connection.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: port.hostPort, host, exclusive: true }, () => resolve());
    });
    return { socket: server, hostPort: (server.address() as { port: number }).port };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw failedPrecondition(`cannot publish ${where}: the port is already in use on the host`);
    if (code === 'EADDRNOTAVAIL') throw failedPrecondition(`cannot publish ${where}: ${host} is not an address of this host`);
    throw failedPrecondition(`cannot publish ${where}: ${(err as Error).message}`);
  }
}
