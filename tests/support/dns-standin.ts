// A stand-in for Docker's embedded DNS server (127.0.0.11 inside a container on a swarm network),
// which cannot run outside Docker: a UDP DNS server speaking the real wire format (RFC 1035) on a
// loopback port, answering A queries from a table the test changes as Swarm would (a service name
// -> its VIP, or with endpoint mode dnsrr the addresses of its healthy tasks; no tasks -> NXDOMAIN,
// as Docker answers for a service scaled to 0). TTL 0; nginx caches by its own `valid=`.
import dgram from 'node:dgram';

export interface DnsStandIn {
  port: number;
  /** Sets (or with [] removes) the A records of a name. */
  set(name: string, addresses: string[]): void;
  /** Queries answered so far, per name. */
  queries: Map<string, number>;
  stop(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

export function startDnsStandIn(): Promise<DnsStandIn> {
  const table = new Map<string, string[]>();
  const queries = new Map<string, number>();
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    queries.set(name, (queries.get(name) ?? 0) + 1);
    const addresses = table.get(name);
    const answers = qtype === 1 ? (addresses ?? []) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0); // id
    // QR=1, opcode 0, AA=1, RD copied, RA=1; RCODE 3 (NXDOMAIN) for a name with no records.
    header.writeUInt16BE(0x8480 | (msg.readUInt16BE(2) & 0x0100) | (addresses && addresses.length > 0 ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const question = msg.subarray(12, end + 4);
    const records = answers.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((o, k) => rr.writeUInt8(Number(o), 12 + k));
      return rr;
    });
    sock.send(Buffer.concat([header, question, ...records]), rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      resolve({
        port: sock.address().port,
        set: (name, addresses) => void (addresses.length ? table.set(name.toLowerCase(), addresses) : table.delete(name.toLowerCase())),
        queries,
        stop: () => new Promise((r) => sock.close(() => r())),
      });
    });
  });
}
