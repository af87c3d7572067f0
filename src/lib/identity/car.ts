// CAR files (https://ipld.io/specs/transport/car/carv1/), read strictly: a varint-prefixed
// DAG-CBOR header {version: 1, roots}, then varint-prefixed blocks, each a CID and its
// bytes. Every block is checked against its CID (sha256, the only hash atproto uses), so
// what comes back is what the CID names. For one small answer (getBlocks' commit block):
// the whole CAR is in memory.
import { CID } from 'multiformats/cid'
import { decodeDagCbor } from './dagCbor.js'
import { sha256 } from './ecdsa.js'

export class CarError extends Error {}

export interface CarBlock {
  cid: CID
  bytes: Uint8Array
}

function varint(bytes: Uint8Array, pos: number): [number, number] {
  let n = 0
  for (let i = 0; i < 8; i++) {
    if (pos + i >= bytes.length) throw new CarError('CAR: truncated length')
    const b = bytes[pos + i]
    n += (b & 0x7f) * 2 ** (7 * i)
    if (!(b & 0x80)) {
      if (i > 0 && b === 0) throw new CarError('CAR: non-minimal length')
      return [n, i + 1]
    }
  }
  throw new CarError('CAR: length too large')
}

export function readCar(bytes: Uint8Array): { roots: CID[]; blocks: CarBlock[] } {
  let [len, used] = varint(bytes, 0)
  let pos = used
  if (len > bytes.length - pos) throw new CarError('CAR: truncated header')
  const header = decodeDagCbor(bytes.subarray(pos, pos + len)) as { version?: unknown; roots?: unknown }
  if (typeof header !== 'object' || header === null || header.version !== 1 || !Array.isArray(header.roots) || !header.roots.every((r) => r instanceof CID)) {
    throw new CarError('CAR: not a version 1 header')
  }
  pos += len
  const blocks: CarBlock[] = []
  while (pos < bytes.length) {
    ;[len, used] = varint(bytes, pos)
    pos += used
    if (len > bytes.length - pos) throw new CarError('CAR: truncated block')
    const section = bytes.subarray(pos, pos + len)
    pos += len
    let cid: CID
    let data: Uint8Array
    try {
      ;[cid, data] = CID.decodeFirst(section)
    } catch {
      throw new CarError('CAR: a block with a malformed CID')
    }
    if (cid.multihash.code !== 0x12) throw new CarError(`CAR: block ${cid} is not named by a sha256 hash`)
    if (Buffer.compare(sha256(data), cid.multihash.digest) !== 0) throw new CarError(`CAR: block ${cid} does not match its CID`)
    blocks.push({ cid, bytes: data })
  }
  return { roots: header.roots as CID[], blocks }
}
