// The subset of SPDY/3.1 that kubectl's port-forward speaks (moby/spdystream): enough for
// a fake API server to accept kubectl's streams and pipe data streams to a backend.
// Frames: SYN_STREAM, SYN_REPLY, DATA, RST_STREAM, PING, GOAWAY; no flow control.
// See ../shared/notes/kubectl-port-forward.md §3.1.
import net from 'node:net'
import zlib from 'node:zlib'
import { SPDY3_DICTIONARY } from './spdyDictionary.js'

const SYN_STREAM = 1
const SYN_REPLY = 2
const RST_STREAM = 3
const PING = 6
const GOAWAY = 7
const FLAG_FIN = 0x01

interface StreamPair {
  errorId?: number
  dataId?: number
  backend?: net.Socket
}

export interface SpdySessionOptions {
  backendPort: number
  /** When set, the next data stream fails with this message, as a kubelet does. */
  takeForwardError(): string | null
}

/** Serve kubectl's port-forward streams on an upgraded socket. */
export function serveSpdy(socket: net.Socket, opts: SpdySessionOptions): void {
  let buf = Buffer.alloc(0)
  let compressed = Buffer.alloc(0)
  let inflatedLength = 0
  let sentFirstReply = false
  const pairs = new Map<string, StreamPair>()
  const byStream = new Map<number, { requestId: string; type: string }>()

  const control = (type: number, flags: number, payload: Buffer) => {
    const h = Buffer.alloc(8)
    h.writeUInt16BE(0x8000 | 3, 0)
    h.writeUInt16BE(type, 2)
    h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4)
    write(Buffer.concat([h, payload]))
  }
  const data = (streamId: number, chunk: Buffer, fin = false) => {
    for (let off = 0; off < chunk.length || (off === 0 && chunk.length === 0); off += 0xffff) {
      const part = chunk.subarray(off, off + 0xffff)
      const last = off + 0xffff >= chunk.length
      const h = Buffer.alloc(8)
      h.writeUInt32BE(streamId & 0x7fffffff, 0)
      h.writeUInt32BE((((fin && last ? FLAG_FIN : 0) & 0xff) << 24) | part.length, 4)
      write(Buffer.concat([h, part]))
      if (chunk.length === 0) break
    }
  }
  const write = (b: Buffer) => {
    if (!socket.destroyed) socket.write(b)
  }
  const synReply = (streamId: number) => {
    // An empty header block as zlib "stored" blocks; each reply must end with the
    // sync-flush marker (00 00 00 ff ff) or Go's reader fails on the next reply.
    const block = Buffer.from([0x00, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xff, 0xff])
    const nv = sentFirstReply ? block : Buffer.concat([Buffer.from([0x78, 0x01]), block])
    sentFirstReply = true
    const id = Buffer.alloc(4)
    id.writeUInt32BE(streamId & 0x7fffffff, 0)
    control(SYN_REPLY, 0, Buffer.concat([id, nv]))
  }
  const decodeHeaders = (block: Buffer): Record<string, string> => {
    // One zlib stream spans the connection: inflate everything so far, keep the new tail.
    compressed = Buffer.concat([compressed, block])
    const all = zlib.inflateSync(compressed, { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    const nv = all.subarray(inflatedLength)
    inflatedLength = all.length
    const out: Record<string, string> = {}
    const count = nv.readUInt32BE(0)
    let off = 4
    for (let i = 0; i < count; i++) {
      const nl = nv.readUInt32BE(off)
      const name = nv.subarray(off + 4, off + 4 + nl).toString()
      off += 4 + nl
      const vl = nv.readUInt32BE(off)
      out[name] = nv.subarray(off + 4, off + 4 + vl).toString()
      off += 4 + vl
    }
    return out
  }
  const finishPair = (pair: StreamPair) => {
    if (pair.dataId !== undefined) data(pair.dataId, Buffer.alloc(0), true)
    if (pair.errorId !== undefined) data(pair.errorId, Buffer.alloc(0), true)
  }
  const openData = (pair: StreamPair) => {
    const failure = opts.takeForwardError()
    if (failure) {
      if (pair.errorId !== undefined) data(pair.errorId, Buffer.from(failure))
      finishPair(pair)
      return
    }
    const backend = net.connect(opts.backendPort, '127.0.0.1')
    pair.backend = backend
    backend.on('data', (chunk: Buffer) => data(pair.dataId!, chunk))
    backend.on('end', () => finishPair(pair))
    backend.on('error', (err) => {
      if (pair.errorId !== undefined) data(pair.errorId, Buffer.from(`error forwarding port: ${err.message}`))
      finishPair(pair)
    })
  }

  const onFrame = (head: Buffer, payload: Buffer) => {
    if (head[0] & 0x80) {
      const type = head.readUInt16BE(2)
      if (type === SYN_STREAM) {
        const streamId = payload.readUInt32BE(0) & 0x7fffffff
        const headers = decodeHeaders(payload.subarray(10))
        const requestId = headers.requestid ?? String(streamId)
        const pair = pairs.get(requestId) ?? {}
        pairs.set(requestId, pair)
        byStream.set(streamId, { requestId, type: headers.streamtype })
        if (headers.streamtype === 'error') pair.errorId = streamId
        else pair.dataId = streamId
        synReply(streamId)
        if (headers.streamtype === 'data') openData(pair)
      } else if (type === RST_STREAM) {
        const s = byStream.get(payload.readUInt32BE(0) & 0x7fffffff)
        if (s) pairs.get(s.requestId)?.backend?.destroy()
      } else if (type === PING) {
        write(Buffer.concat([head, payload]))
      } else if (type === GOAWAY) {
        socket.end()
      }
      return
    }
    const streamId = head.readUInt32BE(0) & 0x7fffffff
    const fin = (head[4] & FLAG_FIN) !== 0
    const s = byStream.get(streamId)
    if (!s || s.type !== 'data') return
    const backend = pairs.get(s.requestId)?.backend
    if (!backend) return
    if (payload.length) backend.write(payload)
    if (fin) backend.end()
  }

  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4) & 0xffffff
      if (buf.length < 8 + len) break
      const head = buf.subarray(0, 8)
      const payload = buf.subarray(8, 8 + len)
      buf = buf.subarray(8 + len)
      onFrame(Buffer.from(head), Buffer.from(payload))
    }
  })
  const cleanup = () => {
    for (const p of pairs.values()) p.backend?.destroy()
  }
  socket.on('close', cleanup)
  socket.on('error', cleanup)
}
