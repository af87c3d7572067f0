// The subset of SPDY/3.1 that kubectl's port-forward speaks (moby/spdystream): enough for
// a fake API server to accept kubectl's streams and pipe data streams to a backend.
// Frames: SYN_STREAM, SYN_REPLY, DATA, RST_STREAM, PING, GOAWAY; no flow control (Go's
// spdystream never sends WINDOW_UPDATE). See /work/shared/notes/kubectl-port-forward.md §3.1.
import net from 'node:net'
import zlib from 'node:zlib'
import { SPDY3_DICTIONARY } from './spdyDictionary.js'

export const SYN_STREAM = 1
export const SYN_REPLY = 2
export const RST_STREAM = 3
export const PING = 6
export const GOAWAY = 7
export const FLAG_FIN = 0x01
const MAX_DATA = 0xffffff // 24-bit length field

/** One kubectl connection: an error stream and a data stream sharing a requestid. */
interface StreamPair {
  errorId?: number
  dataId?: number
  backend?: net.Socket
  finished?: boolean
}

export interface SpdySessionOptions {
  backendPort: number
  /** A message to fail the next data stream with, as a kubelet does, or null to connect it. */
  takeForwardError(): string | null
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt16BE(0x8000 | 3, 0) // control bit + version 3
  h.writeUInt16BE(type, 2)
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4)
  return Buffer.concat([h, payload])
}

export function dataFrame(streamId: number, chunk: Buffer, fin = false): Buffer {
  const h = Buffer.alloc(8)
  h.writeUInt32BE(streamId & 0x7fffffff, 0)
  h.writeUInt32BE(((fin ? FLAG_FIN : 0) << 24) | chunk.length, 4)
  return Buffer.concat([h, chunk])
}

/** Split a byte stream into frames: calls onFrame(head, payload) for each complete one. */
export function frameReader(onFrame: (head: Buffer, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0)
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4) & 0xffffff
      if (buf.length < 8 + len) break
      const frame = Buffer.from(buf.subarray(0, 8 + len))
      buf = buf.subarray(8 + len)
      onFrame(frame.subarray(0, 8), frame.subarray(8))
    }
  }
}

/** Header blocks of one direction form one zlib stream; this inflates them in order. */
export function headerDecoder(): (block: Buffer) => Record<string, string> {
  let compressed = Buffer.alloc(0)
  let inflatedLength = 0
  return (block) => {
    // Synchronous inflate keeps frame order simple: inflate everything so far, keep the new tail.
    compressed = Buffer.concat([compressed, block])
    const all = zlib.inflateSync(compressed, { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    const nv = all.subarray(inflatedLength)
    inflatedLength = all.length
    const out: Record<string, string> = {}
    let off = 4
    for (let i = nv.readUInt32BE(0); i > 0; i--) {
      const nl = nv.readUInt32BE(off)
      const name = nv.subarray(off + 4, off + 4 + nl).toString()
      off += 4 + nl
      const vl = nv.readUInt32BE(off)
      out[name] = nv.subarray(off + 4, off + 4 + vl).toString()
      off += 4 + vl
    }
    return out
  }
}

/** Serve kubectl's port-forward streams on a socket already upgraded to SPDY/3.1. */
export function serveSpdy(socket: net.Socket, opts: SpdySessionOptions): void {
  let sentFirstReply = false
  const decodeHeaders = headerDecoder()
  const pairs = new Map<string, StreamPair>()
  const byStream = new Map<number, { pair: StreamPair; type: string }>()

  const write = (b: Uint8Array) => {
    if (!socket.destroyed) socket.write(b)
  }
  const data = (streamId: number, chunk: Buffer, fin = false) => {
    for (let off = 0; off < chunk.length; off += MAX_DATA) {
      const last = off + MAX_DATA >= chunk.length
      write(dataFrame(streamId, chunk.subarray(off, off + MAX_DATA), fin && last))
    }
    if (chunk.length === 0) write(dataFrame(streamId, chunk, fin))
  }
  const synReply = (streamId: number) => {
    // An empty header block as zlib "stored" blocks, no compressor needed. Each block must
    // end with the sync-flush marker (00 00 00 ff ff) or Go's reader fails on the next reply.
    const block = Buffer.from([0x00, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xff])
    const nv = sentFirstReply ? block : Buffer.concat([Buffer.from([0x78, 0x01]), block])
    sentFirstReply = true
    const id = Buffer.alloc(4)
    id.writeUInt32BE(streamId & 0x7fffffff, 0)
    write(controlFrame(SYN_REPLY, 0, Buffer.concat([id, nv])))
  }
  // kubectl reads the error stream to EOF before it closes the local connection, so the
  // error stream must be FINed along with the data stream.
  const finishPair = (pair: StreamPair, message?: string) => {
    if (pair.finished) return
    pair.finished = true
    if (message && pair.errorId !== undefined) data(pair.errorId, Buffer.from(message))
    if (pair.dataId !== undefined) data(pair.dataId, Buffer.alloc(0), true)
    if (pair.errorId !== undefined) data(pair.errorId, Buffer.alloc(0), true)
  }
  const openData = (pair: StreamPair) => {
    const failure = opts.takeForwardError()
    if (failure) return finishPair(pair, failure)
    const backend = net.connect(opts.backendPort, '127.0.0.1')
    pair.backend = backend
    backend.on('data', (chunk: Buffer) => data(pair.dataId!, chunk))
    backend.on('end', () => finishPair(pair))
    backend.on('error', (err) => finishPair(pair, `error forwarding port ${opts.backendPort}: ${err.message}`))
  }

  const onFrame = (head: Buffer, payload: Buffer) => {
    if (!(head[0] & 0x80)) {
      const s = byStream.get(head.readUInt32BE(0) & 0x7fffffff)
      const backend = s?.type === 'data' ? s.pair.backend : undefined
      if (!backend || backend.destroyed) return
      if (payload.length) backend.write(payload)
      if (head[4] & FLAG_FIN) backend.end()
      return
    }
    const type = head.readUInt16BE(2)
    if (type === SYN_STREAM) {
      const streamId = payload.readUInt32BE(0) & 0x7fffffff
      // stream-id(4) assoc-id(4) priority(1) slot(1), then the header block
      const headers = decodeHeaders(payload.subarray(10))
      const requestId = headers.requestid ?? String(streamId)
      const pair = pairs.get(requestId) ?? {}
      pairs.set(requestId, pair)
      byStream.set(streamId, { pair, type: headers.streamtype })
      if (headers.streamtype === 'error') pair.errorId = streamId
      else pair.dataId = streamId
      synReply(streamId)
      if (headers.streamtype === 'data') openData(pair)
    } else if (type === RST_STREAM) {
      byStream.get(payload.readUInt32BE(0) & 0x7fffffff)?.pair.backend?.destroy()
    } else if (type === PING) {
      write(Buffer.concat([head, payload])) // echo unchanged
    } else if (type === GOAWAY) {
      socket.end()
    }
  }

  const read = frameReader((head, payload) => {
    try {
      onFrame(head, payload)
    } catch {
      // A frame we cannot parse ends the session instead of crashing the test process.
      socket.destroy()
    }
  })
  socket.on('data', read)
  const cleanup = () => {
    for (const p of pairs.values()) p.backend?.destroy()
  }
  socket.on('close', cleanup)
  socket.on('error', cleanup)
}
