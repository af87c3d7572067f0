// DID documents: where an account's identity says it lives, under which handle, signed
// with which key. did:plc documents come from the PLC directory (GET {plcUrl}/{did}),
// did:web ones from the domain (https://HOST/.well-known/did.json). Shared by the
// commands that read identities (identity, account migrate, handle check).
// A document is untrusted data: each field is checked before it is used, and a document
// that does not describe the DID asked for is an error, never another account's identity.
import { base58btc } from 'multiformats/bases/base58'
import { BadResponseError, NotFoundError, UsageError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** What pdsctl reads from a DID document. */
export interface DidDocumentView {
  did: string
  /** The handles the document claims (alsoKnownAs `at://` entries), in its order; the first is the handle. */
  handles: string[]
  /** The first claimed handle, if any. */
  handle?: string
  /** The `#atproto_pds` service endpoint (the account's PDS), if any. */
  pdsEndpoint?: string
  /** The `#atproto` verification method as a `did:key`, if any (the key that signs the repo's commits). */
  signingKey?: string
}

/** Where the document of `did` is served: the PLC directory for did:plc, the domain for did:web. */
export function didDocumentUrl(did: string, plcUrl: string): URL {
  if (/^did:plc:[a-z2-7]{24}$/.test(did)) return new URL(`/${did}`, plcUrl)
  const web = /^did:web:([a-zA-Z0-9.-]+(?:%3[aA][0-9]{1,5})?)$/.exec(did)
  // Only the domain form: atproto does not use did:web with a path.
  if (web) return new URL(`https://${decodeURIComponent(web[1])}/.well-known/did.json`)
  throw new UsageError(`"${did}" is not a did:plc or did:web DID`, { hint: 'atproto accounts are did:plc:… (24 base32 characters) or did:web:DOMAIN' })
}

/** The multicodec prefixes of the key types atproto uses (varints): secp256k1-pub, p256-pub. */
const LEGACY_KEY_PREFIX: Record<string, Uint8Array> = {
  EcdsaSecp256k1VerificationKey2019: Uint8Array.of(0xe7, 0x01),
  EcdsaSecp256r1VerificationKey2019: Uint8Array.of(0x80, 0x24),
}

function signingKeyOf(method: Record<string, unknown>): string | undefined {
  const mb = method.publicKeyMultibase
  if (typeof mb !== 'string' || !/^z[1-9A-HJ-NP-Za-km-z]+$/.test(mb)) return undefined
  // Multikey: the multibase value is a did:key's own suffix (multicodec prefix included).
  if (method.type === 'Multikey') return `did:key:${mb}`
  const prefix = typeof method.type === 'string' ? LEGACY_KEY_PREFIX[method.type] : undefined
  if (!prefix) return undefined
  // The older key types carry the bare key (compressed, or uncompressed as older PLC
  // directories serve it: 0x04 X Y, compressed to 0x02/0x03 by Y's parity): add the
  // curve's multicodec prefix, as a did:key has it.
  let bytes = base58btc.decode(mb)
  if (bytes.length === 65 && bytes[0] === 0x04) bytes = Uint8Array.of(0x02 | (bytes[64] & 1), ...bytes.subarray(1, 33))
  else if (bytes.length !== 33) return undefined
  const prefixed = new Uint8Array(prefix.length + bytes.length)
  prefixed.set(prefix)
  prefixed.set(bytes, prefix.length)
  return `did:key:${base58btc.encode(prefixed)}`
}

/** An entry's id names `frag` when it is `#frag` or `DID#frag`. */
const isFragment = (id: unknown, did: string, frag: string) => id === `#${frag}` || id === `${did}#${frag}`

/**
 * The fields pdsctl uses from a DID document, checked. Throws BadResponseError when the
 * document is not one, or describes another DID.
 */
export function parseDidDocument(did: string, doc: unknown, source = 'the DID document'): DidDocumentView {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new BadResponseError(`${source} for ${did} is not a JSON object`)
  const d = doc as Record<string, unknown>
  if (d.id !== did) {
    throw new BadResponseError(`${source} for ${did} describes ${typeof d.id === 'string' ? d.id : 'no DID'}`, { hint: 'Check --plc-url (or the did:web domain): it answered for another identity' })
  }
  const handles = (Array.isArray(d.alsoKnownAs) ? d.alsoKnownAs : [])
    .filter((a): a is string => typeof a === 'string' && a.startsWith('at://'))
    .map((a) => a.slice(5))
  const services = Array.isArray(d.service) ? (d.service as unknown[]) : []
  const pds = services.find((s) => typeof s === 'object' && s !== null && isFragment((s as Record<string, unknown>).id, did, 'atproto_pds')) as Record<string, unknown> | undefined
  const pdsEndpoint = typeof pds?.serviceEndpoint === 'string' ? pds.serviceEndpoint : undefined
  const methods = Array.isArray(d.verificationMethod) ? (d.verificationMethod as unknown[]) : []
  const atproto = methods.find((m) => typeof m === 'object' && m !== null && isFragment((m as Record<string, unknown>).id, did, 'atproto')) as Record<string, unknown> | undefined
  const signingKey = atproto ? signingKeyOf(atproto) : undefined
  return { did, handles, handle: handles[0], pdsEndpoint, signingKey }
}

/**
 * The DID document of `did`, resolved through `client`: an anonymous client (no credential)
 * on the PLC directory for did:plc, on https://DOMAIN for did:web (didDocumentUrl gives the
 * origin). A DID the directory does not know is a NotFoundError.
 */
export async function resolveDidDocument(client: PdsClient, did: string): Promise<DidDocumentView> {
  const url = didDocumentUrl(did, client.url)
  const source = did.startsWith('did:plc:') ? `the PLC directory (${client.url})` : url.origin
  try {
    const res = await client.call({ method: 'GET', path: url.pathname, name: `the DID document of ${did}`, requires: ['id'] })
    return parseDidDocument(did, res.body, `the DID document from ${source}`)
  } catch (err) {
    if (err instanceof XrpcError && (err.status === 404 || err.status === 410)) {
      throw new NotFoundError(`${source} has no DID document for ${did}${err.status === 410 ? ' (tombstoned)' : ''}`, { cause: err })
    }
    throw err
  }
}
