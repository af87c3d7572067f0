// The WebSocket client pdsctl reads the firehose with (com.atproto.sync.subscribeRepos: the
// doctor's websocket and firehose checks, `relay status`'s seq probe), on pdsctl's own
// transport (http.ts): the same proxies (HTTPS_PROXY and NO_PROXY, CONNECT for wss), connect
// timeout and TLS checks as every other request. It replaced Node's global WebSocket
// (undici's), which a hostile or broken server could hold: after close() undici waits for the
// server's close frame without a limit, so a server that never sends one, or keeps streaming,
// kept pdsctl running after it had printed its answer (measured: `relay status` still running
// 60 s later, in test/hostile/firehose.test.ts); it ignored pdsctl's proxy settings; and it
// buffers a message of any size up to its own limit (128 MiB where that limit exists).
//
// Only what a reader needs (RFC 6455): the handshake (Sec-WebSocket-Accept checked), text and
// binary messages (fragmented or not) up to maxMessageBytes, ping answered with pong, close.
// close() sends a close frame and ends the connection at once: nothing of pdsctl's waits for
// the server afterwards. A frame that announces more than maxMessageBytes fails the socket as
// soon as its header arrives (nothing is buffered for it); so do a masked server frame, an
// unknown opcode, or bad close/ping frames. The interface is the subset of the WHATWG
// WebSocket its callers used (addEventListener for open, message, error, close; binary
// messages as ArrayBuffers); close() is idempotent and never throws.
import { createHash, randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { HttpTransport, type Upgraded } from './http.js'
import { monotonicMs } from './xrpcClient.js'

/** What the firehose may send in one message: a #commit frame carries at most 2 MB of blocks (the relays' limit); 8 MiB leaves room. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024

export interface WebSocketOptions {
  maxMessageBytes?: number
  /** --debug: a line as the connection is asked for (its URL and the proxy it goes through, never credentials) and one as it opens or fails. */
  debug?: (line: string) => void
}

export type WebSocketEventMap = {
  open: Record<string, never>
  message: { data: ArrayBuffer | string }
  error: { message: string }
  close: { code: number; reason: string }
}
type Listener<K extends keyof WebSocketEventMap> = (ev: WebSocketEventMap[K]) => void

/** A reader's WebSocket: `new PdsctlWebSocket(url)`, then its events; close() when done. */
export class PdsctlWebSocket {
  private readonly listeners: { [K in keyof WebSocketEventMap]: Listener<K>[] } = { open: [], message: [], error: [], close: [] }
  private readonly maxBytes: number
  /** Its own transport (the process's proxy settings): the upgraded socket leaves the agent, which is destroyed with it. */
  private readonly transport = new HttpTransport({ connections: 1 })
  private readonly cancel: () => void
  private socket: Socket | undefined
  private ended = false
  private buffered: Buffer[] = []
  private bufferedBytes = 0
  /** The message being reassembled from fragments. */
  private fragments: Buffer[] = []
  private fragmentsBytes = 0
  private fragmentsOpcode = 0
  /** With --debug only: where its lines go, its URL as shown (no credentials), when it was asked for. */
  private readonly trace: { line: (text: string) => void; url: string; started: number } | undefined

  constructor(url: string, opts: WebSocketOptions = {}) {
    this.maxBytes = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES
    const u = new URL(url)
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new TypeError(`not a WebSocket URL: ${u.protocol}`)
    if (opts.debug) {
      const shown = new URL(u)
      shown.username = ''
      shown.password = ''
      this.trace = { line: opts.debug, url: shown.href, started: monotonicMs() }
    }
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
    if (this.trace) {
      const proxy = this.transport.proxyFor(u)
      this.trace.line(`→ WebSocket ${this.trace.url}${proxy ? ` via proxy ${proxy}` : ''}`)
    }
    const key = randomBytes(16).toString('base64')
    const { answer, cancel } = this.transport.upgrade({ url: u, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': key } })
    this.cancel = cancel
    answer.then(
      (up) => this.opened(up, key),
      (err: Error) => this.fail(err.message),
    )
  }

  addEventListener<K extends keyof WebSocketEventMap>(type: K, fn: Listener<K>): void {
    this.listeners[type].push(fn)
  }

  /** Send a close frame and end the connection now (or give up the handshake). Never waits for the server. */
  close(code = 1000): void {
    if (this.ended) return
    this.ended = true
    const socket = this.socket
    if (!socket) {
      this.cancel()
      this.transport.destroy()
      return
    }
    const payload = Buffer.alloc(2)
    payload.writeUInt16BE(code)
    socket.removeAllListeners('data')
    // end() flushes the close frame; destroy() once it is written (an error destroys it anyway).
    socket.end(clientFrame(8, payload), () => socket.destroy())
    this.transport.destroy()
  }

  private emit<K extends keyof WebSocketEventMap>(type: K, ev: WebSocketEventMap[K]): void {
    for (const fn of this.listeners[type]) fn(ev)
  }

  private opened(up: Upgraded, key: string): void {
    const { socket, headers, head } = up
    if (this.ended) {
      socket.destroy()
      return
    }
    this.socket = socket
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
    if (headers['sec-websocket-accept'] !== accept || String(headers.upgrade).toLowerCase() !== 'websocket') {
      return this.fail('the server answered the upgrade without a valid Sec-WebSocket-Accept (not a WebSocket server)')
    }
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.received(chunk))
    socket.on('error', (err: Error) => this.fail(`the connection failed (${err.message})`))
    socket.on('close', () => this.closed(1006, ''))
    if (this.trace) this.trace.line(`← 101 WebSocket ${this.trace.url} (${Math.round(monotonicMs() - this.trace.started)} ms)`)
    this.emit('open', {})
    if (head.length && !this.ended) this.received(head)
  }

  private fail(message: string): void {
    if (this.ended) return
    if (this.trace) this.trace.line(`← WebSocket ${this.trace.url} failed: ${message}`)
    this.emit('error', { message })
    this.closed(1006, '')
  }

  private closed(code: number, reason: string): void {
    if (this.ended) return
    this.ended = true
    this.socket?.destroy()
    this.transport.destroy()
    this.emit('close', { code, reason })
  }

  private received(chunk: Buffer): void {
    this.buffered.push(chunk)
    this.bufferedBytes += chunk.length
    while (!this.ended) {
      const frame = this.nextFrame()
      if (!frame) return
      this.handle(frame.fin, frame.opcode, frame.payload)
    }
  }

  /** The next whole frame from the buffered bytes, or undefined until more arrive (failing the socket on a frame it will not read). */
  private nextFrame(): { fin: boolean; opcode: number; payload: Buffer } | undefined {
    if (this.bufferedBytes < 2) return undefined
    // The header from the first bytes (at most 10; joined only when they straddle chunks).
    let first = this.buffered[0]
    if (first.length < 10 && this.buffered.length > 1) {
      first = Buffer.concat(this.buffered, this.bufferedBytes)
      this.buffered = [first]
    }
    const fin = (first[0] & 0x80) !== 0
    const opcode = first[0] & 0x0f
    if (first[0] & 0x70) return void this.fail('the server sent a frame with reserved bits set (no extension was agreed)')
    if (first[1] & 0x80) return void this.fail('the server sent a masked frame (servers must not mask)')
    let length = first[1] & 0x7f
    let offset = 2
    if (length === 126) {
      if (first.length < 4) return undefined
      length = first.readUInt16BE(2)
      offset = 4
    } else if (length === 127) {
      if (first.length < 10) return undefined
      const big = first.readBigUInt64BE(2)
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big)
      offset = 10
    }
    const control = opcode >= 8
    if (control && (length > 125 || !fin)) return void this.fail('the server sent a control frame longer than 125 bytes or fragmented')
    if (length + this.fragmentsBytes > this.maxBytes) {
      return void this.fail(`the server sent a message of ${length + this.fragmentsBytes} bytes, more than the ${this.maxBytes} pdsctl reads`)
    }
    // The whole frame joined once, when its last byte has come (not on every chunk).
    if (this.bufferedBytes < offset + length) return undefined
    const data = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedBytes)
    const payload = data.subarray(offset, offset + length)
    const rest = data.subarray(offset + length)
    this.buffered = rest.length ? [rest] : []
    this.bufferedBytes = rest.length
    return { fin, opcode, payload }
  }

  private handle(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x8: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
        // Answer the close (as RFC 6455 asks), then the connection is over.
        if (this.socket && !this.socket.destroyed) this.socket.end(clientFrame(8, payload.subarray(0, 2)), () => this.socket?.destroy())
        return this.closed(code, new TextDecoder().decode(payload.subarray(2)))
      }
      case 0x9:
        this.socket?.write(clientFrame(0xa, payload))
        return
      case 0xa:
        return
      case 0x1:
      case 0x2:
        if (this.fragments.length) return this.fail('the server began a message inside another')
        if (fin) return this.message(opcode, payload)
        this.fragmentsOpcode = opcode
        this.fragments = [Buffer.from(payload)]
        this.fragmentsBytes = payload.length
        return
      case 0x0: {
        if (!this.fragments.length) return this.fail('the server sent a continuation frame with no message to continue')
        this.fragments.push(Buffer.from(payload))
        this.fragmentsBytes += payload.length
        if (!fin) return
        const whole = Buffer.concat(this.fragments, this.fragmentsBytes)
        this.fragments = []
        this.fragmentsBytes = 0
        return this.message(this.fragmentsOpcode, whole)
      }
      default:
        return this.fail(`the server sent a frame with the unknown opcode ${opcode}`)
    }
  }

  private message(opcode: number, payload: Buffer): void {
    if (opcode === 0x1) return this.emit('message', { data: new TextDecoder().decode(payload) })
    // A copy that owns its memory: the payload is a view into the socket's buffer.
    const data = new ArrayBuffer(payload.length)
    new Uint8Array(data).set(payload)
    this.emit('message', { data })
  }
}

/** A client frame (FIN set, masked, as RFC 6455 requires of clients). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4)
  const length = payload.length
  const header = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 255])
  const masked = Buffer.alloc(length)
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i & 3]
  return Buffer.concat([header, mask, masked])
}
