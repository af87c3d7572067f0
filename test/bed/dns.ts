// A minimal DNS server on loopback (UDP): answers TXT and A queries from a map, NXDOMAIN
// otherwise. For `handle check` tests (pdsctl --dns-server points at it).
import dgram from 'node:dgram'

export interface DnsServer {
  port: number
  address: string
  queries: Array<{ name: string; type: number }>
  set(name: string, records: { txt?: string[]; a?: string[] }): void
  close(): Promise<void>
}

export async function startDnsServer(initial: Record<string, { txt?: string[]; a?: string[] }> = {}): Promise<DnsServer> {
  const zone = new Map(Object.entries(initial).map(([k, v]) => [k.toLowerCase(), v]))
  const queries: DnsServer['queries'] = []
  const sock = dgram.createSocket('udp4')
  sock.on('message', (msg, rinfo) => {
    let off = 12
    const labels: string[] = []
    while (msg[off] !== 0) {
      labels.push(msg.subarray(off + 1, off + 1 + msg[off]).toString())
      off += msg[off] + 1
    }
    off++
    const qtype = msg.readUInt16BE(off)
    const question = msg.subarray(12, off + 4)
    const name = labels.join('.').toLowerCase()
    queries.push({ name, type: qtype })
    const rec = zone.get(name)
    const answers: Buffer[] = []
    if (rec && qtype === 16) {
      for (const t of rec.txt ?? []) {
        const data = Buffer.concat([Buffer.from([Buffer.byteLength(t)]), Buffer.from(t)])
        answers.push(rr(16, data))
      }
    } else if (rec && qtype === 1) {
      for (const ip of rec.a ?? []) answers.push(rr(1, Buffer.from(ip.split('.').map(Number))))
    }
    const header = Buffer.alloc(12)
    msg.copy(header, 0, 0, 2) // id
    header.writeUInt16BE(0x8180 | (rec ? 0 : 3), 2) // response, RD, RA; rcode NXDOMAIN when unknown
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(answers.length, 6)
    sock.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address)
  })
  function rr(type: number, data: Buffer): Buffer {
    const b = Buffer.alloc(12)
    b.writeUInt16BE(0xc00c, 0) // pointer to the question name
    b.writeUInt16BE(type, 2)
    b.writeUInt16BE(1, 4)
    b.writeUInt32BE(60, 6)
    b.writeUInt16BE(data.length, 10)
    return Buffer.concat([b, data])
  }
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
  const port = sock.address().port
  return {
    port,
    address: `127.0.0.1:${port}`,
    queries,
    set: (name, records) => zone.set(name.toLowerCase(), records),
    close: () => new Promise<void>((r) => sock.close(() => r())),
  }
}
