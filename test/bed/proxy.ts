// A real reverse proxy on loopback in front of a test PDS (either line), with the faults
// operators meet behind tunnels: re-framing a body-less POST as `Transfer-Encoding:
// chunked` with an empty body (what cloudflared does without disableChunkedEncoding), and
// refusing WebSocket upgrades. It never answers for the PDS: whatever the PDS makes of
// the re-framed request is the real server's answer. Everything else is forwarded as is,
// WebSocket upgrades included.
import http from 'node:http'
import net from 'node:net'

export interface ProxyOptions {
  /** Forward body-less POSTs with Transfer-Encoding: chunked (an empty body) and no Content-Length. */
  chunkEmptyPosts?: boolean
  /** Refuse WebSocket upgrades (an ingress or tunnel without WebSocket support). */
  refuseWebSocket?: boolean
}

export interface Proxy {
  url: string
  /** What the proxy sent upstream for each request: method, path, transfer-encoding, content-length. */
  forwarded: Array<{ method: string; path: string; te?: string; cl?: string }>
  close(): Promise<void>
}

export async function startProxy(upstreamUrl: string, opts: ProxyOptions = {}): Promise<Proxy> {
  const upstream = new URL(upstreamUrl)
  const forwarded: Proxy['forwarded'] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const headers = { ...req.headers, host: upstream.host }
      const chunked = opts.chunkEmptyPosts && req.method === 'POST' && body.length === 0
      if (chunked) {
        delete headers['content-length']
        headers['transfer-encoding'] = 'chunked'
      }
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.pipe(res)
      })
      forwarded.push({ method: req.method!, path: req.url!, te: headers['transfer-encoding'] as string | undefined, cl: headers['content-length'] as string | undefined })
      up.on('error', () => {
        res.writeHead(502, { 'content-type': 'text/html' })
        res.end('<html><body>502 Bad Gateway</body></html>')
      })
      // With chunked framing and no data, Node sends just the terminating 0-length chunk.
      if (chunked) up.end()
      else up.end(body)
    })
  })
  server.on('upgrade', (req, socket, head) => {
    if (opts.refuseWebSocket) {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    const up = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i].toLowerCase() === 'host' ? upstream.host : req.rawHeaders[i + 1]}`)
      }
      up.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length) up.write(head)
      up.pipe(socket)
      socket.pipe(up)
    })
    up.on('error', () => socket.destroy())
    socket.on('error', () => up.destroy())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
