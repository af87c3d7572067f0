// The root commit of a repository CAR (its DID and rev), read from the file with a small
// CAR v1 and DAG-CBOR reader of our own: `backup` needs only those two fields of each CAR
// it saves, and loading @atproto/repo for them cost ~320 ms of module loading per run (a
// sixth of a 20-account backup's CPU). The root block's bytes are checked against its
// CID's sha256 before they are read; the commit is usually the CAR's first block, so
// reading stops after a few KB. `backup verify` still parses every CAR with @atproto/repo.
import { createHash } from 'node:crypto'
import { open, type FileHandle } from 'node:fs/promises'
import { CID } from 'multiformats/cid'

class CarReader {
  private buf = Buffer.alloc(0)
  private pos = 0
  private eof = false
  constructor(private readonly fh: FileHandle) {}

  private async fill(n: number): Promise<void> {
    while (this.buf.length - this.pos < n) {
      if (this.eof) throw new Error('the CAR ends early')
      const chunk = Buffer.allocUnsafe(Math.max(65536, n))
      const { bytesRead } = await this.fh.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) this.eof = true
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, bytesRead)])
      this.pos = 0
    }
  }

  async atEnd(): Promise<boolean> {
    if (this.buf.length - this.pos > 0) return false
    try {
      await this.fill(1)
      return false
    } catch {
      return true
    }
  }

  async varint(): Promise<number> {
    let value = 0
    for (let shift = 0; shift < 49; shift += 7) {
      await this.fill(1)
      const b = this.buf[this.pos++]
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
    }
    throw new Error('a varint is too long')
  }

  async bytes(n: number): Promise<Buffer> {
    await this.fill(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
}

/** Read a varint from `b` at `at`: [value, next offset]. */
function varintAt(b: Uint8Array, at: number): [number, number] {
  let value = 0
  for (let shift = 0, i = at; i < b.length && shift < 49; shift += 7, i++) {
    value += (b[i] & 0x7f) * 2 ** shift
    if ((b[i] & 0x80) === 0) return [value, i + 1]
  }
  throw new Error('a bad varint')
}

/** The length of the CIDv1 at the start of `b` (version, codec, multihash code, digest length, digest). */
function cidLength(b: Uint8Array): number {
  let [version, at] = varintAt(b, 0)
  if (version !== 1) throw new Error(`a CID of version ${version}`)
  ;[, at] = varintAt(b, at) // codec
  ;[, at] = varintAt(b, at) // hash code
  const [len, next] = varintAt(b, at)
  return next + len
}

/** A DAG-CBOR value: maps, arrays, text, bytes, integers, null/booleans, CIDs (tag 42, as their bytes). */
type Cbor = null | boolean | number | string | Uint8Array | Cbor[] | { [k: string]: Cbor } | { cid: Uint8Array }

function decodeCbor(b: Uint8Array): Cbor {
  let at = 0
  const arg = (info: number): number => {
    if (info < 24) return info
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1
    if (n < 0 || at + n > b.length) throw new Error('a bad CBOR length')
    let v = 0
    for (let i = 0; i < n; i++) v = v * 256 + b[at++]
    return v
  }
  const item = (depth: number): Cbor => {
    if (depth > 64 || at >= b.length) throw new Error('bad CBOR')
    const first = b[at++]
    const major = first >> 5
    const info = first & 31
    if (major === 7) {
      if (info === 20) return false
      if (info === 21) return true
      if (info === 22) return null
      if (info === 27) {
        const v = Buffer.from(b.subarray(at, at + 8)).readDoubleBE(0)
        at += 8
        return v
      }
      throw new Error('an unexpected CBOR simple value')
    }
    const n = arg(info)
    switch (major) {
      case 0:
        return n
      case 1:
        return -1 - n
      case 2:
      case 3: {
        if (at + n > b.length) throw new Error('a CBOR string past the end')
        const s = b.subarray(at, at + n)
        at += n
        return major === 2 ? s : Buffer.from(s).toString('utf8')
      }
      case 4:
        return Array.from({ length: n }, () => item(depth + 1))
      case 5: {
        const m: { [k: string]: Cbor } = {}
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1)
          if (typeof k !== 'string') throw new Error('a CBOR map key that is not text')
          m[k] = item(depth + 1)
        }
        return m
      }
      case 6: {
        const v = item(depth + 1)
        if (n === 42 && v instanceof Uint8Array && v[0] === 0) return { cid: v.subarray(1) }
        throw new Error(`an unexpected CBOR tag ${n}`)
      }
    }
    throw new Error('bad CBOR')
  }
  return item(0)
}

/** The root commit of the CAR in `file`: its CID and the commit's DID and rev. */
export async function readCarCommit(file: string): Promise<{ root: string; commit: { did: string; rev: string } }> {
  const fh = await open(file, 'r')
  try {
    const r = new CarReader(fh)
    const header = decodeCbor(await r.bytes(await r.varint())) as { roots?: Array<{ cid?: Uint8Array }>; version?: number }
    if (header?.version !== 1 || !Array.isArray(header.roots) || header.roots.length !== 1 || !(header.roots[0]?.cid instanceof Uint8Array)) {
      throw new Error('not a CAR v1 with one root')
    }
    const rootBytes = Buffer.from(header.roots[0].cid)
    const root = CID.decode(rootBytes)
    while (!(await r.atEnd())) {
      const block = await r.bytes(await r.varint())
      const len = cidLength(block)
      if (!rootBytes.equals(block.subarray(0, len))) continue
      const data = block.subarray(len)
      if (root.multihash.code !== 0x12 || !Buffer.from(root.multihash.digest).equals(createHash('sha256').update(data).digest())) {
        throw new Error('the root block does not match its CID')
      }
      const commit = decodeCbor(data) as { did?: unknown; rev?: unknown }
      if (typeof commit?.did !== 'string' || typeof commit.rev !== 'string') throw new Error('the root block is not a commit')
      return { root: root.toString(), commit: { did: commit.did, rev: commit.rev } }
    }
    throw new Error('the root commit block is missing')
  } finally {
    await fh.close()
  }
}
