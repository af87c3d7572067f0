// The one HTTP client pdsctl talks to a PDS with: node:http (http.ts: keep-alive, timeouts) under a
// small typed XRPC layer. Rules it keeps for every call:
// - procedures go with Content-Type: application/json; one without input goes with an
//   empty body and Content-Length: 0 (the PDS rejects `{}` there, Cloudflare answers 403
//   to a POST with no Content-Type);
// - credentials go only to the PDS's own origin, never to any other host;
// - safe reads are retried on a dropped connection or a 502/503/504, after asking the
//   target to recover (a kubectl port-forward that died is restarted);
// - nothing secret is ever logged: debug lines carry method, path, status and timing only;
// - ONE response contract: success is a 2xx whose body is JSON with the fields pdsctl
//   reads (responseShapes.ts); a 3xx is never followed; anything else (a login page, a
//   proxy's stub, invalid JSON, a body over the size cap) is a typed error naming the call,
//   the status, the content type and the first bytes;
// - every request has a deadline from start to last byte (--timeout) and is aborted at
//   once when the command is interrupted (the `signal`);
// - TLS is verified whatever NODE_TLS_REJECT_UNAUTHORIZED says.
import { HttpTransport, ProxyError, readText, type BufferedResponse } from './http.js'
import {
  AuthError,
  BadResponseError,
  ExitCode,
  InterruptedError,
  KubeError,
  NetworkError,
  PdsctlError,
  XrpcError,
  type ExitCodeValue,
} from '../errors.js'
import type { Procedures, Queries } from './lexicon.js'
import { REQUIRED_OUTPUT_FIELDS, missingField } from './responseShapes.js'
import { redact, redactDeep, registerBasicAuth, registerSecret, snippet } from '../redaction.js'
import type { Target } from './target.js'
import type { Readable } from 'node:stream' // [backup] stream()

export type Auth = 'none' | 'admin' | { bearer: string }

export interface ClientOptions {
  target: Target
  /** Resolved lazily: commands that need no admin auth never ask for the password. */
  adminPassword?: () => Promise<string>
  /** Deadline of each request, from start to last byte, in ms (default 30 s). */
  timeoutMs?: number
  /** Aborts every request in flight, and every later one (SIGINT/SIGTERM). */
  signal?: AbortSignal
  /** Largest answer accepted, in bytes (default 32 MiB). */
  maxResponseBytes?: number
  debug?: (line: string) => void
  userAgent?: string
  /** Retries for safe reads (default 2). */
  readRetries?: number
  /** What the server is, for messages ("the PDS", "the relay"). */
  role?: string
  /** With `role`: where its URL comes from, for the fix of a refused or unresolved host ("--plc-url / PDS_DID_PLC_URL"). */
  urlFrom?: string
  /** Called once, when the first answer has arrived: work that should not delay the first request. */
  onFirstAnswer?: () => void
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The parsed JSON when the answer was JSON; else the text (or undefined when empty). */
  body: unknown
  /** True when `body` is parsed JSON. */
  json: boolean
  contentType: string
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
  /** Fields the 2xx JSON answer must have (default: REQUIRED_OUTPUT_FIELDS[name]). */
  requires?: string[]
  /** A 2xx answer may be empty (procedures without output). Default: only for POSTs. */
  emptyOk?: boolean
  /** A 2xx answer may be any non-HTML content (`pdsctl xrpc`: CARs, blobs, text). */
  anyBody?: boolean
  /** [identity] The Host header, when not the target's (the PDS's /.well-known/atproto-did for a handle). */
  host?: string
  /**
   * [identity] A 2xx answer that is neither a page nor JSON is handed over as its bytes (body:
   * a Buffer): a small binary answer (getBlocks' CAR of one commit) read whole like any other,
   * without a stream per request.
   */
  binary?: boolean
  /** [identity] The largest answer accepted for this request, in bytes (default: the client's cap). */
  maxBytes?: number
  /**
   * A 429 is returned as it came instead of being waited out here: for a caller that paces
   * many requests to one server itself (`relay accounts` pauses all of a relay's requests).
   */
  noRateLimitWait?: boolean
}

const RETRY_DELAYS_MS = [200, 600, 1500]
/** A read answered 429 is retried when the server asks for at most this long. */
const MAX_RATE_LIMIT_WAIT_MS = 10_000
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
const RETRYABLE_STATUS = new Set([502, 503, 504])
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'RESPONSE_CUT_OFF'])

export class PdsClient {
  readonly target: Target
  private readonly transport: HttpTransport
  /** Each request's deadline from start to last byte (--timeout), in ms. */
  private readonly deadlineMs: number
  private readonly opts: ClientOptions
  private adminAuthHeader?: Promise<string>
  private onFirstAnswer?: () => void

  constructor(opts: ClientOptions) {
    this.opts = opts
    this.target = opts.target
    this.onFirstAnswer = opts.onFirstAnswer
    // setTimeout's limit (~24.8 days) is far beyond any deadline worth keeping.
    this.deadlineMs = Math.min(opts.timeoutMs ?? 30_000, 2 ** 31 - 1)
    // TLS is always verified (http.ts passes rejectUnauthorized itself).
    this.transport = new HttpTransport({ connections: 8, connectTimeoutMs: Math.min(this.deadlineMs, 10_000), idleTimeoutMs: this.deadlineMs })
  }

  /**
   * A secret this client's errors must never show (an account password, a mailed token, a
   * session token held for later): registered process-wide (src/lib/redaction.ts), redacted
   * like the admin password wherever pdsctl prints.
   */
  addSecret(secret: string | undefined): void {
    registerSecret(secret)
  }

  private firstAnswer(): void {
    const fn = this.onFirstAnswer
    if (!fn) return
    this.onFirstAnswer = undefined
    fn()
  }

  get url(): string {
    return this.target.url
  }

  query<N extends keyof Queries>(nsid: N, params: Queries[N]['params'], auth: Auth = 'none'): Promise<Queries[N]['output']> {
    return this.attempts({ method: 'GET', path: `/xrpc/${nsid}`, query: params as RawRequest['query'], auth, name: nsid }, true).then(bodyOf) as Promise<Queries[N]['output']>
  }

  procedure<N extends keyof Procedures>(nsid: N, input: Procedures[N]['input'], auth: Auth = 'none'): Promise<Procedures[N]['output']> {
    return this.attempts({ method: 'POST', path: `/xrpc/${nsid}`, body: input, auth, name: nsid }, true).then(bodyOf) as Promise<Procedures[N]['output']>
  }

  /**
   * One request with the retry policy and the response contract: a 2xx with a JSON body
   * holding the fields this call reads, or a typed error.
   */
  call(req: RawRequest): Promise<RawResponse> {
    return this.attempts(req, true)
  }

  /** One request with the retry policy but no error mapping for HTTP statuses (health checks want the status). */
  send(req: RawRequest): Promise<RawResponse> {
    return this.attempts(req, false)
  }

  /** The response contract of call(): the answer, or the typed error for it. */
  private checked(req: RawRequest, res: RawResponse): RawResponse {
    if (res.status < 200 || res.status >= 300) throw this.toError(req, res)
    const name = req.name ?? req.path
    const emptyOk = req.emptyOk ?? req.method === 'POST'
    if (res.body === undefined) {
      if (emptyOk && !res.contentType.includes('html')) return res
      throw this.badAnswer(req, res, 'an empty answer')
    }
    if (!res.json) {
      // Raw bodies are fine for `pdsctl xrpc`, but not a page, nor JSON that does not parse.
      if (req.anyBody && !res.contentType.includes('html') && !res.contentType.includes('json')) return res
      throw this.badAnswer(req, res, 'an answer that is not JSON')
    }
    const rules = req.requires ?? REQUIRED_OUTPUT_FIELDS[name]
    if (rules) {
      const missing = missingField(res.body, rules)
      if (missing) {
        throw new BadResponseError(`the PDS answered ${name} without ${missing}`, {
          hint: 'Is --url really a PDS, and is nothing in front of it rewriting answers?',
        })
      }
    }
    return res
  }

  /**
   * send() and call() (`checked`): the retry loop, each try's request and its answer read in
   * one async function. One suspended frame per request in flight, not one per layer
   * (call, send, sendOnce): a frame, its promise and its await closures are what V8's
   * young-generation collections copy while a request waits, and what grows the young
   * generation when many are in flight (`identity check`, `relay accounts`).
   */
  private async attempts(req: RawRequest, checked: boolean): Promise<RawResponse> {
    const safe = req.method === 'GET' || req.idempotent === true
    const maxRetries = safe ? (this.opts.readRetries ?? 2) : 1
    // Resolved before the first try: a prompt for it is not a network request, and its
    // interruption must not be reported as one. (No await without one: each await is a
    // promise and a suspended frame more per request.)
    const auth = req.auth ?? 'none'
    const authHeader = auth === 'none' ? undefined : await this.authHeader(auth)
    registerBodySecrets(req.body)
    for (let attempt = 0; ; attempt++) {
      this.throwIfInterrupted()
      let answered: RawResponse
      try {
        const url = this.urlFor(req)
        const started = monotonicMs()
        let answer: BufferedResponse
        try {
          answer = await this.transport.exchange(this.prepare(req, url, authHeader), { deadlineMs: this.deadlineMs, maxBytes: this.maxBytes(req), signal: this.opts.signal })
        } catch (err) {
          throw this.exchangeFailure(req, err)
        }
        const res = this.answer(req, url, started, answer)
        if (safe && RETRYABLE_STATUS.has(res.status) && attempt < maxRetries) {
          this.debug(`retrying ${req.name ?? req.path} after HTTP ${res.status}`)
          await this.target.recover?.()
          await this.sleep(RETRY_DELAYS_MS[attempt])
          continue
        }
        if (safe && res.status === 429 && attempt < maxRetries && !req.noRateLimitWait) {
          const wait = retryAfterMs(res.headers)
          if (wait !== undefined && wait <= MAX_RATE_LIMIT_WAIT_MS) {
            this.debug(`rate limited on ${req.name ?? req.path}; waiting ${wait} ms as asked`)
            await this.sleep(wait)
            continue
          }
        }
        if (!checked) return res
        answered = res
      } catch (err) {
        if (err instanceof PdsctlError) throw err
        const code = errorCode(err)
        if (attempt >= maxRetries || !code || !CONNECT_CODES.has(code)) throw await this.networkError(req, err)
        // Only a read may be retried after the request could have reached the server;
        // a write is retried only when the connection was refused (it never arrived).
        if (!safe && code !== 'ECONNREFUSED') throw await this.networkError(req, err)
        const recovered = (await this.target.recover?.()) ?? false
        if (code === 'ECONNREFUSED' && !recovered) throw await this.networkError(req, err)
        this.debug(`retrying ${req.name ?? req.path} after ${code}${recovered ? ' (target re-established)' : ''}`)
        await this.sleep(RETRY_DELAYS_MS[attempt])
        continue
      }
      // Outside the try: the contract's errors are the answer's, never retried.
      return this.checked(req, answered)
    }
  }

  private originCache?: { url: string; origin: string }

  /** The target's origin (the target's URL can change: a port-forward re-established). */
  private origin(): string {
    const url = this.target.url
    if (this.originCache?.url !== url) this.originCache = { url, origin: new URL(url).origin }
    return this.originCache.origin
  }

  /** The request's URL at the target: path plus query (arrays repeat their key). */
  private urlFor(req: RawRequest): URL {
    // Built as a string and parsed once (not a base parsed per request, nor a search set
    // after: each is a parse more): each append to url.searchParams re-serialises the
    // whole query (quadratic in a getAccountInfos call's 100 DIDs), and URLSearchParams'
    // own encoder costs twice encodeURIComponent (measured: ~8% of a listing's CPU).
    // The path is absolute, so the target's own path (if any) is replaced, as before.
    let query = ''
    const q = req.query
    if (q) {
      for (const k in q) {
        const v = q[k]
        if (v === undefined) continue
        const key = encodeURIComponent(k)
        if (Array.isArray(v)) for (const item of v) query += `${query ? '&' : '?'}${key}=${encodeURIComponent(item)}`
        else query += `${query ? '&' : '?'}${key}=${encodeURIComponent(String(v))}`
      }
    }
    return req.path.startsWith('/') ? new URL(this.origin() + req.path + query) : new URL(req.path + query, this.target.url)
  }

  /** One try's request: headers, body; credentials only to the PDS's own origin. */
  private prepare(req: RawRequest, url: URL, authHeader: string | undefined): { url: URL; method: string; headers: Record<string, string>; body?: string | Buffer } {
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
    // Credentials only ever go to the PDS's own origin.
    if (authHeader && url.origin === this.origin()) headers.authorization = authHeader
    this.addPdsOnlyHeaders(url, headers) // [backup] x-ratelimit-bypass, PDS origin only
    if (req.host) headers.host = req.host // [identity]
    // Debug lines are built only with --debug: they would be garbage on every request.
    if (this.opts.debug) this.debug(`→ ${req.method} ${url.pathname}${url.search}${this.via(url)}`)
    return { url, method: req.method, headers, body }
  }

  private maxBytes(req: RawRequest): number {
    return req.maxBytes ?? this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  }

  /** One try's answer, its body parsed when it is JSON (or its bytes, for a binary request). */
  private answer(req: RawRequest, url: URL, started: number, res: BufferedResponse): RawResponse {
    this.firstAnswer()
    const size = res.body.length
    const ms = Math.round(monotonicMs() - started)
    if (this.opts.debug) this.debug(`← ${res.statusCode} ${url.pathname} (${ms} ms, ${size} bytes)`)
    const contentType = String(res.headers['content-type'] ?? '').toLowerCase()
    if (req.binary && res.statusCode >= 200 && res.statusCode < 300 && size > 0 && !contentType.includes('html') && !contentType.includes('json')) {
      return { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: res.body, json: false, contentType, ms }
    }
    const text = res.body.toString('utf8')
    let parsed: unknown = text.length === 0 ? undefined : text
    let json = false
    if (text.length > 0 && contentType.includes('json')) {
      try {
        parsed = JSON.parse(text)
        json = true
      } catch {
        parsed = text
      }
    }
    if (json) registerBodySecrets(parsed)
    return { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: parsed, json, contentType, ms }
  }

  /**
   * What a failed exchange is: the interruption, one deadline from start to last byte
   * (--timeout), the size cap; anything else (the connection's failure) is mapped by the
   * retry loop.
   */
  private exchangeFailure(req: RawRequest, err: unknown): unknown {
    const outer = this.opts.signal
    if (outer?.aborted) return outer.reason instanceof PdsctlError ? outer.reason : new InterruptedError()
    const code = errorCode(err)
    if (code === 'DEADLINE') {
      return new NetworkError(`${req.name ?? req.path}: ${this.opts.role ?? 'the PDS'} at ${this.target.description} did not answer within ${fmtSeconds(this.deadlineMs)}`, {
        hint: 'Try again, or raise --timeout',
        cause: err,
      })
    }
    if (code === 'TOO_LARGE') return this.tooLarge(req, this.maxBytes(req))
    return err
  }

  private tooLarge(req: RawRequest, max: number): BadResponseError {
    const size = max >= 1024 * 1024 ? `${Math.round(max / 1024 / 1024)} MiB` : `${Math.round(max / 1024)} KiB`
    return new BadResponseError(`${req.name ?? req.path}: the answer from ${hostOf(this.url)} is larger than ${size}`, {
      hint: req.maxBytes !== undefined
        ? 'No valid answer to it is that large: something in front of the PDS may be misbehaving'
        : 'Something in front of the PDS may be misbehaving; if the answer is expected to be that large, raise --max-response-mb',
    })
  }

  /** A 2xx that cannot be the PDS's answer: name status, content type and the first bytes. */
  private badAnswer(req: RawRequest, res: RawResponse, what: string): BadResponseError {
    const name = req.name ?? req.path
    const html = res.contentType.includes('html') || (typeof res.body === 'string' && /^\s*</.test(res.body))
    return new BadResponseError(
      `${name}: ${hostOf(this.url)} answered HTTP ${res.status} with ${what} (${res.contentType || 'no content type'}${describeBody(res.body)})`,
      {
        hint: html
          ? 'A login page or proxy in front of the PDS answered instead of the PDS (e.g. Cloudflare Access): exempt /xrpc/ from it, or reach the PDS directly (--kube-* port-forward). Nothing was changed'
          : 'Is --url really a PDS, and is nothing in front of it rewriting answers? Nothing was changed',
      },
    )
  }

  private throwIfInterrupted(): void {
    const s = this.opts.signal
    if (s?.aborted) throw s.reason instanceof PdsctlError ? s.reason : new InterruptedError()
  }

  /** Sleep, but wake (and throw) at once when interrupted. */
  private sleep(ms: number): Promise<void> {
    return sleepUnlessInterrupted(ms, this.opts.signal)
  }

  private async authHeader(auth: Auth): Promise<string | undefined> {
    if (auth === 'none') return undefined
    if (auth === 'admin') {
      if (!this.opts.adminPassword) throw new PdsctlError('internal: this command needs the admin password but none was configured')
      this.adminAuthHeader ??= this.opts.adminPassword().then((pw) => {
        // Known before it is sent: whatever a server echoes of it is hidden (src/lib/redaction.ts).
        registerBasicAuth('admin', pw)
        return 'Basic ' + Buffer.from(`admin:${pw}`, 'utf8').toString('base64')
      })
      return this.adminAuthHeader
    }
    registerSecret(auth.bearer)
    return `Bearer ${auth.bearer}`
  }

  private toError(req: RawRequest, res: RawResponse): PdsctlError {
    const name = req.name ?? req.path
    if (res.status >= 300 && res.status < 400) {
      const location = firstHeader(res.headers.location)
      let where = 'nowhere'
      if (location) {
        try {
          where = new URL(location, this.url).origin
        } catch {
          where = 'an invalid Location'
        }
      }
      return new BadResponseError(`${name}: ${hostOf(this.url)} answered HTTP ${res.status}, a redirect to ${where} (not followed)`, {
        hint:
          where !== 'nowhere' && where !== new URL(this.url).origin
            ? 'A login proxy in front of the PDS (e.g. Cloudflare Access) is the usual cause: exempt /xrpc/ from it, or reach the PDS directly (--kube-* port-forward). Nothing was changed'
            : 'Check --url (the PDS answers XRPC at its origin, without redirects). Nothing was changed',
      })
    }
    const body = res.body as { error?: unknown; message?: unknown } | string | undefined
    const isXrpc = res.json && typeof body === 'object' && body !== null && typeof body.error === 'string'
    if (!isXrpc && (res.status === 401 || res.status === 403)) {
      return new AuthError(`${name}: HTTP ${res.status} from ${hostOf(this.url)} without an XRPC error (${res.contentType || 'no content type'}${describeBody(res.body)})`, {
        hint: req.auth === 'admin'
          ? 'The admin password was rejected, or a proxy in front of the PDS demands its own login'
          : 'A proxy in front of the PDS demands its own login',
      })
    }
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers)
      const xname = isXrpc ? String((body as { error: string }).error) : undefined
      const xmsg = isXrpc && typeof (body as { message?: unknown }).message === 'string' ? String((body as { message: string }).message) : undefined
      return new XrpcError(name, 429, xname, xmsg, {
        summary: `${name}: rate limited by ${hostOf(this.url)}`,
        hint: `Retry ${wait !== undefined ? `after ${fmtSeconds(wait)}` : 'later'}; PDS_RATE_LIMIT_BYPASS_KEY (the PDS's bypass key) lifts the limit for pdsctl`,
      })
    }
    if (!isXrpc) {
      return new XrpcError(name, res.status, undefined, undefined, {
        summary: `${name}: HTTP ${res.status} from ${hostOf(this.url)} without an XRPC error body (${res.contentType || 'no content type'}${describeBody(res.body)})`,
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

  /** For --debug: the proxy a request goes through (never its credentials). */
  private via(url: URL): string {
    if (!this.opts.debug) return ''
    const proxy = this.transport.proxyFor(url)
    return proxy ? ` via proxy ${proxy}` : ''
  }

  private async networkError(req: RawRequest, err: unknown): Promise<PdsctlError> {
    if (err instanceof PdsctlError) return err
    if (this.opts.signal?.aborted) return new InterruptedError()
    if (err instanceof ProxyError) return proxyFailure(err, `${this.opts.role ?? 'the PDS'} at ${this.target.description}`)
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
          hint: `Is it running, and is ${this.opts.role ? (this.opts.urlFrom ?? 'its URL') : '--url / PDS_URL'} right?`,
          cause: err,
        })
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new NetworkError(`cannot resolve the host ${hostOf(this.url)} of ${this.opts.role ?? 'the PDS'} (${code})`, {
          hint: `Check the hostname in ${this.opts.role ? (this.opts.urlFrom ?? 'its URL') : '--url / PDS_URL / PDS_HOSTNAME'}`,
          cause: err,
        })
      case 'CONNECT_TIMEOUT':
        return new NetworkError(`timed out connecting to ${this.opts.role ?? 'the PDS'} at ${where}`, { hint: 'Check the address and any firewall', cause: err })
      case 'IDLE_TIMEOUT':
        return new NetworkError(`${name}: ${this.opts.role ?? 'the PDS'} at ${where} did not answer in time`, {
          hint: 'Try again, or raise --timeout',
          cause: err,
        })
      case 'ECONNRESET':
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
    if (code === 'RESPONSE_CUT_OFF' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
      return new NetworkError(`${name}: the answer from ${where} was cut off`, {
        hint: 'A proxy or the connection dropped it mid-way; try again',
        cause: err,
      })
    }
    const msg = err instanceof Error ? err.message : String(err)
    return new NetworkError(`${name}: request to ${where} failed (${code ?? redact(msg)})`, { cause: err })
  }

  private debug(line: string): void {
    this.opts.debug?.(line)
  }

  /** Let go of the connections; in-flight requests are aborted, never waited for. */
  async close(): Promise<void> {
    this.transport.destroy()
  }

  // ---- [backup] additions (branch backup): streaming bodies and the rate-limit bypass ----
  // Kept in one block so the lead can reconcile them with the request-path rewrite.
  private rateLimitBypassKey?: string

  /** Send `x-ratelimit-bypass` with every request to the PDS's own origin (never elsewhere, never logged). */
  setRateLimitBypassKey(key: string | undefined): void {
    this.rateLimitBypassKey = key && key.length > 0 ? key : undefined
    registerSecret(this.rateLimitBypassKey)
  }

  private addPdsOnlyHeaders(url: URL, headers: Record<string, string>): void {
    if (this.rateLimitBypassKey && url.origin === this.origin()) headers['x-ratelimit-bypass'] = this.rateLimitBypassKey
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
    const url = this.urlFor(req)
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': this.opts.userAgent ?? 'pdsctl' }
    if (req.method === 'POST') {
      headers['content-type'] = req.contentType ?? 'application/octet-stream'
      if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length)
      else if (opts.body && opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength)
      else if (!opts.body) headers['content-length'] = '0'
    }
    const auth = req.auth ?? 'none'
    const authHeader = auth === 'none' ? undefined : await this.authHeader(auth)
    if (authHeader && url.origin === this.origin()) headers.authorization = authHeader
    this.addPdsOnlyHeaders(url, headers)
    const started = monotonicMs()
    if (this.opts.debug) this.debug(`→ ${req.method} ${url.pathname}${url.search} (streamed)${this.via(url)}`)
    let res
    try {
      res = await this.transport.request({
        url,
        method: req.method,
        headers,
        body: req.method === 'POST' ? (opts.body ?? '') : undefined,
        // The command's interruption and the caller's own signal both abort it; the
        // transport's idle timeout bounds each silent gap (a whole-body deadline would cut large blobs).
        // (The same signal twice, as backup and migrate pass the command's own, is used as it
        // is: AbortSignal.any and its listeners cost ~0.2 ms of CPU a request, for nothing.)
        signal: opts.signal && this.opts.signal && opts.signal !== this.opts.signal ? AbortSignal.any([opts.signal, this.opts.signal]) : (opts.signal ?? this.opts.signal),
      })
    } catch (err) {
      throw await this.networkError(req, err)
    }
    this.firstAnswer()
    if (this.opts.debug) this.debug(`← ${res.statusCode} ${url.pathname} (${Math.round(monotonicMs() - started)} ms to headers)`)
    const streamType = String(res.headers['content-type'] ?? '').toLowerCase()
    if (res.statusCode >= 200 && res.statusCode < 300 && !streamType.includes('html')) {
      return { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: res.body }
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      // A login page answering for a CAR or a blob: never written to disk as one.
      const page = await readText(res.body).catch(() => '')
      throw this.badAnswer(req, { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: page || undefined, json: false, contentType: streamType, ms: 0 }, 'a web page')
    }
    const text = await readText(res.body).catch(() => '')
    let parsed: unknown = text.length ? text : undefined
    try {
      if (String(res.headers['content-type'] ?? '').includes('json')) parsed = JSON.parse(text)
    } catch {
      /* keep the text */
    }
    const contentType = String(res.headers['content-type'] ?? '').toLowerCase()
    const err = this.toError(req, { status: res.statusCode, headers: res.headers as RawResponse['headers'], body: parsed, json: typeof parsed === 'object' && parsed !== null, contentType, ms: 0 })
    // Retry-After, else RateLimit-Reset (what a 0.4.x PDS sends on its 429s).
    const retryAfter = retryAfterMs(res.headers as RawResponse['headers'])
    if (retryAfter !== undefined && (res.statusCode === 429 || res.statusCode === 503)) Object.assign(err, { retryAfterMs: retryAfter })
    throw err
  }
  // ---- end [backup] additions ----
}

/** A proxy's failure as one line that names the proxy (and never the server's fault) and what to change. */
function proxyFailure(err: ProxyError, reaching: string): PdsctlError {
  const settings = 'HTTPS_PROXY / HTTP_PROXY (or ALL_PROXY), lower case first'
  switch (err.code) {
    case 'PROXY_AUTH':
      return new NetworkError(`cannot reach ${reaching}: the proxy ${err.proxy} wants authentication (HTTP ${err.status}${err.challenge ? `, ${err.challenge.split(/\s+/)[0]}` : ''})`, {
        hint: err.withCredentials
          ? `It refused the credentials in the proxy URL; check them in ${settings}`
          : `Give them in the proxy URL: http://USER:PASSWORD@HOST:PORT in ${settings}`,
        cause: err,
      })
    case 'PROXY_REFUSED':
      return new NetworkError(`cannot reach ${reaching}: ${err.message}`, {
        hint: 'Ask for CONNECT to that host and port to be allowed at the proxy, or add the host to NO_PROXY',
        cause: err,
      })
    default:
      return new NetworkError(`cannot reach ${reaching}: ${err.message}`, {
        hint: `Is the proxy running? Check ${settings}, or add the host to NO_PROXY`,
        cause: err,
      })
  }
}

const bodyOf = (res: RawResponse): unknown => res.body

/** [backup] Retry-After as seconds or an HTTP date, in ms. */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  return v === undefined ? undefined : retryAfterMs({ 'retry-after': v })
}

/**
 * A monotonic clock in ms. Not performance.now(): the first use of the `performance` global
 * loads Node's perf_hooks (~2 ms of every command's start-up).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
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

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

/** How long a 429 asks to wait: Retry-After (seconds or a date), else RateLimit-Reset (epoch seconds). */
export function retryAfterMs(headers: RawResponse['headers'], now = Date.now()): number | undefined {
  const ra = firstHeader(headers['retry-after'])
  if (ra !== undefined) {
    if (/^\d+$/.test(ra.trim())) return Number(ra.trim()) * 1000
    const t = Date.parse(ra)
    if (!Number.isNaN(t)) return Math.max(0, t - now)
  }
  const reset = firstHeader(headers['ratelimit-reset'])
  if (reset !== undefined && /^\d+$/.test(reset.trim())) {
    const n = Number(reset.trim())
    // Epoch seconds (what the PDS sends) or, from other servers, seconds from now.
    return n > 1e9 ? Math.max(0, n * 1000 - now) : n * 1000
  }
  return undefined
}

function fmtSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`
}

/**
 * The first bytes of a body, for a message: the page title if HTML, one line, never a
 * secret. Redacted before it is folded or cut (snippet), so no piece of a secret the server
 * echoed survives; control characters are escaped where the message is printed.
 */
function describeBody(body: unknown): string {
  if (body === undefined) return ', empty'
  const text = typeof body === 'string' ? redact(body) : JSON.stringify(redactDeep(body))
  const title = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(text)?.[1]
  return ': ' + (title ? `page titled "${snippet(title, 120)}"` : `"${snippet(text, 60)}"`)
}

/**
 * Secrets in a request or answer body: an account password pdsctl sends (createAccount,
 * createSession, updateAccountPassword), the session tokens a server returns.
 */
const BODY_SECRETS = ['password', 'accessJwt', 'refreshJwt']
function registerBodySecrets(body: unknown): void {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return
  const b = body as Record<string, unknown>
  for (const k of BODY_SECRETS) if (typeof b[k] === 'string') registerSecret(b[k] as string)
}

/**
 * Wait `ms`, but wake at once when `signal` aborts and throw what it was aborted with (a
 * PdsctlError), else InterruptedError. The one interruptible wait of the client, the relay
 * lanes and the PLC directory's rate-limit pauses.
 */
export async function sleepUnlessInterrupted(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
  if (signal?.aborted) throw signal.reason instanceof PdsctlError ? signal.reason : new InterruptedError()
}
