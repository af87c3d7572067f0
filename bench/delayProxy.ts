// A TCP proxy that adds a fixed one-way delay to every chunk in both directions (so each
// round trip costs 2 × delayMs), to show the listing on a link with real latency.
import net from 'node:net'
import type { AddressInfo } from 'node:net'

export async function startDelayProxy(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const t = new URL(target)
  const sockets = new Set<net.Socket>()
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk) => setTimeout(() => to.destroyed || to.write(chunk), delayMs))
    from.on('end', () => setTimeout(() => to.end(), delayMs))
    from.on('error', () => to.destroy())
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(t.port), t.hostname)
    sockets.add(client).add(upstream)
    client.on('close', () => sockets.delete(client))
    upstream.on('close', () => sockets.delete(upstream))
    pipe(client, upstream)
    pipe(upstream, client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
