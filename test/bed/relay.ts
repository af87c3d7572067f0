// A relay stand-in on loopback. Relays cannot run here, so this speaks the three lexicons
// pdsctl uses exactly as a relay serves them:
//   GET  com.atproto.sync.getHostStatus {hostname} → {hostname, seq, accountCount, status} | 400 HostNotFound
//   GET  com.atproto.sync.getRepoStatus {did}      → {did, active, status?, rev?}          | 400 RepoNotFound
//   POST com.atproto.sync.requestCrawl {hostname}  → 200 (empty) | 400 HostBanned | failures the test asks for
// Its state is set by the test (`relay.hosts`, `relay.repos`, `relay.crawl`). It records every
// request and flags any credential it is sent (an Authorization/Cookie header, or any of
// `secrets` anywhere in the request): `relay.credentialLeaks` must stay empty.
import { json, startRecorder, type Recorder, type RecordedRequest } from '../helpers/recorder.js'

export interface HostState {
  status: 'active' | 'idle' | 'offline' | 'throttled' | 'banned'
  accountCount: number
  seq?: number
}

export interface RepoState {
  active: boolean
  status?: string
  rev?: string
}

export interface CrawlBehaviour {
  /** Answer this many more requestCrawls with a failure before accepting (counts down). */
  failTimes?: number
  /** How to fail: a 503 from a proxy, an XRPC 500, or 429 with Retry-After (seconds). */
  failWith?: 'proxy-503' | 'xrpc-500' | '429'
  retryAfterS?: number
}

export interface RelayStandIn extends Recorder {
  hosts: Record<string, HostState>
  repos: Record<string, RepoState>
  crawl: CrawlBehaviour
  /** Times (ms since epoch) of each requestCrawl received. */
  crawlTimes: number[]
  /** Hostnames accepted by requestCrawl, in order. */
  crawled: string[]
  credentialLeaks: string[]
}

export async function startRelay(
  opts: {
    knownHosts?: Record<string, HostState>
    repos?: Record<string, RepoState>
    secrets?: string[]
    /** Like a real relay after a successful requestCrawl: an unknown or idle/offline host becomes active. */
    followOnCrawl?: boolean
  } = {},
): Promise<RelayStandIn> {
  const hosts: Record<string, HostState> = { ...(opts.knownHosts ?? {}) }
  const repos: Record<string, RepoState> = { ...(opts.repos ?? {}) }
  const crawl: CrawlBehaviour = {}
  const crawlTimes: number[] = []
  const crawled: string[] = []
  const credentialLeaks: string[] = []

  const inspect = (req: RecordedRequest) => {
    for (const h of ['authorization', 'cookie', 'proxy-authorization', 'x-ratelimit-bypass']) {
      if (req.headers[h] !== undefined) credentialLeaks.push(`${req.method} ${req.url}: ${h} header`)
    }
    const all = req.url + '\n' + JSON.stringify(req.headers) + '\n' + req.body
    for (const s of opts.secrets ?? []) if (s && all.includes(s)) credentialLeaks.push(`${req.method} ${req.url}: contains a secret`)
  }

  const rec = await startRecorder((req, res) => {
    inspect(req)
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/xrpc/com.atproto.sync.requestCrawl') {
      if (req.method !== 'POST') return json(res, 405, { error: 'InvalidRequest', message: 'Method Not Allowed' })
      crawlTimes.push(Date.now())
      let body: { hostname?: unknown }
      try {
        body = JSON.parse(req.body) as { hostname?: unknown }
      } catch {
        return json(res, 400, { error: 'InvalidRequest', message: 'Request body is not valid JSON' })
      }
      if (typeof body.hostname !== 'string' || !body.hostname) return json(res, 400, { error: 'InvalidRequest', message: 'Input must have the property "hostname"' })
      if (hosts[body.hostname]?.status === 'banned') return json(res, 400, { error: 'HostBanned', message: `host is banned: ${body.hostname}` })
      if ((crawl.failTimes ?? 0) > 0) {
        crawl.failTimes!--
        if (crawl.failWith === '429') {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(crawl.retryAfterS ?? 1) })
          return res.end(JSON.stringify({ error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }))
        }
        if (crawl.failWith === 'xrpc-500') return json(res, 500, { error: 'InternalServerError', message: 'Internal Server Error' })
        res.writeHead(503, { 'content-type': 'text/html' })
        return res.end('<html><body>503 Service Temporarily Unavailable</body></html>')
      }
      crawled.push(body.hostname)
      if (opts.followOnCrawl) {
        const h = hosts[body.hostname]
        if (!h || h.status === 'idle' || h.status === 'offline') hosts[body.hostname] = { status: 'active', accountCount: h?.accountCount ?? 0, seq: h?.seq ?? 0 }
      }
      res.writeHead(200).end()
      return
    }
    if (url.pathname === '/xrpc/com.atproto.sync.getHostStatus' && req.method === 'GET') {
      const hostname = url.searchParams.get('hostname')
      if (!hostname) return json(res, 400, { error: 'InvalidRequest', message: 'Error: Params must have the property "hostname"' })
      const h = hosts[hostname]
      if (!h) return json(res, 400, { error: 'HostNotFound', message: 'host not found' })
      return json(res, 200, { hostname, seq: h.seq ?? 0, accountCount: h.accountCount, status: h.status })
    }
    if (url.pathname === '/xrpc/com.atproto.sync.getRepoStatus' && req.method === 'GET') {
      const did = url.searchParams.get('did')
      if (!did) return json(res, 400, { error: 'InvalidRequest', message: 'Error: Params must have the property "did"' })
      const r = repos[did]
      if (!r) return json(res, 400, { error: 'RepoNotFound', message: `account not found: ${did}` })
      return json(res, 200, { did, active: r.active, ...(r.status ? { status: r.status } : {}), ...(r.active && r.rev ? { rev: r.rev } : {}) })
    }
    json(res, 404, { error: 'MethodNotImplemented', message: 'Method Not Implemented' })
  })
  return Object.assign(rec, { hosts, repos, crawl, crawlTimes, crawled, credentialLeaks })
}
