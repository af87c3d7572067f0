// A lying server on loopback, in front of a real one (the test-bed PDS, a relay stand-in):
// every request passes through unchanged, except those a test lies about. A lie sees the
// real answer (status, headers, body, and the parsed JSON when it was JSON) and the request
// (headers included, so a lie may echo the Authorization header back, as a hostile server
// would), and returns what to answer instead. `answer` lies without asking the real server.
// The hostile-data suite (issue 17) uses it for what a real PDS will not say on demand:
// DIDs, revs and CIDs with `/` and `..`, escape sequences in every string, 3 MB fields.
// WebSocket upgrades (the firehose, subscribeRepos) pass through to the real server byte for
// byte, unless `webSocket` answers one itself: then the handshake is completed here and the
// answer writes whatever frames it likes (a hostile firehose: escape sequences in an error
// frame, a frame that announces terabytes, CBOR nested 100,000 deep, an endless stream).
import { createHash } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import type { Duplex } from 'node:stream'

export interface LyingRequest {
  method: string
  /** The path without the query, e.g. /xrpc/com.atproto.sync.listRepos */
  path: string
  /** The NSID for /xrpc/ paths, else the path. */
  nsid: string
  query: URLSearchParams
  headers: http.IncomingHttpHeaders
  body: Buffer
}

export interface RealAnswer {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** The parsed body when it was JSON. */
  json?: unknown
}

/** What to answer: a JSON value, or raw text/bytes; status and headers default to the real ones (or 200). */
export interface Lie {
  status?: number
  headers?: Record<string, string>
  json?: unknown
  body?: string | Buffer
}

export type LieFn = (real: RealAnswer, req: LyingRequest) => Lie | undefined | Promise<Lie | undefined>

/** An opened WebSocket, as the lying server's side of it. */
export interface HostileSocket {
  /** One whole message in one frame: binary (opcode 2) by default. */
  send(payload: Buffer | string, opcode?: number): void
  /** Bytes as they are: a frame header that lies about its length, a half frame. */
  raw(bytes: Buffer): void
  /** The close frame (code 1000) and the end of the connection. */
  close(code?: number): void
  /** Called once, when pdsctl's side ends or closes. */
  onGone(fn: () => void): void
}
export type WebSocketFn = (req: LyingRequest, ws: HostileSocket) => void | Promise<void>
export type AnswerFn = (req: LyingRequest) => Lie | Promise<Lie>

export interface LyingServer {
  url: string
  port: number
  /** Every request that reached the lying server, in order (headers included). */
  requests: LyingRequest[]
  /** Rewrite the real answer to `path` (an NSID, `/xrpc/NSID`, another path, or `*` for all); undefined passes it. */
  lie(path: string, fn: LieFn): void
  /** Answer `path` without asking the real server. */
  answer(path: string, fn: AnswerFn): void
  /** Answer a WebSocket upgrade to `path` here (the handshake, then `fn`'s frames) instead of passing it through. */
  webSocket(path: string, fn: WebSocketFn): void
  /** How many upgrades to each path reached the lying server (passed through or answered). */
  upgrades: Map<string, number>
  /**
   * Ask the real server (from inside an `answer`), with the query changed when given: a lie
   * about one account (a hostile DID) can then be told with another account's real data.
   */
  forward(req: LyingRequest, query?: URLSearchParams): Promise<RealAnswer>
  /** Forget every lie and answer: everything passes again. */
  clear(): void
  close(): Promise<void>
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding'])

function key(path: string): string {
  return path.startsWith('/xrpc/') ? path.slice(6) : path
}

export interface LyingServerOptions {
  upstream: string
  /**
   * Rewrite the request headers sent upstream (the lie itself still sees the originals):
   * e.g. swap the Authorization header, so pdsctl can be run with any admin password (a
   * short one, one with tabs) in front of a real PDS that has its own.
   */
  upstreamHeaders?: (headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders
}

export async function startLyingServer(opts: LyingServerOptions): Promise<LyingServer> {
  const upstream = new URL(opts.upstream)
  const lies = new Map<string, LieFn>()
  const answers = new Map<string, AnswerFn>()
  const sockets = new Map<string, WebSocketFn>()
  const upgrades = new Map<string, number>()
  const open = new Set<Duplex>()
  const requests: LyingRequest[] = []
  const agent = new http.Agent({ keepAlive: true })

  const forward = (req: LyingRequest, rawUrl: string): Promise<RealAnswer> =>
    new Promise((resolve, reject) => {
      const headers = { ...(opts.upstreamHeaders ? opts.upstreamHeaders({ ...req.headers }) : req.headers), host: upstream.host }
      delete headers['accept-encoding']
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: rawUrl, headers, agent }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          const h: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) h[k] = Array.isArray(v) ? v.join(', ') : v
          let json: unknown
          if (/json/.test(h['content-type'] ?? '')) {
            try {
              json = JSON.parse(body.toString('utf8'))
            } catch {
              // not JSON after all: the raw body stands
            }
          }
          resolve({ status: res.statusCode ?? 502, headers: h, body, json })
        })
      })
      out.on('error', reject)
      out.end(req.body.length ? req.body : undefined)
    })

  const send = (res: http.ServerResponse, lie: Lie, real?: RealAnswer) => {
    const headers: Record<string, string> = { ...(real?.headers ?? {}), ...(lie.headers ?? {}) }
    let body: Buffer
    if (lie.json !== undefined) {
      body = Buffer.from(JSON.stringify(lie.json))
      headers['content-type'] = lie.headers?.['content-type'] ?? 'application/json; charset=utf-8'
    } else if (lie.body !== undefined) body = Buffer.isBuffer(lie.body) ? lie.body : Buffer.from(lie.body)
    else body = real?.body ?? Buffer.alloc(0)
    headers['content-length'] = String(body.length)
    res.writeHead(lie.status ?? real?.status ?? 200, headers)
    res.end(body)
  }

  const server = http.createServer((raw, res) => {
    const chunks: Buffer[] = []
    raw.on('data', (c: Buffer) => chunks.push(c))
    raw.on('end', async () => {
      const url = new URL(raw.url ?? '/', 'http://lying.invalid')
      const req: LyingRequest = {
        method: raw.method ?? 'GET',
        path: url.pathname,
        nsid: key(url.pathname),
        query: url.searchParams,
        headers: raw.headers,
        body: Buffer.concat(chunks),
      }
      requests.push(req)
      try {
        const answer = answers.get(req.nsid) ?? answers.get('*')
        if (answer) return send(res, await answer(req))
        const real = await forward(req, raw.url ?? '/')
        const lie = lies.get(req.nsid) ?? lies.get('*')
        const told = lie ? await lie(real, req) : undefined
        send(res, told ?? {}, real)
      } catch (err) {
        res.destroy(err as Error)
      }
    })
  })
  server.on('upgrade', (raw: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(raw.url ?? '/', 'http://lying.invalid')
    const req: LyingRequest = { method: raw.method ?? 'GET', path: url.pathname, nsid: key(url.pathname), query: url.searchParams, headers: raw.headers, body: Buffer.alloc(0) }
    requests.push(req)
    upgrades.set(req.nsid, (upgrades.get(req.nsid) ?? 0) + 1)
    const fn = sockets.get(req.nsid) ?? sockets.get('*')
    if (!fn) return passUpgrade(raw, socket, head, upstream, open)
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => socket.destroy())
    const accept = createHash('sha1').update(`${raw.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    let gone = false
    const goneFns: (() => void)[] = []
    const markGone = () => {
      if (gone) return
      gone = true
      for (const f of goneFns) f()
    }
    socket.on('end', markGone)
    socket.on('close', markGone)
    // What pdsctl sends (its close frame, pongs) is read and dropped.
    socket.on('data', () => {})
    const ws: HostileSocket = {
      send: (payload, opcode = 2) => {
        const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload)
        if (!gone) socket.write(Buffer.concat([frameHeader(opcode, body.length), body]))
      },
      raw: (bytes) => {
        if (!gone) socket.write(bytes)
      },
      close: (code = 1000) => {
        if (gone) return
        const c = Buffer.alloc(2)
        c.writeUInt16BE(code)
        socket.end(Buffer.concat([frameHeader(8, 2), c]))
      },
      onGone: (f) => {
        if (gone) f()
        else goneFns.push(f)
      },
    }
    Promise.resolve(fn(req, ws)).catch(() => socket.destroy())
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    lie: (path, fn) => void lies.set(key(path), fn),
    answer: (path, fn) => void answers.set(key(path), fn),
    webSocket: (path, fn) => void sockets.set(key(path), fn),
    upgrades,
    forward: (req, query) => forward(req, `${req.path}${[...(query ?? req.query)].length ? `?${query ?? req.query}` : ''}`),
    clear: () => {
      lies.clear()
      answers.clear()
      sockets.clear()
    },
    close: async () => {
      agent.destroy()
      for (const s of open) s.destroy()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

/** A server's frame header (unmasked, FIN set) for a payload of `length` bytes, as RFC 6455 lays it out. */
export function frameHeader(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length])
  if (length < 65536) {
    const h = Buffer.from([0x80 | opcode, 126, 0, 0])
    h.writeUInt16BE(length, 2)
    return h
  }
  const h = Buffer.alloc(10)
  h[0] = 0x80 | opcode
  h[1] = 127
  h.writeBigUInt64BE(BigInt(length), 2)
  return h
}

/**
 * An upgrade passed through to `target`: the request as it came (its Host made the target's),
 * then bytes both ways until either side closes. `open` holds both sockets while they live.
 */
export function passUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: URL, open: Set<Duplex>): void {
  const up = net.connect(Number(target.port), target.hostname, () => {
    const headers = Object.entries({ ...req.headers, host: target.host }).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]))
    up.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`)
    if (head.length) up.write(head)
    up.pipe(socket)
    socket.pipe(up)
  })
  for (const s of [up, socket]) {
    open.add(s)
    s.on('close', () => {
      open.delete(s)
      up.destroy()
      socket.destroy()
    })
    s.on('error', () => s.destroy())
  }
}
