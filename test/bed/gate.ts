// A gate on loopback in front of a real server (a test-bed PDS): requests and answers
// stream through untouched, except the one a test holds, so that it can kill the client
// at an exact point of a conversation: `before` the request reaches the server (nothing
// happened), `after` the server has answered (it happened, the client never heard), or
// `mid-body` (the client got the headers and half the body). The held exchange is never
// finished; `hold` resolves once the point is reached. Used by the migration tests to
// interrupt `account migrate` between and inside its steps.
import http from 'node:http'

export type HoldPoint = 'before' | 'after' | 'mid-body'

export interface Gate {
  url: string
  /** Hold the `nth` (1-based, default 1) request to `nsid` from now on; resolves when it is held. */
  hold(nsid: string, when: HoldPoint, nth?: number): Promise<void>
  /** Forget the hold (held exchanges stay stuck until their client goes). */
  clear(): void
  /** Requests seen per NSID. */
  seen(nsid: string): number
  close(): Promise<void>
}

export async function startGate(upstreamUrl: string): Promise<Gate> {
  const upstream = new URL(upstreamUrl)
  const counts = new Map<string, number>()
  let rule: { nsid: string; when: HoldPoint; nth: number; base: number; held: () => void } | undefined
  const sockets = new Set<import('node:net').Socket>()

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://gate.invalid')
    const nsid = url.pathname.startsWith('/xrpc/') ? url.pathname.slice(6) : url.pathname
    const n = (counts.get(nsid) ?? 0) + 1
    counts.set(nsid, n)
    const r = rule && rule.nsid === nsid && n === rule.base + rule.nth ? rule : undefined
    if (r) rule = undefined
    if (r?.when === 'before') {
      req.resume()
      r.held()
      return
    }
    const headers = { ...req.headers, host: upstream.host }
    const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
      if (r?.when === 'after') {
        // The server has answered (it did the work); the client never hears it.
        upRes.resume()
        upRes.once('end', () => r.held())
        return
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      if (r?.when === 'mid-body') {
        const total = Number(upRes.headers['content-length'] ?? 0)
        let sent = 0
        let stopped = false
        upRes.on('data', (chunk: Buffer) => {
          if (stopped) return
          const room = Math.max(1, Math.floor(total / 2)) - sent
          if (chunk.length >= room) {
            res.write(chunk.subarray(0, Math.max(0, room)))
            stopped = true
            upRes.pause()
            r.held()
          } else {
            res.write(chunk)
            sent += chunk.length
          }
        })
        return
      }
      upRes.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (nsid, when, nth = 1) =>
      new Promise<void>((held) => {
        rule = { nsid, when, nth, base: counts.get(nsid) ?? 0, held }
      }),
    clear: () => {
      rule = undefined
    },
    seen: (nsid) => counts.get(nsid) ?? 0,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
