// PLC operations (did:plc, https://web.plc.directory/spec/v0.1/did-plc): built, encoded,
// signed and checked here, with no PLC library. An operation is DAG-CBOR encoded without
// its `sig`, signed by one of the rotation keys of the operation it follows (`prev`, a CID
// of that operation's DAG-CBOR with `sig`), and the signature goes in `sig` as base64url.
// A genesis operation's hash names the DID: did:plc: + the first 24 base32 characters of
// sha256(DAG-CBOR of the signed genesis operation).
// Everything parsed here comes from a PLC directory: untrusted, checked field by field.
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { base32 } from 'multiformats/bases/base32'
import { BadResponseError } from '../errors.js'
import { encodeDagCbor } from './dagCbor.js'
import { verifyWithDidKey, type PlcSigner } from './keys.js'

export { encodeDagCbor }

export interface PlcService {
  type: string
  endpoint: string
}

/** What a DID's current state is made of (the PLC directory's `/DID/data` without `did`). */
export interface PlcData {
  rotationKeys: string[]
  verificationMethods: Record<string, string>
  alsoKnownAs: string[]
  services: Record<string, PlcService>
}

export interface UnsignedPlcOperation extends PlcData {
  type: 'plc_operation'
  /** CID of the operation this one follows; null for a genesis operation. */
  prev: string | null
}
export interface PlcOperation extends UnsignedPlcOperation {
  sig: string
}
export interface PlcTombstone {
  type: 'plc_tombstone'
  prev: string
  sig: string
}
/** The first format of genesis operation (2022-23), still in old DIDs' logs. */
export interface LegacyCreateOperation {
  type: 'create'
  signingKey: string
  recoveryKey: string
  handle: string
  service: string
  prev: null
  sig: string
}
export type AnyPlcOperation = PlcOperation | PlcTombstone | LegacyCreateOperation

/** One entry of `/DID/log/audit`. */
export interface AuditEntry {
  did: string
  operation: AnyPlcOperation
  cid: string
  nullified: boolean
  createdAt: string
}

/** At most this many rotation keys (the spec's limit, enforced by the directory). */
export const MAX_ROTATION_KEYS = 5

/** The CID of an operation (signed, as the directory stores it): CIDv1, dag-cbor, sha256, base32. */
export async function operationCid(op: AnyPlcOperation | UnsignedPlcOperation): Promise<string> {
  return CID.create(1, 0x71, await sha256.digest(encodeDagCbor(op))).toString()
}

/** The did:plc a signed genesis operation names. */
export async function didForGenesis(op: AnyPlcOperation): Promise<string> {
  const digest = await sha256.digest(encodeDagCbor(op))
  return `did:plc:${base32.baseEncode(digest.digest).slice(0, 24)}`
}

// ---- signing and checking ----

function unsignedBytes(op: AnyPlcOperation | UnsignedPlcOperation): Uint8Array {
  const { sig: _sig, ...rest } = op as AnyPlcOperation
  return encodeDagCbor(rest)
}

export async function signOperation(op: UnsignedPlcOperation, signer: PlcSigner): Promise<PlcOperation> {
  const sig = Buffer.from(await signer.sign(unsignedBytes(op))).toString('base64url')
  return { ...op, sig }
}

/**
 * Which of `keys` signed `op`: the first that verifies, in the order given (priority order
 * for rotation keys), or undefined. Signatures the directory accepted before it required
 * low-S ones still identify their key.
 */
export async function signerOf(op: AnyPlcOperation, keys: string[]): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]+$/.test(op.sig)) return undefined
  const sig = Uint8Array.from(Buffer.from(op.sig, 'base64url'))
  const data = unsignedBytes(op)
  for (const key of keys) if (await verifyWithDidKey(key, data, sig, { allowMalleableSig: true })) return key
  return undefined
}

// ---- reading operations from a directory (untrusted) ----

const isStr = (v: unknown): v is string => typeof v === 'string'
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function bad(what: string): BadResponseError {
  return new BadResponseError(`the PLC directory sent ${what}`, { hint: 'Check --plc-url: it should be a PLC directory (https://plc.directory)' })
}

function parseData(o: Record<string, unknown>, where: string): PlcData {
  const { rotationKeys, verificationMethods, alsoKnownAs, services } = o
  if (!Array.isArray(rotationKeys) || !rotationKeys.every(isStr)) throw bad(`${where} without a list of rotation keys`)
  if (!isObj(verificationMethods) || !Object.values(verificationMethods).every(isStr)) throw bad(`${where} without verification methods`)
  if (!Array.isArray(alsoKnownAs) || !alsoKnownAs.every(isStr)) throw bad(`${where} without alsoKnownAs`)
  if (!isObj(services)) throw bad(`${where} without services`)
  const svc: Record<string, PlcService> = {}
  for (const [k, v] of Object.entries(services)) {
    if (!isObj(v) || !isStr(v.type) || !isStr(v.endpoint)) throw bad(`${where} with a malformed service "${k}"`)
    svc[k] = { type: v.type, endpoint: v.endpoint }
  }
  return { rotationKeys: [...rotationKeys], verificationMethods: { ...(verificationMethods as Record<string, string>) }, alsoKnownAs: [...alsoKnownAs], services: svc }
}

/** An operation as the directory sent it, checked; throws BadResponseError for anything else. */
export function parseOperation(v: unknown, where = 'an operation'): AnyPlcOperation {
  if (!isObj(v) || !isStr(v.sig)) throw bad(`${where} that is not a signed operation`)
  if (v.type === 'plc_operation') {
    if (v.prev !== null && !isStr(v.prev)) throw bad(`${where} with a malformed prev`)
    return { type: 'plc_operation', ...parseData(v, where), prev: v.prev as string | null, sig: v.sig }
  }
  if (v.type === 'plc_tombstone') {
    if (!isStr(v.prev)) throw bad(`${where}: a tombstone without prev`)
    return { type: 'plc_tombstone', prev: v.prev, sig: v.sig }
  }
  if (v.type === 'create') {
    if (![v.signingKey, v.recoveryKey, v.handle, v.service].every(isStr) || v.prev !== null) throw bad(`${where}: a malformed legacy create operation`)
    return { type: 'create', signingKey: v.signingKey as string, recoveryKey: v.recoveryKey as string, handle: v.handle as string, service: v.service as string, prev: null, sig: v.sig }
  }
  throw bad(`${where} of an unknown type`)
}

/** `/DID/data`, checked (the DID must be the one asked for). */
export function parseDataResponse(did: string, v: unknown): PlcData {
  if (!isObj(v)) throw bad(`data for ${did} that is not a JSON object`)
  if (v.did !== undefined && v.did !== did) throw bad(`data for ${isStr(v.did) ? v.did : 'another DID'} when asked for ${did}`)
  return parseData(v, `the data of ${did}`)
}

/** `/DID/log/audit`, checked: every entry for this DID, a CID, a date. */
export function parseAuditLog(did: string, v: unknown): AuditEntry[] {
  if (!Array.isArray(v)) throw bad(`an audit log for ${did} that is not a list`)
  return v.map((e, i) => {
    const where = `entry ${i} of the audit log of ${did}`
    if (!isObj(e)) throw bad(`${where} that is not an object`)
    if (e.did !== did) throw bad(`${where} for ${isStr(e.did) ? e.did : 'no DID'}`)
    if (!isStr(e.cid)) throw bad(`${where} without a CID`)
    if (!isStr(e.createdAt) || Number.isNaN(Date.parse(e.createdAt))) throw bad(`${where} without a date`)
    return { did, operation: parseOperation(e.operation, where), cid: e.cid, nullified: e.nullified === true, createdAt: e.createdAt }
  })
}

/** The state an operation leaves the DID in; null after a tombstone. A legacy create normalised as the directory does. */
export function dataOf(op: AnyPlcOperation): PlcData | null {
  if (op.type === 'plc_tombstone') return null
  if (op.type === 'create') {
    return {
      rotationKeys: [op.recoveryKey, op.signingKey],
      verificationMethods: { atproto: op.signingKey },
      alsoKnownAs: [op.handle.startsWith('at://') ? op.handle : `at://${op.handle.replace(/^https?:\/\//, '')}`],
      services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: /^https?:\/\//.test(op.service) ? op.service : `https://${op.service}` } },
    }
  }
  return { rotationKeys: op.rotationKeys, verificationMethods: op.verificationMethods, alsoKnownAs: op.alsoKnownAs, services: op.services }
}

/** The keys allowed to sign the operation after `op` (its rotation keys in priority order). */
export function rotationKeysOf(op: AnyPlcOperation): string[] {
  return dataOf(op)?.rotationKeys ?? []
}

/** The last entry still in force (not nullified), or undefined for an empty log. */
export function currentEntry(log: AuditEntry[]): AuditEntry | undefined {
  for (let i = log.length - 1; i >= 0; i--) if (!log[i].nullified) return log[i]
  return undefined
}

/** The handle (first at:// alias), PDS endpoint and signing key of a state. */
export function handleOf(data: PlcData): string | undefined {
  return data.alsoKnownAs.find((a) => a.startsWith('at://'))?.slice(5)
}
export function endpointOf(data: PlcData): string | undefined {
  return data.services.atproto_pds?.endpoint
}
export function signingKeyOfData(data: PlcData): string | undefined {
  return data.verificationMethods.atproto
}

/** The next operation: `data` after the operation whose CID is `prev`. */
export function buildUpdate(prev: string, data: PlcData): UnsignedPlcOperation {
  return {
    type: 'plc_operation',
    rotationKeys: [...data.rotationKeys],
    verificationMethods: { ...data.verificationMethods },
    alsoKnownAs: [...data.alsoKnownAs],
    services: Object.fromEntries(Object.entries(data.services).map(([k, v]) => [k, { ...v }])),
    prev,
  }
}

/** Whether two states are the same (what an operation changes, or not). */
export function sameData(a: PlcData, b: PlcData): boolean {
  return Buffer.compare(encodeDagCbor(a), encodeDagCbor(b)) === 0
}

export type ChangeField = 'created' | 'tombstone' | 'handle' | 'alsoKnownAs' | 'endpoint' | 'services' | 'signingKey' | 'verificationMethods' | 'rotationKeys' | 'none'

/** One thing an operation changed (`from`/`to` as strings, lists joined with ", "). */
export interface Change {
  field: ChangeField
  from?: string
  to?: string
}

const list = (a: string[]) => a.join(', ')
const json = (v: unknown) => JSON.stringify(v)

/** What going from `before` (null: nothing yet) to `after` (null: tombstone) changed. */
export function describeChanges(before: PlcData | null, after: PlcData | null): Change[] {
  if (!after) return [{ field: 'tombstone' }]
  if (!before) return [{ field: 'created', to: [handleOf(after) ?? 'no handle', endpointOf(after) ?? 'no PDS'].join(' on ') }]
  const out: Change[] = []
  const hb = handleOf(before)
  const ha = handleOf(after)
  if (hb !== ha) out.push({ field: 'handle', from: hb, to: ha })
  else if (list(before.alsoKnownAs) !== list(after.alsoKnownAs)) out.push({ field: 'alsoKnownAs', from: list(before.alsoKnownAs), to: list(after.alsoKnownAs) })
  const eb = endpointOf(before)
  const ea = endpointOf(after)
  if (eb !== ea) out.push({ field: 'endpoint', from: eb, to: ea })
  const { atproto_pds: _b, ...otherB } = before.services
  const { atproto_pds: _a, ...otherA } = after.services
  if (json(otherB) !== json(otherA) || before.services.atproto_pds?.type !== after.services.atproto_pds?.type) out.push({ field: 'services', from: json(before.services), to: json(after.services) })
  const kb = signingKeyOfData(before)
  const ka = signingKeyOfData(after)
  if (kb !== ka) out.push({ field: 'signingKey', from: kb, to: ka })
  const { atproto: _vb, ...vmB } = before.verificationMethods
  const { atproto: _va, ...vmA } = after.verificationMethods
  if (json(vmB) !== json(vmA)) out.push({ field: 'verificationMethods', from: json(before.verificationMethods), to: json(after.verificationMethods) })
  if (list(before.rotationKeys) !== list(after.rotationKeys)) out.push({ field: 'rotationKeys', from: list(before.rotationKeys), to: list(after.rotationKeys) })
  return out.length ? out : [{ field: 'none' }]
}

/** One change in words, for a table or a status line. */
export function changeText(c: Change): string {
  switch (c.field) {
    case 'created':
      return `created (${c.to})`
    case 'tombstone':
      return 'tombstoned (the DID is deactivated for good)'
    case 'none':
      return 'no change'
    case 'handle':
      return `handle ${c.from ?? 'none'} → ${c.to ?? 'none'}`
    case 'endpoint':
      return `PDS ${c.from ?? 'none'} → ${c.to ?? 'none'}`
    case 'signingKey':
      return `signing key ${c.from ?? 'none'} → ${c.to ?? 'none'}`
    case 'rotationKeys':
      return `rotation keys [${c.from}] → [${c.to}]`
    default:
      return `${c.field} changed`
  }
}

/** A log entry as `identity show` reports it. */
export interface LogEntryView {
  createdAt: string
  cid: string
  nullified: boolean
  type: AnyPlcOperation['type']
  changes: Change[]
  /** The rotation key that signed it; null when none of the allowed keys verifies it. */
  signedBy: string | null
  /** Whether the entry's CID is the hash of its operation (and, for the genesis, whether it names the DID). */
  consistent: boolean
}

/**
 * Each entry with what it changed and which key signed it: a key of the operation it
 * follows (`prev`, found by CID, nullified or not), or of its own for a genesis. A log the
 * directory serves should always check out; one that does not (a CID that is not its
 * operation's hash, a signature no allowed key makes) is reported, never trusted.
 */
export async function explainLog(did: string, log: AuditEntry[]): Promise<LogEntryView[]> {
  const byCid = new Map<string, AuditEntry>()
  const out: LogEntryView[] = []
  for (let i = 0; i < log.length; i++) {
    const e = log[i]
    const op = e.operation
    let consistent = (await operationCid(op)) === e.cid
    const prevEntry = op.prev ? byCid.get(op.prev) : undefined
    let allowed: string[]
    let before: PlcData | null
    if (op.prev === null) {
      allowed = rotationKeysOf(op)
      before = null
      if (i !== 0 || (await didForGenesis(op)) !== did) consistent = false
    } else {
      allowed = prevEntry ? rotationKeysOf(prevEntry.operation) : []
      before = prevEntry ? dataOf(prevEntry.operation) : null
      if (!prevEntry) consistent = false
    }
    out.push({
      createdAt: e.createdAt,
      cid: e.cid,
      nullified: e.nullified,
      type: op.type,
      changes: prevEntry || op.prev === null ? describeChanges(before, dataOf(op)) : [{ field: 'none' }],
      signedBy: (await signerOf(op, allowed)) ?? null,
      consistent,
    })
    byCid.set(e.cid, e)
  }
  return out
}
