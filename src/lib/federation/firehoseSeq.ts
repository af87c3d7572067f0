// The PDS's latest firehose seq. The PDS publishes it nowhere but inside
// com.atproto.sync.subscribeRepos, and a subscription without a cursor only shows events
// that happen later. But the PDS answers a cursor beyond its latest seq with the error
// frame FutureCursor at once, replays from any earlier cursor at once, and stays silent on
// exactly its latest seq. So a bracketing search over cursors, each probe reading only the
// first frame, finds the latest seq in about 2·log2(gap) short connections.
import { PdsctlError } from '../errors.js'
import { PdsctlWebSocket } from '../pds/webSocket.js'

export interface SeqProbeOptions {
  /** Start the search here (e.g. what a relay last saw); default 0. */
  from?: number
  /** How long to wait for a first frame before the answers confirm "this cursor is the latest" (default 500 ms; widened when the firehose is slow). */
  silenceMs?: number
  /** Give up after this long overall (default 15 s). */
  deadlineMs?: number
  /** Each probe's cursor and answer (for --debug). */
  onProbe?: (cursor: number, answer: string) => void
  /** --debug: each WebSocket's own lines (its URL, the proxy it goes through, how it opened). */
  debug?: (line: string) => void
}

export interface SeqProbe {
  seq: number | null
  /** Connections made. */
  probes: number
  /** Why seq is null. */
  error: string | null
}

type Outcome = { kind: 'future' } | { kind: 'event'; seq: number | null } | { kind: 'silent' }

export async function probeLatestSeq(baseUrl: string, opts: SeqProbeOptions = {}): Promise<SeqProbe> {
  const silenceMs = opts.silenceMs ?? 500
  const deadline = Date.now() + (opts.deadlineMs ?? 15_000)
  const wsBase = baseUrl.replace(/^http/, 'ws').replace(/\/$/, '') + '/xrpc/com.atproto.sync.subscribeRepos'
  let probes = 0
  let silenceWindow = silenceMs
  const probe = async (cursor: number): Promise<Outcome> => {
    const out = await probeOnce(cursor)
    opts.onProbe?.(cursor, out.kind === 'event' ? `event seq ${out.seq}` : out.kind)
    return out
  }
  const probeOnce = (cursor: number): Promise<Outcome> => {
    probes++
    return new Promise((resolve, reject) => {
      const ws = new PdsctlWebSocket(`${wsBase}?cursor=${cursor}`, { debug: opts.debug })
      let settled = false
      const done = (fn: () => void) => {
        if (settled) return
        settled = true
        clearTimeout(openTimer)
        clearTimeout(silence)
        ws.close()
        fn()
      }
      const openTimer = setTimeout(() => done(() => reject(new PdsctlError('the firehose did not open within 10 s'))), 10_000)
      let silence: ReturnType<typeof setTimeout> | undefined
      ws.addEventListener('open', () => {
        clearTimeout(openTimer)
        silence = setTimeout(() => done(() => resolve({ kind: 'silent' })), silenceWindow)
      })
      ws.addEventListener('message', (ev) => {
        let frame: Frame
        try {
          frame = readFrame(new Uint8Array(ev.data as ArrayBuffer))
        } catch (err) {
          return done(() => reject(err instanceof PdsctlError ? err : new PdsctlError(`unreadable firehose frame (${String(err)})`)))
        }
        if (frame.header.op === -1) {
          if (frame.body.error === 'FutureCursor') return done(() => resolve({ kind: 'future' }))
          return done(() => reject(new PdsctlError(`the firehose answered ${String(frame.body.error)}${frame.body.message ? `: ${String(frame.body.message)}` : ''}`)))
        }
        const seq = typeof frame.body.seq === 'number' ? frame.body.seq : null
        // The PDS's outbox can pass on events its sequencer announces late, even ones at or
        // below the cursor asked for: those say nothing about what lies after the cursor.
        if (seq !== null && seq <= cursor) return
        // #info (OutdatedCursor) has no seq but also means there are events after this cursor.
        done(() => resolve({ kind: 'event', seq }))
      })
      ws.addEventListener('error', (ev) => done(() => reject(new PdsctlError(`the firehose did not open (${(ev as Event & { message?: string }).message || 'upgrade refused'})`))))
      ws.addEventListener('close', (ev) => done(() => reject(new PdsctlError(`the firehose closed with code ${(ev as CloseEvent).code} before answering`))))
    })
  }
  // Silence alone is not trusted (a slow FutureCursor looks the same): it is confirmed by
  // answers — c+1 must be in the future and c-1 must replay exactly c.
  type Answer = { kind: 'future' } | { kind: 'event'; seq: number | null } | { kind: 'exact' }
  const ask = async (c: number): Promise<Answer> => {
    for (let attempt = 0; ; attempt++) {
      const out = await probe(c)
      if (out.kind !== 'silent') return out
      const above = await probe(c + 1)
      if (above.kind === 'event') return above
      if (above.kind === 'future') {
        if (c === 0) return { kind: 'exact' }
        const below = await probe(c - 1)
        if (below.kind === 'event') return below.seq === null || below.seq === c ? { kind: 'exact' } : below
        if (below.kind === 'future') return { kind: 'future' }
      }
      // Silent twice over: the firehose answers slower than the window. Widen it once.
      if (attempt >= 1 || Date.now() > deadline) throw new PdsctlError(`the firehose answers too slowly to tell (no answer within ${silenceWindow} ms)`)
      silenceWindow *= 3
    }
  }
  try {
    // Invariant once bracketed: lo <= latest < hi. lo only ever holds a seq known to exist
    // (or 0); hi a cursor the PDS called FutureCursor.
    const from = Math.max(0, Math.floor(opts.from ?? 0))
    let lo: number
    let hi: number | undefined
    const first = await ask(from)
    if (first.kind === 'exact') return { seq: from, probes, error: null }
    if (first.kind === 'future') {
      lo = 0
      hi = from
    } else {
      lo = Math.max(from + 1, first.seq ?? from + 1)
    }
    // Gallop upward until a cursor is in the future.
    for (let step = 1; hi === undefined; step *= 2) {
      if (Date.now() > deadline) return { seq: null, probes, error: `no answer within the time limit (the latest is at least ${lo})` }
      const cursor = lo + step
      const out = await ask(cursor)
      if (out.kind === 'exact') return { seq: cursor, probes, error: null }
      if (out.kind === 'future') hi = cursor
      else lo = Math.max(cursor + 1, out.seq ?? cursor + 1)
    }
    // Bisect.
    while (hi - lo > 1) {
      if (Date.now() > deadline) return { seq: null, probes, error: `no answer within the time limit (the latest is between ${lo} and ${hi - 1})` }
      const mid = Math.floor((lo + hi) / 2)
      const out = await ask(mid)
      if (out.kind === 'exact') return { seq: mid, probes, error: null }
      if (out.kind === 'future') hi = mid
      else lo = Math.max(mid + 1, out.seq ?? mid + 1)
    }
    return { seq: lo, probes, error: null }
  } catch (err) {
    return { seq: null, probes, error: err instanceof PdsctlError ? err.message : String(err) }
  }
}

interface Frame {
  header: { op?: number; t?: string }
  body: Record<string, unknown>
}

/** An event-stream frame: two DAG-CBOR values back to back (header, then body). */
export function readFrame(buf: Uint8Array): Frame {
  const r = { buf, pos: 0 }
  const header = readCbor(r) as Frame['header']
  const body = readCbor(r) as Frame['body']
  if (!header || typeof header !== 'object' || !body || typeof body !== 'object') throw new PdsctlError('a firehose frame is not two CBOR maps')
  return { header, body }
}

/** Deeper than any event-stream frame nests (a #commit's ops: 4 levels); a hostile frame nested 100,000 deep is refused here, not by the stack. */
const MAX_CBOR_DEPTH = 32

// Just enough CBOR for event-stream frames (DAG-CBOR: definite lengths only). A map's keys
// become own properties whatever they are (`__proto__` included: defineProperty, not assignment).
function readCbor(r: { buf: Uint8Array; pos: number }, depth = 0): unknown {
  if (depth > MAX_CBOR_DEPTH) throw new PdsctlError(`CBOR nested deeper than ${MAX_CBOR_DEPTH} levels`)
  const need = (n: number) => {
    if (r.pos + n > r.buf.length) throw new PdsctlError('truncated CBOR')
  }
  need(1)
  const ib = r.buf[r.pos++]
  const major = ib >> 5
  const info = ib & 31
  const arg = (): number => {
    if (info < 24) return info
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1
    if (size < 0) throw new PdsctlError('indefinite-length CBOR is not DAG-CBOR')
    need(size)
    let v = 0
    for (let i = 0; i < size; i++) v = v * 256 + r.buf[r.pos++]
    return v
  }
  switch (major) {
    case 0:
      return arg()
    case 1:
      return -1 - arg()
    case 2: {
      const n = arg()
      need(n)
      const out = r.buf.subarray(r.pos, r.pos + n)
      r.pos += n
      return out
    }
    case 3: {
      const n = arg()
      need(n)
      const out = new TextDecoder().decode(r.buf.subarray(r.pos, r.pos + n))
      r.pos += n
      return out
    }
    case 4: {
      const n = arg()
      const out: unknown[] = []
      for (let i = 0; i < n; i++) out.push(readCbor(r, depth + 1))
      return out
    }
    case 5: {
      const n = arg()
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        const k = readCbor(r, depth + 1)
        Object.defineProperty(out, String(k), { value: readCbor(r, depth + 1), enumerable: true, writable: true, configurable: true })
      }
      return out
    }
    case 6:
      arg()
      return readCbor(r, depth + 1)
    default: {
      if (info === 20) return false
      if (info === 21) return true
      if (info === 22 || info === 23) return null
      if (info === 25 || info === 26 || info === 27) {
        const size = info === 25 ? 2 : info === 26 ? 4 : 8
        need(size)
        const view = new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, size)
        r.pos += size
        return size === 8 ? view.getFloat64(0) : size === 4 ? view.getFloat32(0) : view.getFloat16?.(0) ?? NaN
      }
      throw new PdsctlError(`unsupported CBOR simple value ${info}`)
    }
  }
}
