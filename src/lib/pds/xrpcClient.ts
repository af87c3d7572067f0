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

