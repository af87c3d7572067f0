// A relay stand-in on loopback. Relays cannot run here, so this speaks the lexicons pdsctl
// uses exactly as a relay serves them:
//   GET  com.atproto.sync.getHostStatus {hostname} → {hostname, seq, accountCount, status} | 400 HostNotFound
//   GET  com.atproto.sync.getRepoStatus {did}      → {did, active, status?, rev?}          | 400 RepoNotFound
//   GET  com.atproto.sync.listHosts {limit?, cursor?} → {cursor?, hosts: [{hostname, seq, accountCount, status}]}
//   POST com.atproto.sync.requestCrawl {hostname}  → 200 (empty) | 400 HostBanned | failures the test asks for
// Its state is set by the test (`relay.hosts`, `relay.repos`, `relay.crawl`, `relay.repoStatus`).
// It records every request and flags any credential it is sent (an Authorization/Cookie header,
// or any of `secrets` anywhere in the request): `relay.credentialLeaks` must stay empty.
import { json, startRecorder, type Recorder, type RecordedRequest } from '../helpers/recorder.js'

export interface HostState {
  status: 'active' | 'idle' | 'offline' | 'throttled' | 'banned'
  accountCount: number
  seq?: number
}

export interface RepoState {
  active: boolean
  status?: string
  /** As given (a test may give one that is not a TID); sent only when active, as relays do. */
  rev?: string
}

export interface CrawlBehaviour {
  /** Answer this many more requestCrawls with a failure before accepting (counts down). */
  failTimes?: number
  /** How to fail: a 503 from a proxy, an XRPC 500, or 429 with Retry-After (seconds). */
  failWith?: 'proxy-503' | 'xrpc-500' | '429'
  retryAfterS?: number
}

/** How getRepoStatus misbehaves, as the test asks (checked before `repos`). */
export interface RepoStatusBehaviour {
  /** Answer this many more getRepoStatus requests with 429 and `Retry-After: retryAfterS` (counts down; Infinity: always). */
  rateLimitTimes?: number
  retryAfterS?: number
  /** Answer every getRepoStatus this way: an XRPC 500, or a proxy's 503 page. */
  failWith?: 'xrpc-500' | 'proxy-503'
  /** Hold each answer this long (so that requests in flight overlap and `maxInFlight` shows the client's concurrency). */
  delayMs?: number
}

export interface RelayStandIn extends Recorder {
  hosts: Record<string, HostState>
  repos: Record<string, RepoState>
  crawl: CrawlBehaviour
  repoStatus: RepoStatusBehaviour
  /** Times (ms since epoch) each getRepoStatus arrived, and what it was answered. */
  repoStatusLog: Array<{ at: number; did: string; status: number }>
  /** The most getRepoStatus requests that were being answered at once. */
  readonly maxInFlight: number
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
  const repoStatus: RepoStatusBehaviour = {}
  const repoStatusLog: RelayStandIn['repoStatusLog'] = []
  let inFlight = 0
  let maxInFlight = 0
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

  const rec = await startRecorder(async (req, res) => {
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
      const at = Date.now()
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      res.once('close', () => inFlight--)
      if (repoStatus.delayMs) await new Promise((r) => setTimeout(r, repoStatus.delayMs))
      const answer = (status: number, body: unknown) => {
        repoStatusLog.push({ at, did: did ?? '', status })
        json(res, status, body)
      }
      if (!did) return answer(400, { error: 'InvalidRequest', message: 'Error: Params must have the property "did"' })
      if ((repoStatus.rateLimitTimes ?? 0) > 0) {
        repoStatus.rateLimitTimes!--
        repoStatusLog.push({ at, did, status: 429 })
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(repoStatus.retryAfterS ?? 1) })
        return res.end(JSON.stringify({ error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }))
      }
      if (repoStatus.failWith === 'xrpc-500') return answer(500, { error: 'InternalServerError', message: 'Internal Server Error' })
      if (repoStatus.failWith === 'proxy-503') {
        repoStatusLog.push({ at, did, status: 503 })
        res.writeHead(503, { 'content-type': 'text/html' })
        return res.end('<html><body>503 Service Temporarily Unavailable</body></html>')
      }
      const r = repos[did]
      if (!r) return answer(400, { error: 'RepoNotFound', message: `account not found: ${did}` })
      return answer(200, { did, active: r.active, ...(r.status ? { status: r.status } : {}), ...(r.active && r.rev ? { rev: r.rev } : {}) })
    }
    if (url.pathname === '/xrpc/com.atproto.sync.listHosts' && req.method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 200)
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return json(res, 400, { error: 'InvalidRequest', message: 'limit must be an integer from 1 to 1000' })
      const names = Object.keys(hosts).sort()
      const after = url.searchParams.get('cursor')
      const from = after ? names.findIndex((n) => n > after) : 0
      const page = from < 0 ? [] : names.slice(from, from + limit)
      const more = from >= 0 && from + limit < names.length
      return json(res, 200, {
        ...(more ? { cursor: page.at(-1) } : {}),
        hosts: page.map((hostname) => ({ hostname, seq: hosts[hostname].seq ?? 0, accountCount: hosts[hostname].accountCount, status: hosts[hostname].status })),
      })
    }
    json(res, 404, { error: 'MethodNotImplemented', message: 'Method Not Implemented' })
  })
  const standIn = Object.assign(rec, { hosts, repos, crawl, repoStatus, repoStatusLog, crawlTimes, crawled, credentialLeaks })
  return Object.defineProperty(standIn, 'maxInFlight', { get: () => maxInFlight, enumerable: true }) as RelayStandIn
}
