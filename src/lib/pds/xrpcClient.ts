// The one HTTP client pdsctl talks to a PDS with: undici (keep-alive, timeouts) under a
// small typed XRPC layer. Rules it keeps for every call:
// - procedures go with Content-Type: application/json; one without input goes with an
//   empty body and Content-Length: 0 (the PDS rejects `{}` there, Cloudflare answers 403
//   to a POST with no Content-Type);
// - credentials go only to the PDS's own origin, never to any other host;
// - safe reads are retried on a dropped connection or a 502/503/504, after asking the
//   target to recover (a kubectl port-forward that died is restarted);
// - nothing secret is ever logged: debug lines carry method, path, status and timing only.
import { Agent, requestVia, type UndiciAgent } from './http.js'
import {
  AuthError,
  ExitCode,
  KubeError,
  NetworkError,
  PdsctlError,
  XrpcError,
  type ExitCodeValue,
} from '../errors.js'
import type { Procedures, Queries } from './lexicon.js'
import type { Target } from './target.js'
import type { Readable } from 'node:stream' // [backup] stream()

export type Auth = 'none' | 'admin' | { bearer: string }

export interface ClientOptions {
  target: Target
  /** Resolved lazily: commands that need no admin auth never ask for the password. */
  adminPassword?: () => Promise<string>
  /** Per-request timeout for headers and body, in ms (default 30 s). */
  timeoutMs?: number
  debug?: (line: string) => void
  userAgent?: string
  /** Retries for safe reads (default 2). */
  readRetries?: number
  /** What the server is, for messages ("the PDS", "the relay"). */
  role?: string
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
  /** Round-trip time of the request in ms. */
  ms: number
}

export interface RawRequest {
  method: 'GET' | 'POST'
  /** Path under the PDS origin, e.g. /xrpc/_health or /xrpc/com.atproto.sync.listRepos */
  path: string
  query?: Record<string, string | number | boolean | string[] | undefined>
  /** JSON-serialisable input for a procedure; undefined sends an empty body. */
  body?: unknown
  /** Raw bytes for a procedure body (escape hatch); sent with the given content type. */
  rawBody?: Buffer
  contentType?: string
  auth?: Auth
  /** The name used in error messages (an NSID). */
  name?: string
  /** Treat as idempotent even though it is a POST (never used for writes). */
  idempotent?: boolean
}

const RETRY_DELAYS_MS = [200, 600, 1500]
const RETRYABLE_STATUS = new Set([502, 503, 504])
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'])

export class PdsClient {
  readonly target: Target
  private readonly dispatcher: UndiciAgent
  private readonly opts: ClientOptions
  private adminAuthHeader?: Promise<string>

  constructor(opts: ClientOptions) {
    this.opts = opts
    this.target = opts.target
    const timeout = opts.timeoutMs ?? 30_000
    this.dispatcher = new Agent({
      keepAliveTimeout: 10_000,
      connections: 8,
      connect: { timeout: Math.min(timeout, 10_000) },
      headersTimeout: timeout,
      bodyTimeout: timeout,
    })
  }

  get url(): string {
    return this.target.url
  }

  async query<N extends keyof Queries>(nsid: N, params: Queries[N]['params'], auth: Auth = 'none'): Promise<Queries[N]['output']> {
    const res = await this.call({ method: 'GET', path: `/xrpc/${nsid}`, query: params as RawRequest['query'], auth, name: nsid })
    return res.body as Queries[N]['output']
  }

  async procedure<N extends keyof Procedures>(nsid: N, input: Procedures[N]['input'], auth: Auth = 'none'): Promise<Procedures[N]['output']> {
    const res = await this.call({ method: 'POST', path: `/xrpc/${nsid}`, body: input, auth, name: nsid })
    return res.body as Procedures[N]['output']
  }

  /** One request with the error mapping and retry policy; returns the parsed body. */
  async call(req: RawRequest): Promise<RawResponse> {
    const res = await this.send(req)
    if (res.status >= 400) throw this.toError(req, res)
    return res
  }

  /** One request with the retry policy but no error mapping for HTTP statuses (health checks want the status). */
  async send(req: RawRequest): Promise<RawResponse> {
    const safe = req.method === 'GET' || req.idempotent === true
    const maxRetries = safe ? (this.opts.readRetries ?? 2) : 1
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.sendOnce(req)
        if (safe && RETRYABLE_STATUS.has(res.status) && attempt < maxRetries) {
          this.debug(`retrying ${req.name ?? req.path} after HTTP ${res.status}`)
          await this.target.recover?.()
          await sleep(RETRY_DELAYS_MS[attempt])
          continue
        }
        return res
      } catch (err) {
        const code = errorCode(err)
        if (attempt >= maxRetries || !code || !CONNECT_CODES.has(code)) throw await this.networkError(req, err)
        // Only a read may be retried after the request could have reached the server;
        // a write is retried only when the connection was refused (it never arrived).
        if (!safe && code !== 'ECONNREFUSED') throw await this.networkError(req, err)
        const recovered = (await this.target.recover?.()) ?? false
        if (code === 'ECONNREFUSED' && !recovered) throw await this.networkError(req, err)
        this.debug(`retrying ${req.name ?? req.path} after ${code}${recovered ? ' (target re-established)' : ''}`)
        await sleep(RETRY_DELAYS_MS[attempt])
      }
    }
  }

  private async sendOnce(req: RawRequest): Promise<RawResponse> {
    const base = this.target.url
    const url = new URL(req.path, base)
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v === undefined) continue
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item)
      else url.searchParams.set(k, String(v))
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.opts.userAgent ?? 'pdsctl',
    }
    let body: string | Buffer | undefined
    if (req.method === 'POST') {
      headers['content-type'] = req.contentType ?? 'application/json'
      body = req.rawBody ?? (req.body === undefined ? '' : JSON.stringify(req.body))
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    const authHeader = await this.authHeader(req.auth ?? 'none')
    // Credentials only ever go to the PDS's own origin.
    if (authHeader && url.origin === new URL(base).origin) headers.authorization = authHeader
    this.addPdsOnlyHeaders(url, headers) // [backup] x-ratelimit-bypass, PDS origin only

    const started = performance.now()
    this.debug(`→ ${req.method} ${url.pathname}${url.search}`)
    const res = await requestVia.call(this.dispatcher, {
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method,
      headers,
      body,
    })
    const text = await res.body.text()
    const ms = Math.round(performance.now() - started)
    this.debug(`← ${res.statusCode} ${url.pathname} (${ms} ms)`)
    let parsed: unknown = text
    const ctype = String(res.headers['content-type'] ?? '')
    if (ctype.includes('json') && text.length > 0) {
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = text
      }
    } else if (text.length === 0) {
      parsed = undefined
    }
    return { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: parsed, ms }
  }

  private async authHeader(auth: Auth): Promise<string | undefined> {
    if (auth === 'none') return undefined
    if (auth === 'admin') {
      if (!this.opts.adminPassword) throw new PdsctlError('internal: this command needs the admin password but none was configured')
      this.adminAuthHeader ??= this.opts.adminPassword().then(
        (pw) => 'Basic ' + Buffer.from(`admin:${pw}`, 'utf8').toString('base64'),
      )
      return this.adminAuthHeader
    }
    return `Bearer ${auth.bearer}`
  }

  private toError(req: RawRequest, res: RawResponse): PdsctlError {
    const name = req.name ?? req.path
    const body = res.body as { error?: unknown; message?: unknown } | string | undefined
    const isXrpc = typeof body === 'object' && body !== null && typeof body.error === 'string'
    if (!isXrpc) {
      return new XrpcError(name, res.status, undefined, undefined, {
        summary: `${name}: HTTP ${res.status} from ${hostOf(this.url)} without an XRPC error body`,
        hint:
          res.status >= 500
            ? 'A proxy or tunnel in front of the PDS may be failing; check that the PDS is running, or reach it directly (--kube-* port-forward)'
            : 'Is --url really a PDS?',
      })
    }
    const xname = body.error as string
    const xmsg = typeof body.message === 'string' ? body.message : undefined
    if (res.status === 401 || res.status === 403) {
      if (req.auth === 'admin') {
        return new AuthError(`the PDS rejected the admin password (${xname}${xmsg ? `: ${xmsg}` : ''})`, {
          hint: 'Check PDS_ADMIN_PASSWORD, --env-file, --admin-password-stdin or --kube-secret',
        })
      }
      return new XrpcError(name, res.status, xname, xmsg, { exitCode: ExitCode.AUTH })
    }
    let exitCode: ExitCodeValue = ExitCode.SERVER
    if (/NotFound$/.test(xname) || /^(account|repo|record|blob|invite code)s? not found/i.test(xmsg ?? '')) {
      exitCode = ExitCode.NOT_FOUND
    }
    let hint: string | undefined
    if (xname === 'MethodNotImplemented' || (res.status === 404 && xname === 'XRPCNotSupported')) {
      hint = 'This PDS version does not offer that call'
    }
    return new XrpcError(name, res.status, xname, xmsg, { exitCode, hint })
  }

  private async networkError(req: RawRequest, err: unknown): Promise<PdsctlError> {
    if (err instanceof PdsctlError) return err
    const code = errorCode(err)
    const dropped = await this.target.whyDropped?.()
    if (dropped) {
      return new KubeError(`the port-forward to ${this.target.description} dropped: ${dropped}`, {
        hint: 'Check the pod (`kubectl get pods`, `kubectl logs`) and try again',
        cause: err,
      })
    }
    const where = this.target.description
    const name = req.name ?? req.path
    switch (code) {
      case 'ECONNREFUSED':
        return new NetworkError(`cannot connect to ${this.opts.role ?? 'the PDS'} at ${where} (connection refused)`, {
          hint: this.opts.role ? 'Is it running, and is the URL right?' : 'Is it running, and is --url / PDS_URL right?',
          cause: err,
        })
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new NetworkError(`cannot resolve the host ${hostOf(this.url)} of ${this.opts.role ?? 'the PDS'} (${code})`, {
          hint: 'Check the hostname in --url / PDS_URL / PDS_HOSTNAME',
          cause: err,
        })
      case 'UND_ERR_CONNECT_TIMEOUT':
        return new NetworkError(`timed out connecting to ${this.opts.role ?? 'the PDS'} at ${where}`, { hint: 'Check the address and any firewall', cause: err })
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return new NetworkError(`${name}: ${this.opts.role ?? 'the PDS'} at ${where} did not answer in time`, {
          hint: 'Try again, or raise --timeout',
          cause: err,
        })
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
      case 'EPIPE':
        return new NetworkError(`${name}: the connection to ${where} was reset`, {
          hint: 'A proxy or the port-forward may have dropped it; try again',
          cause: err,
        })
    }
    if (code && /CERT|SELF_SIGNED|TLS|SSL/i.test(code)) {
      return new NetworkError(`TLS certificate of ${hostOf(this.url)} is not trusted (${code})`, {
        hint: 'pdsctl always verifies TLS; fix the certificate, or set NODE_EXTRA_CA_CERTS to your CA bundle',
        cause: err,
      })
    }
    const msg = err instanceof Error ? err.message : String(err)
    return new NetworkError(`${name}: request to ${where} failed (${code ?? msg})`, { cause: err })
  }

  private debug(line: string): void {
    this.opts.debug?.(line)
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => {})
  }

  // ---- [backup] additions (branch backup): streaming bodies and the rate-limit bypass ----
  // Kept in one block so the lead can reconcile them with the request-path rewrite.
  private rateLimitBypassKey?: string

  /** Send `x-ratelimit-bypass` with every request to the PDS's own origin (never elsewhere, never logged). */
  setRateLimitBypassKey(key: string | undefined): void {
    this.rateLimitBypassKey = key && key.length > 0 ? key : undefined
  }

  private addPdsOnlyHeaders(url: URL, headers: Record<string, string>): void {
    if (this.rateLimitBypassKey && url.origin === new URL(this.target.url).origin) headers['x-ratelimit-bypass'] = this.rateLimitBypassKey
  }

  /** The typed error for a non-2xx answer got through `send()` (same mapping as `call()`). */
  errorFor(req: RawRequest, res: RawResponse): PdsctlError {
    return this.toError(req, res)
  }

  /**
   * One request whose 2xx body is handed over as a stream (CARs, blobs): the caller must
   * consume or destroy it. Same auth, origin rule and error mapping as `call()`; a non-2xx
   * answer is read (it is a small XRPC error) and thrown, with `retryAfterMs` set from
   * Retry-After on a 429/503. No retries here: the caller decides.
   */
  async stream(
    req: RawRequest,
    opts: { body?: Readable | Buffer; contentLength?: number; signal?: AbortSignal } = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Readable }> {
    const base = this.target.url
    const url = new URL(req.path, base)
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v === undefined) continue
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item)
      else url.searchParams.set(k, String(v))
    }
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': this.opts.userAgent ?? 'pdsctl' }
    if (req.method === 'POST') {
      headers['content-type'] = req.contentType ?? 'application/octet-stream'
      if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length)
      else if (opts.body && opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength)
      else if (!opts.body) headers['content-length'] = '0'
    }
    const authHeader = await this.authHeader(req.auth ?? 'none')
    if (authHeader && url.origin === new URL(base).origin) headers.authorization = authHeader
    this.addPdsOnlyHeaders(url, headers)
    const started = performance.now()
    this.debug(`→ ${req.method} ${url.pathname}${url.search} (streamed)`)
    let res
    try {
      res = await requestVia.call(this.dispatcher, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method,
        headers,
        body: req.method === 'POST' ? (opts.body ?? '') : undefined,
        signal: opts.signal,
      })
    } catch (err) {
      throw await this.networkError(req, err)
    }
    this.debug(`← ${res.statusCode} ${url.pathname} (${Math.round(performance.now() - started)} ms to headers)`)
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: res.body as unknown as Readable }
    }
    const text = await res.body.text().catch(() => '')
    let parsed: unknown = text.length ? text : undefined
    try {
      if (String(res.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text)
    } catch {
      /* keep the text */
    }
    const err = this.toError(req, { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: parsed, ms: 0 })
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'])
    if (retryAfterMs !== undefined && (res.statusCode === 429 || res.statusCode === 503)) Object.assign(err, { retryAfterMs })
    throw err
  }
  // ---- end [backup] additions ----
}

/** [backup] Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const s = Array.isArray(v) ? v[0] : v
  if (!s) return undefined
  if (/^\d+$/.test(s.trim())) return Number(s.trim()) * 1000
  const t = Date.parse(s)
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now())
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let i = 0; i < 4 && e; i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

