// Adding rotation keys to an account's did:plc, as the account: the PDS signs the
// operation with its own rotation key once the account proves itself (its session and the
// token the PDS mails: com.atproto.identity.requestPlcOperationSignature, then
// signPlcOperation), and submits it (submitPlcOperation, which also tells relays).
// The operation starts from the DID's current PLC data, never from the PDS's recommended
// credentials (goat's way, which resets a handle changed since), and pdsctl checks that the
// operation the PDS signed is exactly the one it showed before submitting it, then finds
// it in the directory's log.
import { AuthError, PdsctlError, UsageError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import type { PlcDirectory } from './plcDirectory.js'
import {
  MAX_ROTATION_KEYS,
  buildUpdate,
  currentEntry,
  dataOf,
  handleOf,
  operationCid,
  parseOperation,
  rotationKeysOf,
  signerOf,
  type PlcData,
  type PlcOperation,
  type UnsignedPlcOperation,
} from './plcOperation.js'

/** What add-rotation-key will do. */
export interface RotationKeyPlan {
  did: string
  handle: string | null
  before: string[]
  after: string[]
  /** False when every key is already where it would go: nothing to sign. */
  changed: boolean
  /** The operation the PDS will be asked to sign (prev = the CID of the current operation). */
  operation: UnsignedPlcOperation
  data: PlcData
}

/** The new rotation keys: `keys` first (in order) with `first`, else appended; never more than 5. */
export function withRotationKeys(current: string[], keys: string[], first: boolean): string[] {
  const adding = keys.filter((k, i) => keys.indexOf(k) === i)
  if (first) return [...adding, ...current.filter((k) => !adding.includes(k))]
  return [...current, ...adding.filter((k) => !current.includes(k))]
}

/** Checked before any network call: at most 5 keys, none twice. */
export function checkKeyCount(keys: string[]): void {
  if (new Set(keys).size !== keys.length) throw new UsageError('the same --key is given twice')
  if (keys.length > MAX_ROTATION_KEYS) throw new UsageError(`${keys.length} keys given: a DID has at most ${MAX_ROTATION_KEYS} rotation keys`)
}

export async function planAddRotationKeys(plc: PlcDirectory, did: string, keys: string[], opts: { first: boolean }): Promise<RotationKeyPlan> {
  if (!did.startsWith('did:plc:')) throw new UsageError(`${did} is not a did:plc: only did:plc identities have rotation keys`, { hint: 'A did:web is controlled by whoever controls its domain' })
  const log = await plc.auditLog(did)
  const current = currentEntry(log)
  const data = current ? dataOf(current.operation) : null
  if (!current || !data) throw new UsageError(`${did} is tombstoned in the PLC directory: it cannot be changed`)
  const after = withRotationKeys(data.rotationKeys, keys, opts.first)
  if (after.length > MAX_ROTATION_KEYS) {
    throw new UsageError(`${did} has ${data.rotationKeys.length} rotation keys; adding ${after.length - data.rotationKeys.length} would make ${after.length}, and a DID has at most ${MAX_ROTATION_KEYS}`, {
      hint: 'Remove a key first (an operation signed by a higher-priority key), or add fewer',
    })
  }
  const changed = after.join(',') !== data.rotationKeys.join(',')
  return { did, handle: handleOf(data) ?? null, before: data.rotationKeys, after, changed, operation: buildUpdate(current.cid, { ...data, rotationKeys: after }), data }
}

/** Ask the PDS to mail the account a token for a PLC operation (a body-less POST, as the account). */
export async function requestPlcToken(pds: PdsClient, accessJwt: string): Promise<void> {
  await pds.call({ method: 'POST', path: '/xrpc/com.atproto.identity.requestPlcOperationSignature', auth: { bearer: accessJwt }, name: 'com.atproto.identity.requestPlcOperationSignature' })
}

/** The token the PDS mails (ABCDE-12345), checked before any network call. */
export function parsePlcToken(input: string): string {
  const token = input.trim().toUpperCase()
  if (!/^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(token)) throw new UsageError(`"${input}" does not look like the token the PDS mails`, { hint: 'The token in the mail "PLC Update Operation Requested" looks like ABCDE-12345' })
  return token
}

/**
 * The PDS signs the planned operation with its rotation key (com.atproto.identity.signPlcOperation,
 * every field from the current PLC data). Its answer must be the planned operation, signed:
 * anything else (another prev, another field) is refused before it could be submitted.
 */
export async function signAsAccount(pds: PdsClient, accessJwt: string, token: string, plan: RotationKeyPlan): Promise<PlcOperation> {
  const { rotationKeys, alsoKnownAs, verificationMethods, services } = plan.operation
  let body: unknown
  try {
    body = (
      await pds.call({
        method: 'POST',
        path: '/xrpc/com.atproto.identity.signPlcOperation',
        body: { token, rotationKeys, alsoKnownAs, verificationMethods, services },
        auth: { bearer: accessJwt },
        name: 'com.atproto.identity.signPlcOperation',
        requires: ['operation'],
      })
    ).body
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400 && /token/i.test(`${err.xrpcName ?? ''} ${err.xrpcMessage ?? ''}`)) {
      throw new AuthError(`the PDS rejected the token (${err.xrpcName ?? 'HTTP 400'}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, {
        hint: 'Tokens are single-use and expire after 15 minutes; run again without --token for a new one',
      })
    }
    throw err
  }
  const signed = parseOperation((body as { operation: unknown }).operation, 'the operation the PDS signed')
  if (signed.type !== 'plc_operation') throw new PdsctlError('the PDS signed something other than an update operation; nothing was submitted')
  const { sig: _sig, ...unsigned } = signed
  if ((await operationCid(unsigned)) !== (await operationCid(plan.operation))) {
    throw new PdsctlError('the operation the PDS signed is not the one shown (the DID changed in between, or the PDS altered it); nothing was submitted', { hint: 'Run the command again to start from the DID\'s current data' })
  }
  return signed
}

/** Submit through the PDS (com.atproto.identity.submitPlcOperation): it checks it, sends it to the directory and tells relays. */
export async function submitAsAccount(pds: PdsClient, accessJwt: string, op: PlcOperation): Promise<void> {
  await pds.call({ method: 'POST', path: '/xrpc/com.atproto.identity.submitPlcOperation', body: { operation: op }, auth: { bearer: accessJwt }, name: 'com.atproto.identity.submitPlcOperation' })
}

/** Where the directory's log has the operation now: it must be the current one, signed by a key of the one before. */
export async function findInLog(plc: PlcDirectory, did: string, op: PlcOperation): Promise<{ cid: string; createdAt: string; signedBy: string | null; rotationKeys: string[] }> {
  const cid = await operationCid(op)
  const log = await plc.auditLog(did)
  const current = currentEntry(log)
  if (!current || current.cid !== cid) {
    throw new PdsctlError(`the PLC directory's current operation for ${did} is not the one submitted (${cid})`, { hint: 'Run `pdsctl identity show` to see the log: another operation may have followed it' })
  }
  const prev = log.find((e) => e.cid === op.prev)
  return { cid, createdAt: current.createdAt, signedBy: (await signerOf(current.operation, prev ? rotationKeysOf(prev.operation) : [])) ?? null, rotationKeys: rotationKeysOf(current.operation) }
}
