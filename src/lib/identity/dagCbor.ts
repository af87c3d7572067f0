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
 * The bytes being encoded: a Uint8Array that doubles when full, written in place. (A plain
 * array of numbers pushed one byte at a time cost ~10 KB of garbage per commit checked, a
 * tenth of what `identity check` allocated per account.)
 */
class Writer {
  buf = new Uint8Array(256)
  len = 0
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const bigger = new Uint8Array(size)
    bigger.set(this.buf.subarray(0, this.len))
    this.buf = bigger
  }
  byte(b: number): void {
    this.room(1)
    this.buf[this.len++] = b
  }
  bytes(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }
  /** UTF-8 text behind its header (major type 3), encoded straight into the buffer. */
  text(s: string): void {
    // At most 3 bytes per UTF-16 unit; the header takes at most 9.
    this.room(9 + s.length * 3)
    const at = this.len
    const head = s.length < 24 ? 1 : s.length * 3 < 0x100 ? 2 : s.length * 3 < 0x10000 ? 3 : 5
    const { written } = utf8.encodeInto(s, this.buf.subarray(at + head))
    const fit = written < 24 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : written < 0x100000000 ? 5 : 9
    // The header's size depends on the byte length: move the text when the guess was wrong.
    if (fit !== head) this.buf.copyWithin(at + fit, at + head, at + head + written)
    this.len = at
    header(3, written, this)
    this.len = at + fit + written
  }
}

function header(major: number, n: number, out: Writer): void {
  const m = major << 5
  if (n < 24) out.byte(m | n)
  else if (n < 0x100) {
    out.byte(m | 24)
    out.byte(n)
  } else if (n < 0x10000) {
    out.byte(m | 25)
    out.byte(n >> 8)
    out.byte(n & 0xff)
  } else if (n < 0x100000000) {
    out.byte(m | 26)
    for (let shift = 24; shift >= 0; shift -= 8) out.byte((n >>> shift) & 0xff)
  } else {
    // Safe integers only: the high word is exact, the low word is the remainder.
    out.byte(m | 27)
    const high = Math.floor(n / 0x100000000)
    const low = n - high * 0x100000000
    for (let shift = 24; shift >= 0; shift -= 8) out.byte((high >>> shift) & 0xff)
    for (let shift = 24; shift >= 0; shift -= 8) out.byte((low >>> shift) & 0xff)
  }
}

/** Map keys in canonical order: by UTF-8 length, then bytewise (for ASCII keys, the string order). */
function keyOrder(a: [Uint8Array, unknown], b: [Uint8Array, unknown]): number {
  return a[0].length - b[0].length || Buffer.compare(a[0], b[0])
}

function encodeInto(value: unknown, out: Writer): void {
  if (value === null) out.byte(0xf6)
  else if (value === true) out.byte(0xf5)
  else if (value === false) out.byte(0xf4)
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('DAG-CBOR: only safe integers are encoded here')
    if (value >= 0) header(0, value, out)
    else header(1, -1 - value, out)
  } else if (typeof value === 'string') out.text(value)
  else if (value instanceof Uint8Array) {
    header(2, value.length, out)
    out.bytes(value)
  } else if (Array.isArray(value)) {
    header(4, value.length, out)
    for (const v of value) encodeInto(v, out)
  } else if (value instanceof CID) {
    // Tag 42: the CID's binary form behind a 0x00 (the identity multibase prefix).
    out.byte(0xd8)
    out.byte(42)
    header(2, value.bytes.length + 1, out)
    out.byte(0)
    out.bytes(value.bytes)
  } else if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries: Array<[Uint8Array, unknown]> = []
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue
      const v = (value as Record<string, unknown>)[k]
      if (v !== undefined) entries.push([utf8.encode(k), v])
    }
    entries.sort(keyOrder)
    header(5, entries.length, out)
    for (const [k, v] of entries) {
      header(3, k.length, out)
      out.bytes(k)
      encodeInto(v, out)
    }
  } else throw new TypeError(`DAG-CBOR: cannot encode a ${typeof value}`)
}

/** The canonical DAG-CBOR bytes of a value (CIDs as multiformats CID objects, bytes as Uint8Array). */
export function encodeDagCbor(value: unknown): Uint8Array {
  const out = new Writer()
  encodeInto(value, out)
  // An exact-size copy: callers may hand `.buffer` on (a signer), which must hold nothing else.
  return out.buf.slice(0, out.len)
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
  // One byte, and big-endian integers, read in place: a subarray per header byte was most of
  // what decoding a commit allocated.
  const byte = (): number => {
    if (pos >= bytes.length) fail('truncated')
    return bytes[pos++]
  }
  const uint = (size: number): number => {
    if (size > bytes.length - pos) fail('truncated')
    let n = 0
    for (let i = 0; i < size; i++) n = n * 256 + bytes[pos++]
    return n
  }
  const arg = (info: number): number => {
    if (info < 24) return info
    if (info === 24) {
      const n = byte()
      if (n < 24) fail('non-minimal integer')
      return n
    }
    if (info === 25) {
      const n = uint(2)
      if (n < 0x100) fail('non-minimal integer')
      return n
    }
    if (info === 26) {
      const n = uint(4)
      if (n < 0x10000) fail('non-minimal integer')
      return n
    }
    if (info === 27) {
      // In two halves: a double holds the high word times 2^32 exactly only up to 2^53.
      const high = uint(4)
      const low = uint(4)
      if (high === 0) fail('non-minimal integer')
      if (high > 0x1fffff) fail('integer too large')
      return high * 0x100000000 + low
    }
    return fail(info === 31 ? 'indefinite length' : 'reserved additional information')
  }
  const item = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('nested too deeply')
    const first = byte()
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
          const kFirst = byte()
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
          if (key === '__proto__') Object.defineProperty(m, key, { value: item(depth + 1), enumerable: true, writable: true, configurable: true })
          else m[key] = item(depth + 1)
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
