// A lying server on loopback, in front of a real one (the test-bed PDS, a relay stand-in):
// every request passes through unchanged, except those a test lies about. A lie sees the
// real answer (status, headers, body, and the parsed JSON when it was JSON) and the request
// (headers included, so a lie may echo the Authorization header back, as a hostile server
// would), and returns what to answer instead. `answer` lies without asking the real server.
// The hostile-data suite (issue 17) uses it for what a real PDS will not say on demand:
// DIDs, revs and CIDs with `/` and `..`, escape sequences in every string, 3 MB fields.
import http from 'node:http'

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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    lie: (path, fn) => void lies.set(key(path), fn),
    answer: (path, fn) => void answers.set(key(path), fn),
    forward: (req, query) => forward(req, `${req.path}${[...(query ?? req.query)].length ? `?${query ?? req.query}` : ''}`),
    clear: () => {
      lies.clear()
      answers.clear()
    },
    close: async () => {
      agent.destroy()
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
