/**
 * The embedded DNS server of a container network, like Docker's at 127.0.0.11 but listening on the
 * network's gateway address on the host: it answers the names of the network's containers itself
 * and forwards every other query to the host's nameservers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/**
 * Answers for one network: the IPv4 addresses a name has for the client asking (a container sees the
 * names of every network it is on), or undefined when it is no such name.
 */
export type DnsLookup = (name: string, client: string) => string[] | undefined;

export interface NetworkDnsOptions {
  address: string;
  port: number;
  lookup: DnsLookup;
  /** The nameservers to forward to: "192.0.2.53", "[2001:db8::53]" or with a port, "127.0.0.1:5300". */
  upstream: string[];
  logger?: { warn(msg: string): void };
}

interface Upstream {
  address: string;
  port: number;
}

/** Docker's TTL for the names of a network. */
const TTL = 600;
const UPSTREAM_TIMEOUT_MS = 2_000;
/** A TCP client that sends nothing for this long is dropped, so that idle connections cannot pile up. */
const TCP_IDLE_MS = 30_000;
const HEADER_BYTES = 12;
const RCODE_SERVFAIL = 2;
const OPCODE_QUERY = 0;

export class NetworkDns {
  /** Forwards under way; close() cancels them so that no timer or socket outlives the server. */
  private readonly pending = new Set<() => void>();
  private readonly connections = new Set<net.Socket>();
  private readonly upstreams: Upstream[];
  private readonly warn: (msg: string) => void;
  private closed = false;

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    readonly port: number,
    private readonly lookup: DnsLookup,
    upstream: string[],
    logger: { warn(msg: string): void } | undefined,
  ) {
    this.warn = (msg) => logger?.warn(`dns ${this.port}: ${msg}`);
    this.upstreams = upstream.flatMap((entry) => {
      const parsed = parseUpstream(entry);
      if (!parsed) this.warn(`ignoring upstream nameserver "${entry}": not an address or address:port`);
      return parsed ? [parsed] : [];
    });
  }

  /** Listens on address:port over UDP and TCP. */
  static async start(options: NetworkDnsOptions): Promise<NetworkDns> {
    const { udp, tcp, port } = await listen(options.address, options.port);
    const server = new NetworkDns(udp, tcp, port, options.lookup, options.upstream, options.logger);
    udp.on('message', (message, from) => server.onDatagram(message, from));
    udp.on('error', (err) => server.warn(`udp socket: ${err.message}`));
    tcp.on('connection', (socket) => server.onConnection(socket));
    tcp.on('error', (err) => server.warn(`tcp listener: ${err.message}`));
    return server;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of this.pending) cancel();
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private onDatagram(message: Buffer, from: dgram.RemoteInfo): void {
    this.answer(message, from.address).then(
      (response) => {
        if (response && !this.closed) {
          this.udp.send(response, from.port, from.address, (err) => {
            if (err) this.warn(`reply to ${from.address}:${from.port}: ${err.message}`);
          });
        }
      },
      (err: unknown) => this.warn(`query from ${from.address}:${from.port}: ${errorMessage(err)}`),
    );
  }

  /** DNS over TCP: each message has a 2-byte length prefix, and a connection may carry several queries. */
  private onConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('error', (err) => this.warn(`tcp connection from ${socket.remoteAddress}: ${err.message}`));
    socket.on('close', () => this.connections.delete(socket));
    let buffered = Buffer.alloc(0);
    let inFlight = 0;
    let clientEnded = false;
    const endIfDone = (): void => {
      if (clientEnded && inFlight === 0 && !socket.destroyed) socket.end();
    };
    socket.on('end', () => {
      clientEnded = true;
      endIfDone();
    });
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        inFlight++;
        // Answers may go back out of order (RFC 7766 allows it): the id tells them apart.
        this.answer(message, socket.remoteAddress ?? '').then(
          (response) => {
            inFlight--;
            if (!response) {
              socket.destroy(); // malformed: the stream cannot be trusted any further
            } else if (!socket.destroyed) {
              const prefix = Buffer.alloc(2);
              prefix.writeUInt16BE(response.length);
              socket.write(Buffer.concat([prefix, response]));
              endIfDone();
            }
          },
          (err: unknown) => {
            inFlight--;
            this.warn(`query over tcp from ${socket.remoteAddress}: ${errorMessage(err)}`);
            socket.destroy();
          },
        );
      }
    });
  }

  /** The response to one query, or undefined when the message is not a query to answer (dropped). */
  private async answer(message: Buffer, client: string): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return undefined;
    }
    // Never answer responses: two servers could otherwise bounce packets between them forever.
    if (query.flag_qr) return undefined;

    const local = this.answerLocally(query, client);
    if (local) return local;
    const forwarded = await this.forward(message);
    if (this.closed) return undefined;
    return forwarded ?? reply(query, { rcode: RCODE_SERVFAIL });
  }

  /** The answer for a name of the network, or undefined when the query is for someone else. */
  private answerLocally(query: dnsPacket.DecodedPacket, client: string): Buffer | undefined {
    const question = query.questions?.length === 1 ? query.questions[0] : undefined;
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (!question || opcode !== OPCODE_QUERY || (question.class ?? 'IN') !== 'IN') return undefined;
    let addresses: string[] | undefined;
    try {
      addresses = this.lookup(question.name.replace(/\.$/, '').toLowerCase(), client.replace(/^::ffff:/, ''));
    } catch (err) {
      this.warn(`lookup of "${question.name}": ${errorMessage(err)}`);
      return reply(query, { rcode: RCODE_SERVFAIL });
    }
    if (addresses === undefined) return undefined;
    // The name exists but only has IPv4 addresses: any other type gets NOERROR with no answers,
    // not NXDOMAIN, so that resolvers asking AAAA and A in parallel still use the A answer.
    const answers: dnsPacket.Answer[] =
      question.type !== 'A'
        ? []
        : addresses.flatMap((address) => {
            if (net.isIPv4(address)) return [{ type: 'A', name: question.name, ttl: TTL, data: address }];
            this.warn(`lookup of "${question.name}" gave "${address}", not an IPv4 address`);
            return [];
          });
    return reply(query, { authoritative: true, answers });
  }

  /** Sends the query as it is to each upstream in turn; the first answer's bytes, or undefined when none answers. */
  private async forward(message: Buffer): Promise<Buffer | undefined> {
    for (const upstream of this.upstreams) {
      if (this.closed) return undefined;
      const response = await this.ask(upstream, message);
      if (response) return response;
    }
    return undefined;
  }

  private ask(upstream: Upstream, message: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      // A socket per query: a fresh random source port, and no answer can be mixed up with another query's.
      const socket = dgram.createSocket(net.isIPv6(upstream.address) ? 'udp6' : 'udp4');
      const id = message.readUInt16BE(0);
      let done = false;
      const finish = (response: Buffer | undefined): void => {
        if (done) return; // the timeout, an error and the answer may race
        done = true;
        clearTimeout(timer);
        this.pending.delete(cancel);
        socket.close();
        resolve(response);
      };
      const cancel = (): void => finish(undefined);
      const timer = setTimeout(cancel, UPSTREAM_TIMEOUT_MS);
      this.pending.add(cancel);
      socket.on('message', (response, from) => {
        // Only the upstream's answer to this very query counts; anything else on the port is ignored.
        if (from.address === upstream.address && from.port === upstream.port && response.length >= HEADER_BYTES && response.readUInt16BE(0) === id) {
          finish(response);
        }
      });
      socket.on('error', (err) => {
        this.warn(`forward to ${upstream.address}:${upstream.port}: ${err.message}`);
        finish(undefined);
      });
      socket.send(message, upstream.port, upstream.address, (err) => {
        if (err) {
          this.warn(`forward to ${upstream.address}:${upstream.port}: ${err.message}`);
          finish(undefined);
        }
      });
    });
  }
}

/** The nameservers of a resolv.conf text ("nameserver X" lines), in order. */
export function nameservers(resolvConf: string): string[] {
  return resolvConf.split('\n').flatMap((line) => {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    return match && net.isIP(match[1]!) ? [match[1]!] : [];
  });
}

/** A response to the query that echoes its id, question and RD flag, as resolvers expect. */
function reply(query: dnsPacket.DecodedPacket, options: { authoritative?: boolean; rcode?: number; answers?: dnsPacket.Answer[] }): Buffer {
  const flags =
    dnsPacket.RECURSION_AVAILABLE |
    (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) |
    (options.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    (options.rcode ?? 0);
  try {
    return dnsPacket.encode({ type: 'response', id: query.id, flags, questions: query.questions, answers: options.answers ?? [] });
  } catch {
    // A question dns-packet cannot encode again: answer with the bare header rather than not at all.
    return dnsPacket.encode({ type: 'response', id: query.id, flags: (flags & ~0xf) | RCODE_SERVFAIL, questions: [], answers: [] });
  }
}

/** "192.0.2.53", "2001:db8::53", "127.0.0.1:5300" or "[2001:db8::53]:5300"; undefined when it is none of them. */
function parseUpstream(entry: string): Upstream | undefined {
  if (net.isIP(entry)) return { address: entry, port: 53 };
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
  if (!match || !net.isIP(match[1]!)) return undefined;
  const port = Number(match[2]);
  return port > 0 && port < 65_536 ? { address: match[1]!, port } : undefined;
}

/**
 * Binds UDP and then TCP on the same port. With port 0 the system picks the UDP port, which may be
 * taken for TCP, so that case tries again a few times.
 */
async function listen(address: string, port: number): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, address, () => {
          udp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const boundPort = udp.address().port;
    // Half-open: a client may send its queries and shut its side before the answers are back.
    const tcp = net.createServer({ allowHalfOpen: true });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(boundPort, address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: boundPort };
    } catch (err) {
      udp.close();
      const inUse = err instanceof Error && 'code' in err && err.code === 'EADDRINUSE';
      if (port !== 0 || !inUse || attempt >= 5) throw err;
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
