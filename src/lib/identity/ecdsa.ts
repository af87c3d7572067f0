// ECDSA for did:keys with Node's own OpenSSL (node:crypto): what `identity check` does once
// per account (the signature of its latest commit), ~50 times faster than @atproto/crypto's
// JavaScript curves and without their ~20 MiB or their garbage (10,000 accounts: 54 s of
// CPU and 100.6 MiB peak before). atproto's rules are kept: SHA-256 of the data, a 64-byte
// r||s signature, and low-S unless the caller accepts malleable ones (old PLC operations).
// OpenSSL builds without secp256k1 exist (some distributions drop it): then the answer is
// `undefined` and the caller uses @atproto/crypto instead.
import { createHash, createPrivateKey, createPublicKey, getCurves, verify } from 'node:crypto'
import { base58btc } from 'multiformats/bases/base58'
import type { KeyType } from './keys.js'

interface Curve {
  /** The did:key multicodec prefix (varint). */
  prefix: readonly number[]
  /** SubjectPublicKeyInfo DER up to the 33-byte compressed point. */
  spki: Buffer
  /** The curve's OID as SEC1 private keys carry it (DER). */
  oid: Buffer
  /** The group order n. */
  order: bigint
  /** n >> 1, 32 bytes big-endian (the low-S bound). */
  halfOrder: Uint8Array
  openssl: string
}

const halfOf = (order: bigint): Uint8Array => Buffer.from((order >> 1n).toString(16).padStart(64, '0'), 'hex')

const CURVES: Record<KeyType, Curve> = {
  secp256k1: {
    prefix: [0xe7, 0x01],
    spki: Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex'),
    oid: Buffer.from('06052b8104000a', 'hex'),
    order: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    halfOrder: halfOf(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n),
    openssl: 'secp256k1',
  },
  p256: {
    prefix: [0x80, 0x24],
    spki: Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
    oid: Buffer.from('06082a8648ce3d030107', 'hex'),
    order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    halfOrder: halfOf(0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n),
    openssl: 'prime256v1',
  },
}

let available: Set<string> | undefined
function supported(type: KeyType): boolean {
  available ??= new Set(getCurves())
  return available.has(CURVES[type].openssl)
}

/** The curve and compressed point of a did:key; undefined for anything else (the caller decides). */
function decodeDidKey(didKey: string): { type: KeyType; point: Uint8Array } | undefined {
  if (!didKey.startsWith('did:key:z')) return undefined
  let bytes: Uint8Array
  try {
    bytes = base58btc.decode(didKey.slice(8))
  } catch {
    return undefined
  }
  for (const type of Object.keys(CURVES) as KeyType[]) {
    const { prefix } = CURVES[type]
    if (bytes[0] === prefix[0] && bytes[1] === prefix[1] && bytes.length === 35 && (bytes[2] === 2 || bytes[2] === 3)) return { type, point: bytes.subarray(2) }
  }
  return undefined
}

/** Whether s (32 bytes, big-endian) is above n/2 (32 bytes), compared bytewise: no BigInt per signature. */
function isHighS(s: Uint8Array, halfOrder: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (s[i] !== halfOrder[i]) return s[i] > halfOrder[i]
  return false
}

/**
 * Whether `sig` (r||s) over `data` verifies with `didKey`: true or false, or undefined when
 * this Node cannot tell (a curve its OpenSSL lacks, a key form other than compressed).
 */
export function verifyEcdsa(didKey: string, data: Uint8Array, sig: Uint8Array, opts: { allowMalleableSig?: boolean } = {}): boolean | undefined {
  const decoded = decodeDidKey(didKey)
  if (!decoded || !supported(decoded.type)) return undefined
  if (sig.length !== 64) return false
  if (!opts.allowMalleableSig && isHighS(sig.subarray(32), CURVES[decoded.type].halfOrder)) return false
  try {
    // The key as a PEM string and the signature as DER, straight to verify (no KeyObject per
    // signature: identity check verifies one per account). Not the DER key in an options
    // object with dsaEncoding: node:crypto tells a KeyObject or CryptoKey from other objects
    // by trying, and an options object and a Buffer cost it four thrown and caught errors
    // per call (measured: ~3.5 KiB of garbage per account checked); a string is known for
    // what it is at once. OpenSSL decompresses the point and refuses one that is not on the
    // curve: a throw, so false.
    const spki = Buffer.concat([CURVES[decoded.type].spki, decoded.point]).toString('base64')
    const pem = `-----BEGIN PUBLIC KEY-----\n${spki.slice(0, 64)}\n${spki.slice(64)}\n-----END PUBLIC KEY-----\n`
    return verify('sha256', data, pem, derSignature(sig))
  } catch {
    return false
  }
}

/** An integer of a DER signature at `at`: big-endian, no leading zero unless the high bit needs one. Returns the end. */
function derInteger(out: Buffer, at: number, n: Uint8Array): number {
  let i = 0
  while (i < n.length - 1 && n[i] === 0) i++
  const pad = n[i] & 0x80 ? 1 : 0
  out[at++] = 0x02
  out[at++] = n.length - i + pad
  if (pad) out[at++] = 0
  out.set(n.subarray(i), at)
  return at + n.length - i
}

/** r||s (IEEE P1363, 64 bytes) as the DER SEQUENCE { r INTEGER, s INTEGER } OpenSSL verifies by default. */
export function derSignature(sig: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(72)
  out[0] = 0x30
  const end = derInteger(out, derInteger(out, 2, sig.subarray(0, 32)), sig.subarray(32, 64))
  out[1] = end - 2
  return out.subarray(0, end)
}

/** The did:key of a private key (32 bytes), or undefined when this Node cannot tell; null for a key out of range. */
export function didKeyOfPrivateKey(d: Uint8Array, type: KeyType): string | null | undefined {
  if (!supported(type)) return undefined
  const curve = CURVES[type]
  const scalar = BigInt('0x' + Buffer.from(d).toString('hex'))
  if (d.length !== 32 || scalar === 0n || scalar >= curve.order) return null
  // SEC1 ECPrivateKey: SEQUENCE { 1, OCTET STRING d, [0] curve OID }.
  const tail = Buffer.concat([Buffer.from([0xa0, curve.oid.length]), curve.oid])
  const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x04, 0x20]), d, tail])
  const der = Buffer.concat([Buffer.from([0x30, body.length]), body])
  let jwk: { x?: string; y?: string }
  try {
    jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'sec1' })).export({ format: 'jwk' })
  } catch {
    return null
  }
  const x = Buffer.from(jwk.x ?? '', 'base64url')
  const y = Buffer.from(jwk.y ?? '', 'base64url')
  if (x.length !== 32 || y.length !== 32) return null
  return `did:key:${base58btc.encode(Uint8Array.from([...curve.prefix, 0x02 | (y[31] & 1), ...x]))}`
}

/** SHA-256 (node:crypto). */
export function sha256(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest()
}
