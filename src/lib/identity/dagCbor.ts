// DAG-CBOR (https://ipld.io/specs/codecs/dag-cbor/spec/), the subset atproto uses: maps
// with string keys, arrays, text, bytes, integers, null, booleans, and CID links (tag 42).
// PLC operations are signed and hashed as it; a repository commit is one block of it.
// Encoding is canonical (map keys by encoded length, then bytewise; shortest integer
// forms). Decoding reads untrusted bytes: every length is checked against what is left,
// nesting is bounded, and anything outside the subset (floats, other tags, indefinite
// lengths, duplicate or unordered keys) is an error rather than a guess.
import { CID } from 'multiformats/cid'

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

/**
 * The encoder's output: headers and short values byte by byte, long strings and bytes as
 * whole chunks (a lying PLC directory's 3 MB field pushed byte by byte into a number[] took
 * seconds; as a chunk, a copy).
 */
class Sink {
  private chunks: Uint8Array[] = []
  private small: number[] = []
  private size = 0

  push(...bytes: number[]): void {
    for (const b of bytes) this.small.push(b)
  }

  bytes(b: Uint8Array): void {
    if (b.length < 64) {
      for (const x of b) this.small.push(x)
      return
    }
    this.flush()
    this.chunks.push(b)
    this.size += b.length
  }

  private flush(): void {
    if (!this.small.length) return
    this.chunks.push(Uint8Array.from(this.small))
    this.size += this.small.length
    this.small = []
  }

  result(): Uint8Array {
    this.flush()
    const out = new Uint8Array(this.size)
    let at = 0
    for (const c of this.chunks) {
      out.set(c, at)
      at += c.length
    }
    return out
  }
}

function header(major: number, n: number, out: Sink): void {
  const m = major << 5
  if (n < 24) out.push(m | n)
  else if (n < 0x100) out.push(m | 24, n)
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff)
  else if (n < 0x100000000) out.push(m | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff)
  else {
    const big = BigInt(n)
    out.push(m | 27)
    for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((big >> shift) & 0xffn))
  }
}

function pushBytes(bytes: Uint8Array, out: Sink): void {
  out.bytes(bytes)
}

function encodeInto(value: unknown, out: Sink): void {
  if (value === null) out.push(0xf6)
  else if (value === true) out.push(0xf5)
  else if (value === false) out.push(0xf4)
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('DAG-CBOR: only safe integers are encoded here')
    if (value >= 0) header(0, value, out)
    else header(1, -1 - value, out)
  } else if (typeof value === 'string') {
    const bytes = utf8.encode(value)
    header(3, bytes.length, out)
    pushBytes(bytes, out)
  } else if (value instanceof Uint8Array) {
    header(2, value.length, out)
    pushBytes(value, out)
  } else if (Array.isArray(value)) {
    header(4, value.length, out)
    for (const v of value) encodeInto(v, out)
  } else if (value instanceof CID) {
    // Tag 42: the CID's binary form behind a 0x00 (the identity multibase prefix).
    out.push(0xd8, 42)
    header(2, value.bytes.length + 1, out)
    out.push(0)
    pushBytes(value.bytes, out)
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [utf8.encode(k), v] as const)
      .sort(([a], [b]) => a.length - b.length || Buffer.compare(a, b))
    header(5, entries.length, out)
    for (const [k, v] of entries) {
      header(3, k.length, out)
      pushBytes(k, out)
      encodeInto(v, out)
    }
  } else throw new TypeError(`DAG-CBOR: cannot encode a ${typeof value}`)
}

/** The canonical DAG-CBOR bytes of a value (CIDs as multiformats CID objects, bytes as Uint8Array). */
export function encodeDagCbor(value: unknown): Uint8Array {
  const out = new Sink()
  encodeInto(value, out)
  return out.result()
}

export class DagCborError extends Error {}

const MAX_DEPTH = 64

/** Decode one DAG-CBOR value that fills `bytes` exactly. Throws DagCborError for anything else. */
export function decodeDagCbor(bytes: Uint8Array): unknown {
  let pos = 0
  const fail = (why: string): never => {
    throw new DagCborError(`DAG-CBOR: ${why} at byte ${pos}`)
  }
  const take = (n: number): Uint8Array => {
    if (n > bytes.length - pos) fail('truncated')
    const b = bytes.subarray(pos, pos + n)
    pos += n
    return b
  }
  const arg = (info: number): number => {
    if (info < 24) return info
    if (info === 24) {
      const n = take(1)[0]
      if (n < 24) fail('non-minimal integer')
      return n
    }
    if (info === 25) {
      const b = take(2)
      const n = (b[0] << 8) | b[1]
      if (n < 0x100) fail('non-minimal integer')
      return n
    }
    if (info === 26) {
      const b = take(4)
      const n = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3]
      if (n < 0x10000) fail('non-minimal integer')
      return n
    }
    if (info === 27) {
      const b = take(8)
      let n = 0n
      for (const x of b) n = (n << 8n) | BigInt(x)
      if (n < 0x100000000n) fail('non-minimal integer')
      if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail('integer too large')
      return Number(n)
    }
    return fail(info === 31 ? 'indefinite length' : 'reserved additional information')
  }
  const item = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('nested too deeply')
    const first = take(1)[0]
    const major = first >> 5
    const info = first & 0x1f
    switch (major) {
      case 0:
        return arg(info)
      case 1:
        return -1 - arg(info)
      case 2:
        return Uint8Array.from(take(arg(info)))
      case 3:
        try {
          return utf8Strict.decode(take(arg(info)))
        } catch (err) {
          if (err instanceof DagCborError) throw err
          return fail('text that is not UTF-8')
        }
      case 4: {
        const n = arg(info)
        if (n > bytes.length - pos) fail('array longer than the input')
        const a: unknown[] = []
        for (let i = 0; i < n; i++) a.push(item(depth + 1))
        return a
      }
      case 5: {
        const n = arg(info)
        if (n > bytes.length - pos) fail('map longer than the input')
        const m: Record<string, unknown> = {}
        let previous: Uint8Array | undefined
        for (let i = 0; i < n; i++) {
          const kFirst = take(1)[0]
          if (kFirst >> 5 !== 3) fail('a map key that is not text')
          const kBytes = take(arg(kFirst & 0x1f))
          if (previous && (previous.length > kBytes.length || (previous.length === kBytes.length && Buffer.compare(previous, kBytes) >= 0))) fail('map keys out of order or repeated')
          previous = kBytes
          let key: string
          try {
            key = utf8Strict.decode(kBytes)
          } catch {
            return fail('a map key that is not UTF-8')
          }
          // Defined, not assigned: a key "__proto__" is data like any other.
          Object.defineProperty(m, key, { value: item(depth + 1), enumerable: true, writable: true, configurable: true })
        }
        return m
      }
      case 6: {
        if (arg(info) !== 42) fail('a tag other than 42')
        const b = item(depth + 1)
        if (!(b instanceof Uint8Array) || b[0] !== 0) fail('a CID link that is not bytes behind 0x00')
        try {
          const [cid, rest] = CID.decodeFirst((b as Uint8Array).subarray(1))
          if (rest.length) fail('bytes after a CID link')
          return cid
        } catch (err) {
          if (err instanceof DagCborError) throw err
          return fail('a malformed CID link')
        }
      }
      default:
        if (first === 0xf6) return null
        if (first === 0xf5) return true
        if (first === 0xf4) return false
        return fail('a float or simple value DAG-CBOR does not allow here')
    }
  }
  const value = item(0)
  if (pos !== bytes.length) fail('bytes after the value')
  return value
}
