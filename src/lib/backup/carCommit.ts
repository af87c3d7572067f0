// The root commit of a repository CAR (its DID and rev), read from the file with a small
// CAR v1 and DAG-CBOR reader of our own: `backup` needs only those two fields of each CAR
// it saves, and loading @atproto/repo for them cost ~320 ms of module loading per run (a
// sixth of a 20-account backup's CPU). What @atproto/repo checked there is checked here: one
// root, the root block's bytes against its CID's sha256 (before they are read), the commit's
// shape as its `def.commit` (did and rev text, version 3, data a CID, prev a CID or null, sig
// bytes). The file is data from a server: no length it states is allocated before the file
// is known to hold it, a block that is not the root is skipped unread past its CID, and a
// root block larger than a commit can be is refused. The commit is usually the CAR's first
// block, so reading stops after a few KB. `backup verify` still parses every CAR with
// @atproto/repo (every block against its CID, the signature).
// The few KB are read with synchronous reads on a descriptor: a read from the page cache
// is a few microseconds on the main thread, where a FileHandle's open, stat, reads and
// close through the thread pool cost ~0.3 ms of CPU each time (the backup reads every CAR
// it saves).
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs'
import { CID } from 'multiformats/cid'

/** A commit is a few hundred bytes (a DID, a rev, two CIDs, a signature); anything near this is not one. */
const MAX_COMMIT_BLOCK = 64 * 1024
/** The CAR header: a version and one root CID. */
const MAX_HEADER = 64 * 1024

class CarReader {
  private buf = Buffer.alloc(0)
  private pos = 0
  /** Where in the file `buf` ends (the next read starts there). */
  private fileAt = 0
  constructor(
    private readonly fd: number,
    private readonly fileSize: number,
  ) {}

  /** Bytes of the file not consumed yet. */
  private left(): number {
    return this.buf.length - this.pos + (this.fileSize - this.fileAt)
  }

  private fill(n: number): void {
    if (n > this.left()) throw new Error('the CAR ends early')
    while (this.buf.length - this.pos < n) {
      const want = Math.min(Math.max(65536, n), this.fileSize - this.fileAt)
      const chunk = Buffer.allocUnsafe(want)
      const bytesRead = readSync(this.fd, chunk, 0, want, this.fileAt)
      if (bytesRead === 0) throw new Error('the CAR ends early')
      this.fileAt += bytesRead
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, bytesRead)])
      this.pos = 0
    }
  }

  atEnd(): boolean {
    return this.left() === 0
  }

  varint(): number {
    let value = 0
    for (let shift = 0; shift < 49; shift += 7) {
      this.fill(1)
      const b = this.buf[this.pos++]
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
    }
    throw new Error('a varint is too long')
  }

  /** The next `n` bytes; `n` checked against what the file still holds before anything is allocated. */
  bytes(n: number): Buffer {
    this.fill(n)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** Up to `n` next bytes, without consuming them. */
  peek(n: number): Buffer {
    this.fill(Math.min(n, this.left()))
    return this.buf.subarray(this.pos, this.pos + Math.min(n, this.buf.length - this.pos))
  }

  /** Pass over `n` bytes unread. */
  skip(n: number): void {
    if (n > this.left()) throw new Error('the CAR ends early')
    const inBuf = this.buf.length - this.pos
    if (n <= inBuf) {
      this.pos += n
      return
    }
    this.fileAt += n - inBuf
    this.buf = Buffer.alloc(0)
    this.pos = 0
  }
}

/** A CID link (CBOR tag 42): its bytes, decoded only when asked (asCid). Its own class, so that a map with a `cid` key is never taken for one. */
class CidLink {
  constructor(readonly bytes: Uint8Array) {}
}

/** A DAG-CBOR value: maps (no prototype), arrays, text, bytes, integers, floats, null/booleans, CID links. */
type Cbor = null | boolean | number | string | Uint8Array | CidLink | Cbor[] | { [k: string]: Cbor }

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
        if (at + 8 > b.length) throw new Error('a CBOR float past the end')
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
      case 4: {
        // Every item takes a byte at least: a count the block cannot hold is refused before anything is made.
        if (n > b.length - at) throw new Error('a CBOR array past the end')
        const a: Cbor[] = []
        for (let i = 0; i < n; i++) a.push(item(depth + 1))
        return a
      }
      case 5: {
        if (n > (b.length - at) / 2) throw new Error('a CBOR map past the end')
        // No prototype: a key named __proto__ is a key like any other.
        const m = Object.create(null) as { [k: string]: Cbor }
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1)
          if (typeof k !== 'string') throw new Error('a CBOR map key that is not text')
          if (Object.hasOwn(m, k)) throw new Error('a CBOR map with a key twice')
          m[k] = item(depth + 1)
        }
        return m
      }
      case 6: {
        const v = item(depth + 1)
        if (n === 42 && v instanceof Uint8Array && v[0] === 0) return new CidLink(v.subarray(1))
        throw new Error(`an unexpected CBOR tag ${n}`)
      }
    }
    throw new Error('bad CBOR')
  }
  const value = item(0)
  if (at !== b.length) throw new Error('bytes after the CBOR value')
  return value
}

/** A CID (tag 42) decoded from the CBOR, or undefined. */
function asCid(v: Cbor | undefined): CID | undefined {
  if (!(v instanceof CidLink)) return undefined
  try {
    return CID.decode(v.bytes)
  } catch {
    return undefined
  }
}

/** The root commit of the CAR in `file` (opened without following a link): its CID and the commit's DID and rev. */
export async function readCarCommit(file: string): Promise<{ root: string; commit: { did: string; rev: string } }> {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    return readCarCommitFd(fd)
  } finally {
    closeSync(fd)
  }
}

/** The same, from a file descriptor the caller opened (and closes). Synchronous: see the top of this file. */
export function readCarCommitFd(fd: number): { root: string; commit: { did: string; rev: string } } {
  const st = fstatSync(fd)
  if (!st.isFile()) throw new Error('not a regular file')
  const r = new CarReader(fd, st.size)
  const headerLen = r.varint()
  if (headerLen > MAX_HEADER) throw new Error('not a CAR v1 with one root')
  const header = decodeCbor(r.bytes(headerLen)) as { roots?: Cbor[]; version?: number }
  const rootCid = Array.isArray(header?.roots) && header.roots.length === 1 ? asCid(header.roots[0]) : undefined
  if (header?.version !== 1 || !rootCid) throw new Error('not a CAR v1 with one root')
  if (rootCid.multihash.code !== 0x12) throw new Error('the root is not sha256-addressed')
  const rootBytes = Buffer.from(rootCid.bytes)
  while (!r.atEnd()) {
    const blockLen = r.varint()
    // Only the CID is read of a block that is not the root.
    // (CIDs are prefix-free: a block starting with the root's bytes is the root's block.)
    const head = r.peek(Math.min(blockLen, rootBytes.length))
    if (head.length < rootBytes.length || !rootBytes.equals(head)) {
      r.skip(blockLen)
      continue
    }
    if (blockLen > MAX_COMMIT_BLOCK) throw new Error('the root block is too large to be a commit')
    const data = r.bytes(blockLen).subarray(rootBytes.length)
    if (!Buffer.from(rootCid.multihash.digest).equals(createHash('sha256').update(data).digest())) {
      throw new Error('the root block does not match its CID')
    }
    const commit = decodeCbor(data) as { [k: string]: Cbor } | null
    // The shape @atproto/repo's def.commit requires.
    if (
      typeof commit !== 'object' ||
      commit === null ||
      Array.isArray(commit) ||
      typeof commit.did !== 'string' ||
      typeof commit.rev !== 'string' ||
      commit.version !== 3 ||
      !asCid(commit.data) ||
      (commit.prev !== null && !asCid(commit.prev)) ||
      !(commit.sig instanceof Uint8Array)
    ) {
      throw new Error('the root block is not a commit')
    }
    return { root: rootCid.toString(), commit: { did: commit.did, rev: commit.rev } }
  }
  throw new Error('the root commit block is missing')
}
