// A port some other server holds, for the beds' tests: a bed given it first (`firstPort`)
// must see it is not its own and choose another, as when another socket takes the port it
// chose before its server binds it.
import net from 'node:net'

export interface HeldPort {
  port: number
  /** Connections the holder accepted (a bed looking at the port counts). */
  connections(): number
  close(): Promise<void>
}

/** A loopback server on a port of the kernel's choosing that answers each connection's first bytes with `answer` (undefined: accepts and says nothing). */
export async function holdPort(answer?: string): Promise<HeldPort> {
  let connections = 0
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((s) => {
    connections++
    sockets.add(s)
    s.on('error', () => {})
    if (answer !== undefined) s.once('data', () => s.end(answer))
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return {
    port: (srv.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((r) => srv.close(() => r()))
    },
  }
}
