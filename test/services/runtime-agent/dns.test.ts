import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { nameservers, NetworkDns } from '../../../services/runtime-agent/network/dns';

const NAMES: Record<string, string[]> = { web: ['10.89.0.2'], db: ['10.89.0.3', '10.89.0.4'] };
const lookup = (name: string): string[] | undefined => NAMES[name];

let nextId = 1;
function query(name: string, type: dnsPacket.RecordType = 'A'): Buffer {
  return dnsPacket.encode({ type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
}

function rcode(response: Buffer): number {
  return response.readUInt16BE(2) & 0xf;
}

function addresses(response: dnsPacket.DecodedPacket): string[] {
  return (response.answers ?? []).map((answer) => (answer.type === 'A' ? answer.data : `not A: ${answer.type}`));
}

/** Sends one datagram and waits for the answer with its id. */
async function udpQuery(port: number, message: Buffer): Promise<Buffer> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer over udp within 5 s')), 5_000);
      socket.on('message', (response) => {
        if (response.readUInt16BE(0) === message.readUInt16BE(0)) {
          clearTimeout(timer);
          resolve(response);
        }
      });
      socket.send(message, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Sends the messages on one TCP connection at once and returns the answers, in the order of the messages. */
async function tcpQueries(port: number, messages: Buffer[]): Promise<Buffer[]> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answers over tcp within 5 s')), 5_000);
      const byId = new Map<number, Buffer>();
      let buffered = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const response = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + response.length);
          byId.set(response.readUInt16BE(0), response);
        }
        if (byId.size === messages.length) {
          clearTimeout(timer);
          resolve(messages.map((message) => byId.get(message.readUInt16BE(0))!));
        }
      });
      socket.write(Buffer.concat(messages.map((message) => Buffer.concat([lengthPrefix(message.length), message]))));
    });
  } finally {
    socket.destroy();
  }
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length);
  return prefix;
}

/** An upstream nameserver that knows example.test (192.0.2.1) and answers NXDOMAIN for anything else. */
async function startUpstream(): Promise<{ address: string; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, from) => {
    const request = dnsPacket.decode(message);
    const question = request.questions![0]!;
    const known = question.name === 'example.test' && question.type === 'A';
    const response = dnsPacket.encode({
      type: 'response',
      id: request.id,
      flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3), // 3: NXDOMAIN
      questions: request.questions,
      answers: known ? [{ type: 'A', name: question.name, ttl: 42, data: '192.0.2.1' }] : [],
    });
    socket.send(response, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

/** A bound UDP port that never answers, to stand for an upstream that is down. */
async function startSilent(): Promise<{ address: string; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

test('the network DNS answers the names of the network and forwards the rest, over UDP and TCP', async (t) => {
  const warnings: string[] = [];
  const upstream = await startUpstream();
  const dns = await NetworkDns.start({ address: '127.0.0.1', port: 0, lookup, upstream: [upstream.address], logger: { warn: (msg) => warnings.push(msg) } });
  const lonely = await NetworkDns.start({ address: '127.0.0.1', port: 0, lookup, upstream: [] });
  t.after(async () => {
    await dns.close();
    await lonely.close();
    await upstream.close();
  });
  assert.notEqual(dns.port, 0);

  for (const [transport, ask] of [
    ['udp', async (port: number, message: Buffer) => udpQuery(port, message)],
    ['tcp', async (port: number, message: Buffer) => (await tcpQueries(port, [message]))[0]!],
  ] as const) {
    await t.test(`over ${transport}`, async () => {
      const webQuery = query('web');
      const web = await ask(dns.port, webQuery);
      const decoded = dnsPacket.decode(web);
      assert.equal(rcode(web), 0);
      assert.equal(decoded.id, webQuery.readUInt16BE(0));
      assert.equal(decoded.flag_qr, true);
      assert.equal(decoded.flag_aa, true);
      assert.equal(decoded.flag_ra, true);
      assert.deepEqual(decoded.questions, [{ name: 'web', type: 'A', class: 'IN' }]);
      assert.deepEqual(addresses(decoded), ['10.89.0.2']);
      assert.equal(decoded.answers![0]!.type === 'A' && decoded.answers![0]!.ttl, 600);

      const upper = dnsPacket.decode(await ask(dns.port, query('WEB.')));
      assert.deepEqual(addresses(upper), ['10.89.0.2']);
      assert.equal(upper.questions![0]!.name, 'WEB', 'the question is echoed as asked');

      assert.deepEqual(addresses(dnsPacket.decode(await ask(dns.port, query('db')))), ['10.89.0.3', '10.89.0.4']);

      const aaaa = await ask(dns.port, query('web', 'AAAA'));
      assert.equal(rcode(aaaa), 0, 'NOERROR: the name exists');
      assert.deepEqual(dnsPacket.decode(aaaa).answers, []);

      const forwarded = await ask(dns.port, query('example.test'));
      assert.equal(rcode(forwarded), 0);
      assert.deepEqual(addresses(dnsPacket.decode(forwarded)), ['192.0.2.1']);
      assert.equal(rcode(await ask(dns.port, query('nowhere.test'))), 3, "the upstream's NXDOMAIN is relayed");

      const servfail = await ask(lonely.port, query('nowhere.test'));
      assert.equal(rcode(servfail), 2, 'SERVFAIL without upstreams');
      assert.equal(dnsPacket.decode(servfail).questions![0]!.name, 'nowhere.test');
    });
  }

  await t.test('several queries on one TCP connection', async () => {
    const messages = [query('web'), query('example.test'), query('db')];
    const answers = (await tcpQueries(dns.port, messages)).map((response) => addresses(dnsPacket.decode(response)));
    assert.deepEqual(answers, [['10.89.0.2'], ['192.0.2.1'], ['10.89.0.3', '10.89.0.4']]);
  });

  await t.test('garbage does not break the server', async () => {
    const socket = dgram.createSocket('udp4');
    const truncated = query('web').subarray(0, 15); // a header that promises a question it does not hold
    for (const garbage of [Buffer.from('garbage'), truncated, Buffer.alloc(0)]) {
      await new Promise<void>((resolve) => socket.send(garbage, dns.port, '127.0.0.1', () => resolve()));
    }
    socket.close();
    assert.deepEqual(addresses(dnsPacket.decode(await udpQuery(dns.port, query('web')))), ['10.89.0.2']);

    // Over TCP a malformed message closes the connection.
    const closed = await new Promise<boolean>((resolve) => {
      const connection = net.connect(dns.port, '127.0.0.1', () => connection.write(Buffer.concat([lengthPrefix(7), Buffer.from('garbage')])));
      connection.on('error', () => resolve(true));
      connection.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 3_000).unref();
    });
    assert.ok(closed, 'the server closes a TCP connection that sends garbage');
    assert.deepEqual(addresses(dnsPacket.decode((await tcpQueries(dns.port, [query('web')]))[0]!)), ['10.89.0.2']);
    assert.deepEqual(warnings, []);
  });
});

test('an upstream that does not answer is skipped for the next one after its timeout', { timeout: 10_000 }, async (t) => {
  const silent = await startSilent();
  const upstream = await startUpstream();
  const dns = await NetworkDns.start({ address: '127.0.0.1', port: 0, lookup, upstream: [silent.address, upstream.address] });
  t.after(async () => {
    await dns.close();
    await silent.close();
    await upstream.close();
  });
  const started = Date.now();
  assert.deepEqual(addresses(dnsPacket.decode(await udpQuery(dns.port, query('example.test')))), ['192.0.2.1']);
  assert.ok(Date.now() - started >= 1_900, 'the first upstream had its 2 s');
});

test('close() cancels the forwards under way', async () => {
  const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
  const silent = await startSilent();
  const before = timers();
  const dns = await NetworkDns.start({ address: '127.0.0.1', port: 0, lookup, upstream: [silent.address] });
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.send(query('example.test'), dns.port, '127.0.0.1', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(timers(), before + 1, 'the forward waits on its timeout');
  await dns.close();
  assert.equal(timers(), before, 'close() cleared the timeout');
  socket.close();
  await silent.close();
});

test('nameservers() reads the nameserver lines of resolv.conf in order', () => {
  const conf = ['# generated', 'search example.com', 'nameserver 192.0.2.53', '; nameserver 192.0.2.99', '  nameserver   2001:db8::53 # v6', 'options ndots:2', 'nameserver 127.0.0.53', 'nameserver not-an-ip', ''].join('\n');
  assert.deepEqual(nameservers(conf), ['192.0.2.53', '2001:db8::53', '127.0.0.53']);
  assert.deepEqual(nameservers(''), []);
});
