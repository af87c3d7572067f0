// Keys as atproto names them: public keys as `did:key:…` (multicodec-prefixed, compressed,
// base58btc), private keys as 64 hex characters (the form of the PDS's
// PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX). Only the two curves atproto uses are accepted:
// secp256k1 (k256) and NIST P-256. The curve code is @atproto/crypto's, never our own.
import { UsageError } from '../errors.js'
import { didKeyOfPrivateKey, verifyEcdsa } from './ecdsa.js'

export type KeyType = 'secp256k1' | 'p256'

export interface ParsedDidKey {
  didKey: string
  type: KeyType
}

/** What a signer needs: @atproto/crypto's Keypair shape. */
export interface PlcSigner {
  did(): string
  sign(msg: Uint8Array): Promise<Uint8Array>
}

const crypto = () => import('@atproto/crypto')

/** A did:key of a curve atproto uses; bad input is a UsageError naming `what`. Checked before any network call. */
export async function parseDidKey(input: string, what = 'the key'): Promise<ParsedDidKey> {
  const value = input.trim()
  if (!/^did:key:z[1-9A-HJ-NP-Za-km-z]+$/.test(value)) {
    throw new UsageError(`${what} "${input}" is not a did:key`, {
      hint: value.startsWith('did:key:') ? 'A did:key is did:key:z… in base58btc' : /^[0-9a-fA-F]{64}$/.test(value) ? 'That looks like a private key: give the public did:key (pdsctl identity generate-key prints it), and keep the private key secret' : 'A public key looks like did:key:zQ3sh… (secp256k1) or did:key:zDnae… (P-256)',
    })
  }
  const c = await crypto()
  let jwtAlg: string
  try {
    jwtAlg = c.parseDidKey(value).jwtAlg
  } catch (err) {
    throw new UsageError(`${what} "${input}" is not a secp256k1 or P-256 did:key (${(err as Error).message})`, {
      hint: 'PLC accepts only secp256k1 (did:key:zQ3sh…) and P-256 (did:key:zDnae…) keys; an Ed25519 key (did:key:z6Mk…) cannot be a rotation key',
    })
  }
  if (jwtAlg === c.SECP256K1_JWT_ALG) return { didKey: value, type: 'secp256k1' }
  if (jwtAlg === c.P256_JWT_ALG) return { didKey: value, type: 'p256' }
  throw new UsageError(`${what} "${input}" uses ${jwtAlg}, not secp256k1 or P-256`)
}

/** A private key as 64 hex characters (the PDS's PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX). The message never holds the key. */
export function parsePrivateKeyHex(input: string, what: string): Uint8Array {
  const hex = input.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new UsageError(`${what} is not a private key of 64 hex characters`, { hint: 'PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX holds 32 bytes as hex, as `pdsctl secrets generate` writes it' })
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/** The signer for a private key (secp256k1 unless said otherwise); an out-of-range key is a UsageError. */
export async function signerFromPrivateKey(bytes: Uint8Array, what: string, type: KeyType = 'secp256k1'): Promise<PlcSigner> {
  const c = await crypto()
  try {
    return type === 'p256' ? await c.P256Keypair.import(bytes) : await c.Secp256k1Keypair.import(bytes)
  } catch (err) {
    throw new UsageError(`${what} is not a valid ${type} private key (${(err as Error).message})`)
  }
}

/** The public did:key of a private key given as hex (Node's OpenSSL, else @atproto/crypto). */
export async function publicDidKeyOfHex(hex: string, what: string, type: KeyType = 'secp256k1'): Promise<string> {
  const bytes = parsePrivateKeyHex(hex, what)
  const fast = didKeyOfPrivateKey(bytes, type)
  if (fast === null) throw new UsageError(`${what} is not a valid ${type} private key (out of range)`)
  return fast ?? (await signerFromPrivateKey(bytes, what, type)).did()
}

export interface GeneratedKey {
  type: KeyType
  /** The public key, to add to a DID's rotation keys. */
  didKey: string
  /** The private key as 64 hex characters: a secret. */
  privateKeyHex: string
}

/** A new key pair from @atproto/crypto's generator (the OS's random source). */
export async function generateKey(type: KeyType = 'secp256k1'): Promise<GeneratedKey> {
  const c = await crypto()
  const pair = type === 'p256' ? await c.P256Keypair.create({ exportable: true }) : await c.Secp256k1Keypair.create({ exportable: true })
  return { type, didKey: pair.did(), privateKeyHex: Buffer.from(await pair.export()).toString('hex') }
}

/**
 * Whether `sig` over `data` verifies with `didKey` (false, never a throw, for a key of
 * another curve or a malformed one): Node's OpenSSL when it has the curve, else @atproto/crypto.
 */
export async function verifyWithDidKey(didKey: string, data: Uint8Array, sig: Uint8Array, opts: { allowMalleableSig?: boolean } = {}): Promise<boolean> {
  const fast = verifyEcdsa(didKey, data, sig, opts)
  if (fast !== undefined) return fast
  const c = await crypto()
  try {
    return await c.verifySignature(didKey, data, sig, opts)
  } catch {
    return false
  }
}
