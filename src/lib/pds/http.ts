// pdsctl's HTTP transport: node:http and node:https with keep-alive agents, a connect
// timeout and an idle timeout, aborted by a signal. It replaced undici (issue 9): measured
// on this machine kind (Node 24, loopback, medians of 7 processes), undici's Agent and
// request API took 20 ms to load and its first request 11.5 ms (compiling its WebAssembly
// HTTP parser), its second 3.2 ms; node:http 4.8 ms, 7.2 ms and 1.5 ms — 21 ms of every
// command, and twice the CPU per request in a 500-write batch. node:http parses with the
// llhttp built into Node; nothing here depends on a PDS version or a Node release.
//
// node:http and node:https are taken with getBuiltinModule, not an ES import: an ES import builds
// the module's namespace from every export, and node:http's lazy WebSocket/CloseEvent/
// MessageEvent getters then load Node's bundled undici (~25 ms), node:https's through
// tls.rootCertificates (~10 ms). https is loaded only for an https:// URL.
import type * as HttpModule from 'node:http'
import type * as HttpsModule from 'node:https'
import type { LookupFunction, Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { describeProxy, processProxySettings, proxyFor, type ProxySettings } from './proxy.js'

let httpModule: typeof HttpModule | undefined
let httpsModule: typeof HttpsModule | undefined
// node:http, not its client half alone (_http_agent/_http_client, ~1 ms less to load: node:http
// also loads its server): Node deprecates those module ids (DEP0199), and a runtime
// deprecation would print a warning on every run.
const nodeHttp = () => (httpModule ??= process.getBuiltinModule('node:http'))
const nodeHttps = () => (httpsModule ??= process.getBuiltinModule('node:https'))

/**
 * What each signal must end when it aborts, behind one listener per signal. A signal lives
 * as long as the command (its interruption), and whatever is registered on it and later
 * unregistered must leave nothing that links old entries to new ones: V8's young-generation
 * collections keep alive whatever a dead object already promoted to the old generation still
 * points at, until the next full collection, and grow the young generation to what survives
 * them. A listener added and removed per request (Node's EventTarget unlinks a removed
 * listener from its list but the listener keeps its own links), or a Set of callbacks (an
 * outgrown Set's table links to its successor), chained every finished request's closures,
 * response and buffers to the next: measured over 50,000 getRepoStatus requests (`relay
 * accounts`, Node 24), 8–10 MB surviving each scavenge, a 64 MiB young generation and
 * ~200 MiB peak RSS. Here: slots in an array, emptied when a request ends and reused.
 */
class AbortSlots {
  private readonly fns: Array<(() => void) | undefined> = []
  private readonly free: number[] = []
  constructor(signal: AbortSignal) {
    signal.addEventListener('abort', () => {
      this.free.length = 0
      for (const fn of this.fns.splice(0)) fn?.()
    }, { once: true })
  }
  add(fn: () => void): () => void {
    const i = this.free.pop() ?? this.fns.length
    this.fns[i] = fn
    return () => {
      if (this.fns[i] !== fn) return
      this.fns[i] = undefined
      this.free.push(i)
    }
  }
}
const abortSlots = new WeakMap<AbortSignal, AbortSlots>()

/** Call `fn` when `signal` aborts (the caller checks `signal.aborted` first); returns the undo. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let slots = abortSlots.get(signal)
  if (!slots) abortSlots.set(signal, (slots = new AbortSlots(signal)))
  return slots.add(fn)
}

/** The error node:http's own `signal` option ends a request with (an AbortError, the signal's reason as its cause). */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' })
}

export interface TransportOptions {
  /** Connections per origin (default 8). */
  connections?: number
  /** Connecting (TCP, and TLS for https) must finish within this many ms (default 10 s). */
  connectTimeoutMs?: number
  /** A connection in use that receives nothing for this many ms ends its request (default 30 s). */
  idleTimeoutMs?: number
  /** Name resolution (handle check: a chosen DNS server). */
  lookup?: LookupFunction
  /** Forward proxies (proxy.ts); default: the process's (the environment the base command gave), null: none. */
  proxy?: ProxySettings | null
}

export interface TransportRequest {
  url: URL
  method: string
  headers: Record<string, string>
  body?: string | Buffer | Readable
  signal?: AbortSignal
}

export interface BufferedResponse {
  statusCode: number
  headers: HttpModule.IncomingHttpHeaders
  body: Buffer
}

/** A 101 answer: its headers, the socket, and the bytes that came after the headers. */
export interface Upgraded {
  headers: HttpModule.IncomingHttpHeaders
  socket: Socket
  head: Buffer
}

export interface TransportResponse {
  statusCode: number
  headers: HttpModule.IncomingHttpHeaders
  /** The body as it arrives: read it to the end, or destroy it. */
  body: HttpModule.IncomingMessage
}

/** A transport failure of our own making, with a code the client maps to a message. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: 'CONNECT_TIMEOUT' | 'IDLE_TIMEOUT' | 'UNSUPPORTED_PROTOCOL' | 'DEADLINE' | 'ABORTED' | 'TOO_LARGE' | 'RESPONSE_CUT_OFF' | 'UPGRADE_REFUSED' | ProxyFailure,
  ) {
    super(message)
    this.name = 'TransportError'
  }
}

/** How a proxy failed: unreachable (down, refused, timed out), wants authentication (407), refused the tunnel. */
export type ProxyFailure = 'PROXY_UNREACHABLE' | 'PROXY_AUTH' | 'PROXY_REFUSED'

/** A failure of the proxy between pdsctl and a server: the message names the proxy, never the server's fault. */
export class ProxyError extends TransportError {
  constructor(
    message: string,
    override readonly code: ProxyFailure,
    /** The proxy, without credentials (describeProxy). */
    readonly proxy: string,
    /** Whether the proxy URL carried credentials. */
    readonly withCredentials: boolean,
    /** The HTTP status the proxy answered CONNECT with, if it answered. */
    readonly status?: number,
    /** The proxy's Proxy-Authenticate header (its scheme and realm), if any. */
    readonly challenge?: string,
  ) {
    super(message, code)
    this.name = 'ProxyError'
  }
}

/**
 * A connection to `host:port` through an HTTP proxy's CONNECT tunnel (the documented
 * `http.request({method: 'CONNECT'})` and its 'connect' event). The proxy sees only the
 * authority; Proxy-Authorization carries the proxy URL's own credentials, to it alone.
 */
function openTunnel(proxy: URL, host: string, port: string, timeoutMs: number): Promise<Socket> {
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const shown = describeProxy(proxy)
  const withCredentials = Boolean(proxy.username || proxy.password)
  const headers: Record<string, string> = { host: authority }
  if (withCredentials) {
    const user = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`
    headers['proxy-authorization'] = 'Basic ' + Buffer.from(user, 'utf8').toString('base64')
  }
  return new Promise<Socket>((resolve, reject) => {
    const req = nodeHttp().request({
      host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: proxy.port || 80,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    })
    const timer = setTimeout(() => {
      req.destroy()
      reject(new ProxyError(`the proxy ${shown} did not open a tunnel to ${authority} within ${timeoutMs} ms`, 'PROXY_UNREACHABLE', shown, withCredentials))
    }, timeoutMs)
    req.once('connect', (res, socket) => {
      clearTimeout(timer)
      if (res.statusCode === 200) return resolve(socket)
      socket.destroy()
      const challenge = res.headers['proxy-authenticate']
      const status = res.statusCode ?? 0
      // 407 is the standard answer; some proxies (tinyproxy) answer wrong credentials with 401.
      if (status === 407 || status === 401) {
        reject(new ProxyError(`the proxy ${shown} wants authentication (HTTP ${status})`, 'PROXY_AUTH', shown, withCredentials, status, Array.isArray(challenge) ? challenge[0] : challenge))
      } else reject(new ProxyError(`the proxy ${shown} refused to open a tunnel to ${authority} (HTTP ${status})`, 'PROXY_REFUSED', shown, withCredentials, status))
    })
    // Not a CONNECT answer at all (the proxy closed, or answered something else).
    req.once('response', (res) => {
      clearTimeout(timer)
      res.destroy()
      reject(new ProxyError(`the proxy ${shown} answered HTTP ${res.statusCode} instead of opening a tunnel to ${authority}`, 'PROXY_REFUSED', shown, withCredentials, res.statusCode))
    })
    req.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(Object.assign(new ProxyError(`cannot connect to the proxy ${shown} (${err.code ?? err.message})`, 'PROXY_UNREACHABLE', shown, withCredentials), { cause: err }))
    })
    req.end()
  })
}

export class HttpTransport {
  private readonly agents = new Map<string, HttpModule.Agent>()

  constructor(private readonly opts: TransportOptions = {}) {}

  /** The proxy a request to `url` would go through (without credentials), or undefined: for --debug. */
  proxyFor(url: URL): string | undefined {
    const proxy = proxyFor(url, this.proxySettings())
    return proxy && describeProxy(proxy)
  }

  private proxySettings(): ProxySettings | undefined {
    return this.opts.proxy === null ? undefined : (this.opts.proxy ?? processProxySettings())
  }

  private agentFor(protocol: 'http:' | 'https:', proxy: URL | undefined): HttpModule.Agent {
    const key = proxy ? `${protocol} ${proxy.href}` : protocol
    let agent = this.agents.get(key)
    if (!agent) {
      // keepAlive: sockets are reused across requests; Node closes an idle one a second
      // before the server's Keep-Alive timeout hint, so a write never meets a closed socket.
      const options = { keepAlive: true, maxSockets: this.opts.connections ?? 8, scheduling: 'lifo' as const }
      agent = protocol === 'https:' ? new (nodeHttps().Agent)(options) : new (nodeHttp().Agent)(options)
      if (proxy) this.tunnelThrough(agent, protocol, proxy)
      else this.timeConnections(agent, protocol)
      this.agents.set(key, agent)
    }
    return agent
  }

  /**
   * Connecting (TCP, and TLS for https) must finish within connectTimeoutMs: timed where
   * the agent makes a socket (Agent#createConnection, which custom agents may override), once
   * per connection, not with a listener and a timer on every request that reuses one. A
   * socket destroyed with an error fails the request that waits for it with that error.
   */
  private timeConnections(agent: HttpModule.Agent, protocol: 'http:' | 'https:'): void {
    const connectMs = this.opts.connectTimeoutMs ?? 10_000
    const create = (agent as unknown as { createConnection: (...args: unknown[]) => Socket | undefined }).createConnection
    ;(agent as unknown as { createConnection: (...args: unknown[]) => Socket | undefined }).createConnection = function (this: HttpModule.Agent, ...args: unknown[]) {
      const socket = create.apply(this, args)
      if (!socket?.connecting) return socket
      const timer = setTimeout(() => socket.destroy(new TransportError(`timed out connecting after ${connectMs} ms`, 'CONNECT_TIMEOUT')), connectMs)
      const clear = () => clearTimeout(timer)
      socket.once(protocol === 'https:' ? 'secureConnect' : 'connect', clear)
      socket.once('close', clear)
      return socket
    }
  }

  /**
   * Every connection of `agent` goes through the proxy's CONNECT tunnel (for https, TLS to
   * the server inside it, verified as always). Agent#createConnection with a callback is
   * the documented way for an agent to make its own sockets.
   */
  private tunnelThrough(agent: HttpModule.Agent, protocol: 'http:' | 'https:', proxy: URL): void {
    const connectMs = this.opts.connectTimeoutMs ?? 10_000
    const make = (options: { host?: string | null; port?: number | string | null; servername?: string }, cb: (err: Error | null, socket?: Socket) => void) => {
      const host = String(options.host ?? 'localhost')
      openTunnel(proxy, host, String(options.port ?? (protocol === 'https:' ? 443 : 80)), connectMs).then((socket) => {
        if (protocol === 'http:') return cb(null, socket)
        const tls = process.getBuiltinModule('node:tls')
        const ipLiteral = process.getBuiltinModule('node:net').isIP(host) !== 0
        const secure = tls.connect({ socket, host, servername: ipLiteral ? undefined : (options.servername ?? host), rejectUnauthorized: true, ALPNProtocols: ['http/1.1'] })
        const onError = (err: Error) => cb(err)
        secure.once('error', onError)
        secure.once('secureConnect', () => {
          secure.removeListener('error', onError)
          cb(null, secure)
        })
      }, (err: Error) => cb(err))
      return undefined
    }
    ;(agent as unknown as { createConnection: typeof make }).createConnection = make
  }

  /**
   * The request, on its way (no listener of ours yet); its body is sent by `send`. The
   * headers go as a flat array (http.request's documented rawHeaders form), Host included
   * (the URL's host, unless the caller names one): node:http then writes them as they are
   * instead of validating and storing each through setHeader, and keeps no header map per
   * request. A POST's Content-Length is the caller's (else the body goes chunked).
   */
  private open(r: TransportRequest): HttpModule.ClientRequest {
    const protocol = r.url.protocol
    if (protocol !== 'http:' && protocol !== 'https:') throw new TransportError(`unsupported protocol ${protocol}`, 'UNSUPPORTED_PROTOCOL')
    const hostname = r.url.hostname
    const headers: string[] = []
    let host = false
    for (const name in r.headers) {
      if (name.length === 4 && name.toLowerCase() === 'host') host = true
      headers.push(name, r.headers[name])
    }
    if (!host) headers.push('host', r.url.host)
    const options: HttpsModule.RequestOptions = {
      // URL keeps IPv6 literals in brackets; the socket wants the bare address.
      hostname: hostname.charCodeAt(0) === 91 /* [ */ ? hostname.slice(1, -1) : hostname,
      path: r.url.pathname + r.url.search,
      headers: headers as unknown as HttpModule.OutgoingHttpHeaders,
      // The protocol is the module's (node:http or node:https, below) and the agent's.
      agent: this.agentFor(protocol, proxyFor(r.url, this.proxySettings())),
    }
    // Set only when they differ from node:http's defaults (GET, the protocol's port): it
    // copies the options into three dictionaries per request, the agent's added to the last.
    if (r.method !== 'GET') options.method = r.method
    const port = r.url.port
    if (port) options.port = port
    if (this.opts.lookup) options.lookup = this.opts.lookup
    // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn it off.
    if (protocol === 'https:') options.rejectUnauthorized = true
    return protocol === 'https:' ? nodeHttps().request(options) : nodeHttp().request(options)
  }

  private static send(req: HttpModule.ClientRequest, body: TransportRequest['body']): void {
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
    else {
      body.once('error', (err) => req.destroy(err))
      body.pipe(req)
    }
  }

  /** Send one request; resolves with the status and headers once they arrive. No redirect is followed. */
  request(r: TransportRequest, onRequest?: (req: HttpModule.ClientRequest) => void): Promise<TransportResponse> {
    return new Promise<TransportResponse>((resolve, reject) => {
      let req: HttpModule.ClientRequest
      try {
        req = this.open(r)
      } catch (err) {
        return reject(err)
      }
      onRequest?.(req)
      // The signal ends the request, and its body while it is read (as node:http's `signal`
      // option would, but through onAbort: one listener per signal, not one per request).
      const signal = r.signal
      if (signal?.aborted) req.destroy(abortError(signal))
      else if (signal) req.once('close', onAbort(signal, () => req.destroy(abortError(signal))))
      const idleMs = this.opts.idleTimeoutMs ?? 30_000
      let response: HttpModule.IncomingMessage | undefined
      req.setTimeout(idleMs, () => {
        const err = new TransportError(`nothing received for ${idleMs} ms`, 'IDLE_TIMEOUT')
        // Mid-body, the reader of the body gets this error (not a bare "aborted").
        if (response && !response.complete) response.destroy(err)
        req.destroy(err)
      })
      req.once('error', reject)
      req.once('response', (res) => {
        response = res
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res })
      })
      HttpTransport.send(req, r.body)
    })
  }

  /**
   * One whole exchange, the body read into memory: what every XRPC call but the streamed
   * ones uses. One deadline from start to last byte (a DEADLINE error), the signal (its
   * reason), a size cap (TOO_LARGE), and a body that ends early (RESPONSE_CUT_OFF) all end
   * it; plain events and one timer instead of an AbortController, a signal listener in
   * node:http and an async iterator over the body per call (measured: a third of the
   * client's CPU per request in a 500-write batch). One promise and no per-request idle
   * timer when the deadline comes first anyway (idle >= deadline, as the client sets them):
   * what each request keeps alive while it waits is what V8's young-generation collections
   * copy, and what makes the young generation grow (`identity check`, four requests per account).
   */
  exchange(r: Omit<TransportRequest, 'signal'>, opts: { deadlineMs: number; maxBytes: number; signal?: AbortSignal }): Promise<BufferedResponse> {
    return new Promise<BufferedResponse>((resolve, reject) => {
      const signal = opts.signal
      if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new TransportError('aborted', 'ABORTED'))
      let req: HttpModule.ClientRequest
      try {
        req = this.open(r)
      } catch (err) {
        return reject(err)
      }
      let done = false
      let res: HttpModule.IncomingMessage | undefined
      let unwatch: (() => void) | undefined
      const finish = (err: Error | undefined, value?: BufferedResponse) => {
        if (done) return
        done = true
        clearTimeout(timer)
        unwatch?.()
        if (err) {
          res?.destroy()
          req.destroy()
          reject(err)
        } else resolve(value!)
      }
      const timer = setTimeout(() => finish(new TransportError(`no complete answer within ${opts.deadlineMs} ms`, 'DEADLINE')), opts.deadlineMs)
      if (signal) unwatch = onAbort(signal, () => finish(signal.reason instanceof Error ? signal.reason : new TransportError('aborted', 'ABORTED')))
      const idleMs = this.opts.idleTimeoutMs ?? 30_000
      if (idleMs < opts.deadlineMs) {
        req.setTimeout(idleMs, () => finish(new TransportError(`nothing received for ${idleMs} ms`, 'IDLE_TIMEOUT')))
      }
      // `on`, not `once`: each once() is a wrapper and its state per request, and finish() runs once anyway.
      req.on('error', finish)
      req.on('response', (response: HttpModule.IncomingMessage) => {
        res = response
        if (done) return response.destroy()
        const statusCode = response.statusCode ?? 0
        const headers = response.headers
        if (Number(headers['content-length']) > opts.maxBytes) return finish(new TransportError(`answer larger than ${opts.maxBytes} bytes`, 'TOO_LARGE'))
        const chunks: Buffer[] = []
        let size = 0
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > opts.maxBytes) finish(new TransportError(`answer larger than ${opts.maxBytes} bytes`, 'TOO_LARGE'))
          else chunks.push(chunk)
        })
        response.on('end', () => finish(undefined, { statusCode, headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) }))
        response.on('error', (err: Error & { code?: string }) =>
          finish(err.code === 'ECONNRESET' ? Object.assign(new TransportError('the answer was cut off', 'RESPONSE_CUT_OFF'), { cause: err }) : err),
        )
      })
      HttpTransport.send(req, r.body)
    })
  }

  /**
   * An HTTP/1.1 upgrade (a WebSocket's handshake) through the same agents, and so the same
   * proxies, connect timeout and TLS checks as every other request: resolves with the 101
   * answer and the socket once they arrive; any other answer is an error naming its status.
   */
  upgrade(r: Omit<TransportRequest, 'body' | 'method'>): { answer: Promise<Upgraded>; cancel: () => void } {
    let req: HttpModule.ClientRequest | undefined
    const answer = new Promise<Upgraded>((resolve, reject) => {
      try {
        req = this.open({ ...r, method: 'GET' })
      } catch (err) {
        return reject(err)
      }
      req.once('error', reject)
      req.once('upgrade', (res: HttpModule.IncomingMessage, socket: Socket, head: Buffer) => {
        if (res.statusCode === 101) return resolve({ headers: res.headers, socket, head })
        socket.destroy()
        reject(new TransportError(`the upgrade was answered with HTTP ${res.statusCode}`, 'UPGRADE_REFUSED'))
      })
      req.once('response', (res: HttpModule.IncomingMessage) => {
        res.destroy()
        reject(new TransportError(`the upgrade was refused with HTTP ${res.statusCode}`, 'UPGRADE_REFUSED'))
      })
      req.end()
    })
    // A cancel before the answer fails it (ABORTED); after, the socket is the caller's.
    answer.catch(() => {})
    return { answer, cancel: () => req?.destroy(new TransportError('aborted', 'ABORTED')) }
  }

  /** Close every connection; requests still in flight fail. */
  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy()
    this.agents.clear()
  }
}

/** A whole (small) body as text. */
export async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
