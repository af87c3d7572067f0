// A fault-injecting server on loopback, in front of a real server (the test-bed PDS, or a
// relay stand-in): each path (or every path) gets a mode, everything else passes through
// unchanged. The modes are what operators meet between pdsctl and their PDS: proxies'
// error and login pages, broken bodies, resets, silence, trickles, redirects, rate limits,
// huge answers, cursors that never end, answers missing the lexicon's fields, self-signed
// TLS. Bounded: every mode ends on its own (timers are capped, repeats are counted), and
// close() ends every connection.
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { startRecorder, type Recorder } from '../helpers/recorder.js'
import { freePort } from './pds.js'

export const FAULT_MODES = [
  'pass',
  'refused',
  'html-502',
  'text-500',
  'json-invalid',
  'html-200',
  'truncated',
  'reset-mid-body',
  'no-answer',
  'slow-headers',
  'slow-body',
  'redirect',
  'html-401',
  'retry-after-short',
  'retry-after-long',
  'oversized',
  'endless-cursor',
  'missing-fields',
  'null-fields',
  'page2-fails',
  'tls-self-signed',
] as const
export type FaultMode = (typeof FAULT_MODES)[number]

/** The longest any mode keeps a connection open on its own (no answer, trickles). */
export const FAULT_MAX_HOLD_MS = 120_000
/** How many times an endless cursor repeats before the server gives up (503). */
export const ENDLESS_CURSOR_LIMIT = 200
/** The cursor an endless listing returns forever. */
export const ENDLESS_CURSOR = 'faults-same-cursor'
/** Size of the oversized answer: above the client's documented 32 MiB cap. */
export const OVERSIZED_BYTES = 34 * 1024 * 1024

export interface FaultRequest {
  method: string
  path: string
  query: URLSearchParams
  /** Whether an Authorization header came (never its value). */
  authorized: boolean
  mode: FaultMode
  /** When it arrived (Date.now()). */
  at: number
}

export interface FaultServer {
  url: string
  port: number
  /** Every request that reached the server, in order. */
  requests: FaultRequest[]
  /** Where `redirect` points: another origin on loopback that records what reaches it. */
  elsewhere: Recorder
  /** The mode for every path without a rule of its own. */
  setMode(mode: FaultMode): void
  /** The mode for one path (`/xrpc/NSID` or just the NSID). */
  setPathMode(path: string, mode: FaultMode): void
  /** Requests to one path (`/xrpc/NSID` or the NSID) so far. */
  hits(path: string): number
  close(): Promise<void>
}

export interface FaultServerOptions {
  /** The real server behind (http://127.0.0.1:PORT). */
  upstream: string
  /** Default mode for every path ('pass'). 'refused' leaves the port closed; 'tls-self-signed' serves https. */
  mode?: FaultMode
  /** Per-path modes. */
  paths?: Record<string, FaultMode>
  /** Retry-After seconds of the short 429 (default 1). */
  shortRetryAfterS?: number
}

// A self-signed certificate for localhost / 127.0.0.1 (P-256, valid to 2126), made once with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
// -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`. No client trusts it.
const SELF_SIGNED_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsAOz872StPCu/ND1
hCUgvqMiB3lDRKP4HdPhaQlS146hRANCAASxwr7xxbxwFqAHK3VaBrdejygg4DHV
2TMUeD99mFS3if6Qy10pqV9coAVnuoGtSL52aISMh+MCTRRRN5a3Kbnr
-----END PRIVATE KEY-----
`
const SELF_SIGNED_CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUbUrRw3AbvskKouwvu+v3dFYwSzUwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyODEyNTcyMVoYDzIxMjYxMTA0
MTI1NzIxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASxwr7xxbxwFqAHK3VaBrdejygg4DHV2TMUeD99mFS3if6Qy10pqV9c
oAVnuoGtSL52aISMh+MCTRRRN5a3Kbnro28wbTAdBgNVHQ4EFgQUnURutYXQbPay
aZTP0L6jMvoqTmAwHwYDVR0jBBgwFoAUnURutYXQbPayaZTP0L6jMvoqTmAwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIhANMtIOjFK3+fhDctNbO5Yy7beQEIx0EaYpHXd1CISuyYAiB6
NVtC4dOHgrwBfYDBRvFD+W80+3w9mee63S9VksZZIg==
-----END CERTIFICATE-----
`

const PROXY_502 = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>
`
const LOGIN_PAGE = `<!DOCTYPE html>
<html><head><title>Sign in ・ Cloudflare Access</title></head>
<body><form action="/cdn-cgi/access/login" method="post"><input name="email"><button>Send me a code</button></form></body></html>
`
const UNAUTHORIZED_PAGE = `<!DOCTYPE html>
<html><head><title>401 Authorization Required</title></head><body><h1>401 Authorization Required</h1><p>nginx</p></body></html>
`

/**
 * The fields each call's answer must carry (from the lexicons), for `missing-fields` and
 * `null-fields`. Paths not listed lose every field (`{}`).
 */
const REQUIRED_FIELDS: Record<string, string[]> = {
  'com.atproto.sync.listRepos': ['repos'],
  'com.atproto.admin.getAccountInfos': ['infos'],
  'com.atproto.admin.getAccountInfo': ['did', 'handle', 'indexedAt'],
  'com.atproto.admin.getInviteCodes': ['codes'],
  'com.atproto.admin.getSubjectStatus': ['subject'],
  'com.atproto.admin.updateSubjectStatus': ['subject', 'takedown', 'deactivated'],
  'com.atproto.admin.sendEmail': ['sent'],
  'com.atproto.server.createAccount': ['did', 'handle', 'accessJwt', 'refreshJwt'],
  'com.atproto.server.createInviteCode': ['code'],
  'com.atproto.server.createInviteCodes': ['codes'],
  'com.atproto.server.describeServer': ['did', 'availableUserDomains'],
  'com.atproto.identity.resolveHandle': ['did'],
  'com.atproto.sync.getRepoStatus': ['did', 'active'],
  'com.atproto.sync.getHostStatus': ['hostname', 'status'],
  'com.atproto.repo.getRecord': ['uri', 'cid', 'value'],
  _health: ['version'],
}

/** Procedures the fault server answers itself in every mode (it never forwards a write it was told to break). */
const BODYLESS_OK = new Set(['com.atproto.admin.deleteAccount', 'com.atproto.admin.updateAccountPassword', 'com.atproto.admin.updateAccountEmail', 'com.atproto.admin.updateAccountHandle', 'com.atproto.admin.enableAccountInvites', 'com.atproto.admin.disableAccountInvites', 'com.atproto.admin.disableInviteCodes', 'com.atproto.sync.requestCrawl'])

function nsidOf(path: string): string {
  return path.replace(/^\/xrpc\//, '').replace(/^\//, '')
}

interface Upstream {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
}

function forward(upstream: string, req: http.IncomingMessage, body: Buffer, pathAndQuery: string): Promise<Upstream> {
  const target = new URL(upstream)
  const headers = { ...req.headers, host: target.host }
  delete headers['content-length']
  delete headers['transfer-encoding']
  delete headers.connection
  if (body.length || req.method === 'POST') headers['content-length'] = String(body.length)
  return new Promise((resolve, reject) => {
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: pathAndQuery, headers, timeout: 60_000 },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    out.on('timeout', () => out.destroy(new Error('upstream timed out')))
    out.on('error', reject)
    out.end(body)
  })
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(buf.length), ...extra })
  res.end(buf)
}

function relay(res: http.ServerResponse, up: Upstream, body?: Buffer): void {
  const headers = { ...up.headers }
  delete headers['transfer-encoding']
  delete headers.connection
  delete headers['keep-alive']
  const buf = body ?? up.body
  headers['content-length'] = String(buf.length)
  res.writeHead(up.status, headers)
  res.end(buf)
}

/** Write bytes one a second to the raw socket; stops when the socket closes or after FAULT_MAX_HOLD_MS. */
function trickle(socket: net.Socket, bytes: Buffer, timers: Set<NodeJS.Timeout>): void {
  let i = 0
  const started = Date.now()
  const tick = () => {
    if (socket.destroyed || i >= bytes.length || Date.now() - started > FAULT_MAX_HOLD_MS) {
      socket.destroy()
      return
    }
    socket.write(bytes.subarray(i, i + 1))
    i++
    const t = setTimeout(() => {
      timers.delete(t)
      tick()
    }, 1000)
    timers.add(t)
  }
  tick()
}

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const requests: FaultRequest[] = []
  const pathModes = new Map<string, FaultMode>()
  for (const [p, m] of Object.entries(opts.paths ?? {})) pathModes.set(nsidOf(p), m)
  let defaultMode: FaultMode = opts.mode ?? 'pass'
  const shortRetry = opts.shortRetryAfterS ?? 1
  const timers = new Set<NodeJS.Timeout>()
  const sockets = new Set<net.Socket>()
  const served429 = new Set<string>()
  const cursorRepeats = new Map<string, number>()
  const elsewhere = await startRecorder((_req, res) => send(res, 200, 'text/html', LOGIN_PAGE))

  const modeFor = (nsid: string): FaultMode => pathModes.get(nsid) ?? defaultMode

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const nsid = nsidOf(url.pathname)
    const mode = modeFor(nsid)
    requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, authorized: Boolean(req.headers.authorization), mode, at: Date.now() })
    const socket = req.socket
    const pass = async (pathAndQuery = url.pathname + url.search) => forward(opts.upstream, req, body, pathAndQuery)
    switch (mode) {
      case 'pass':
      case 'tls-self-signed':
      case 'refused':
        return relay(res, await pass())
      case 'html-502':
        return send(res, 502, 'text/html', PROXY_502)
      case 'text-500':
        return send(res, 500, 'text/plain', 'Internal Server Error')
      case 'json-invalid':
        return send(res, 200, 'application/json; charset=utf-8', '{"did":"did:plc:faults","handle":')
      case 'html-200':
        return send(res, 200, 'text/html; charset=utf-8', LOGIN_PAGE)
      case 'html-401':
        return send(res, 401, 'text/html', UNAUTHORIZED_PAGE, { 'www-authenticate': 'Basic realm="restricted"' })
      case 'redirect':
        res.writeHead(302, { location: `${elsewhere.url}/cdn-cgi/access/login?redirect_url=${encodeURIComponent(url.pathname)}`, 'content-length': '0' })
        return res.end()
      case 'retry-after-short':
      case 'retry-after-long': {
        if (mode === 'retry-after-short' && served429.has(nsid)) return relay(res, await pass())
        served429.add(nsid)
        const after = mode === 'retry-after-short' ? shortRetry : 3600
        const reset = Math.floor(Date.now() / 1000) + after
        return send(res, 429, 'application/json; charset=utf-8', JSON.stringify({ error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }), {
          'retry-after': String(after),
          'ratelimit-limit': '3000',
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(reset),
          'ratelimit-policy': '3000;w=300',
        })
      }
      case 'truncated':
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n{"repos":[{"did":"did:plc:')
        return socket.end()
      case 'reset-mid-body':
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 4096\r\n\r\n{"repos":[{"did":"did:plc:')
        setTimeout(() => socket.resetAndDestroy(), 50)
        return
      case 'no-answer': {
        const t = setTimeout(() => {
          timers.delete(t)
          socket.destroy()
        }, FAULT_MAX_HOLD_MS)
        timers.add(t)
        return
      }
      case 'slow-headers': {
        const head = 'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\nX-Padding: ' + 'x'.repeat(200) + '\r\n\r\n{}'
        return trickle(socket, Buffer.from(head), timers)
      }
      case 'slow-body': {
        const payload = JSON.stringify({ padding: 'x'.repeat(300) })
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${payload.length}\r\n\r\n`)
        return trickle(socket, Buffer.from(payload), timers)
      }
      case 'oversized': {
        // Valid JSON, {"padding":"xxxx…"}, streamed with back-pressure; stops if the client goes.
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(OVERSIZED_BYTES) })
        const head = Buffer.from('{"padding":"')
        const tail = Buffer.from('"}')
        const chunk = Buffer.alloc(64 * 1024, 'x')
        let left = OVERSIZED_BYTES - head.length - tail.length
        res.write(head)
        const pump = () => {
          while (left > 0 && !res.destroyed) {
            const n = Math.min(left, chunk.length)
            left -= n
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once('drain', pump)
          }
          if (!res.destroyed) res.end(tail)
        }
        return pump()
      }
      case 'endless-cursor': {
        const n = (cursorRepeats.get(nsid) ?? 0) + 1
        cursorRepeats.set(nsid, n)
        if (n > ENDLESS_CURSOR_LIMIT) return send(res, 503, 'text/plain', `fault server: the same cursor was followed ${ENDLESS_CURSOR_LIMIT} times`)
        const q = new URLSearchParams(url.search)
        q.delete('cursor')
        const up = await pass(`${url.pathname}?${q}`)
        if (up.status !== 200) return relay(res, up)
        const parsed = JSON.parse(up.body.toString('utf8')) as Record<string, unknown>
        parsed.cursor = ENDLESS_CURSOR
        return relay(res, up, Buffer.from(JSON.stringify(parsed)))
      }
      case 'page2-fails': {
        if (url.searchParams.get('cursor')) return send(res, 502, 'text/html', PROXY_502)
        const up = await pass()
        if (up.status !== 200) return relay(res, up)
        const parsed = JSON.parse(up.body.toString('utf8')) as Record<string, unknown>
        // Make sure there is a page 2 to ask for, however few rows the PDS has.
        parsed.cursor ??= 'faults-page-2'
        return relay(res, up, Buffer.from(JSON.stringify(parsed)))
      }
      case 'missing-fields':
      case 'null-fields': {
        // Writes are not forwarded: the PDS must stay untouched, so "it claimed what did not happen" is visible.
        let parsed: Record<string, unknown> = {}
        if (req.method === 'GET') {
          const up = await pass()
          if (up.status !== 200) return relay(res, up)
          try {
            parsed = JSON.parse(up.body.toString('utf8')) as Record<string, unknown>
          } catch {
            parsed = {}
          }
        }
        const fields = REQUIRED_FIELDS[nsid] ?? Object.keys(parsed)
        for (const f of fields) {
          if (mode === 'missing-fields') delete parsed[f]
          else parsed[f] = null
        }
        if (req.method === 'POST' && BODYLESS_OK.has(nsid) && mode === 'missing-fields') {
          // These answer with no body when they succeed: the fault here is a JSON answer that is not theirs.
          return send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ unexpected: null }))
        }
        return send(res, 200, 'application/json; charset=utf-8', JSON.stringify(parsed))
      }
    }
  }

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > 4 * 1024 * 1024) req.destroy()
      else chunks.push(c)
    })
    req.on('end', () => {
      handler(req, res, Buffer.concat(chunks)).catch((err: Error) => {
        if (!res.headersSent && !res.destroyed) send(res, 599, 'text/plain', `fault server: ${err.message}`)
        else res.destroy()
      })
    })
  }

  const tls = defaultMode === 'tls-self-signed'
  const server = tls ? https.createServer({ key: SELF_SIGNED_KEY, cert: SELF_SIGNED_CERT }, onRequest) : http.createServer(onRequest)
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.on('secureConnection', (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  // WebSocket upgrades (subscribeRepos, which the doctor opens) pass through as raw bytes.
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, authorized: Boolean(req.headers.authorization), mode: modeFor(nsidOf(url.pathname)), at: Date.now() })
    const target = new URL(opts.upstream)
    const up = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i].toLowerCase() === 'host' ? target.host : req.rawHeaders[i + 1]}`)
      }
      up.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length) up.write(head)
      socket.pipe(up).pipe(socket)
    })
    sockets.add(up)
    up.on('close', () => {
      sockets.delete(up)
      socket.destroy()
    })
    up.on('error', () => socket.destroy())
    socket.on('error', () => up.destroy())
    socket.on('close', () => up.destroy())
  })
  server.on('tlsClientError', () => {})
  server.on('clientError', (_err, socket) => socket.destroy())
  let port: number
  let listening = false
  if (defaultMode === 'refused') {
    // Nothing listens on this port: the client's connect is refused.
    port = await freePort()
  } else {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    listening = true
    port = (server.address() as net.AddressInfo).port
  }
  const hitsOf = (p: string) => requests.filter((r) => nsidOf(r.path) === nsidOf(p)).length
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    elsewhere,
    setMode: (m) => {
      defaultMode = m
    },
    setPathMode: (p, m) => {
      pathModes.set(nsidOf(p), m)
    },
    hits: hitsOf,
    close: async () => {
      for (const t of timers) clearTimeout(t)
      timers.clear()
      for (const s of sockets) s.destroy()
      await elsewhere.close()
      if (listening) {
        server.closeAllConnections()
        await new Promise<void>((r) => server.close(() => r()))
      }
    },
  }
}
