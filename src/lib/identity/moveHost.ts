// A PDS's hostname change, for every account it hosts: a PLC operation, signed with the
// PDS's own rotation key, that points the DID's atproto_pds service at the new URL and, for
// handles under the old hostname's domain, renames them under the new one; then the
// handle changed on the PDS too (com.atproto.admin.updateAccountHandle, which also emits
// the #identity event relays follow). Accounts whose rotation keys do not include the
// PDS's cannot be moved by it: they are listed, never touched. Every account is planned
// from the directory's current data just before its operation, so a second run skips what
// the first one finished (resumable) and finishes what it left half done.
import { NotFoundError, PdsctlError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import type { PlcSigner } from './keys.js'
import type { PlcDirectory } from './plcDirectory.js'
import {
  buildUpdate,
  changeText,
  currentEntry,
  dataOf,
  describeChanges,
  endpointOf,
  handleOf,
  sameData,
  signOperation,
  type Change,
  type PlcData,
  type UnsignedPlcOperation,
} from './plcOperation.js'

export type MoveAction =
  /** An operation (and maybe a handle change) is due, or was made. */
  | 'move'
  /** The identity is moved; only the handle on the PDS is left (a run cut short). */
  | 'handle'
  | 'already-moved'
  /** The identity points at a third host: not OLD's to move. */
  | 'not-on-old-host'
  /** Listed, not touched: the PDS's rotation key is not among the DID's. */
  | 'no-rotation-key'
  /** Listed, not touched: a did:web's document lives on its own domain. */
  | 'did-web'
  | 'no-did-document'

/** One account of `identity move-host` (the JSON shape of `accounts[]`). */
export interface MoveResult {
  did: string
  /** The handle on the PDS before the move. */
  handle: string | null
  action: MoveAction
  /** The handle after the move, when it changes. */
  newHandle: string | null
  changes: Change[]
  /** The operation signed (or, in a dry run, that would be). */
  operation: UnsignedPlcOperation | null
  /** planned (dry run), done, not-needed, failed. */
  plc: 'planned' | 'done' | 'not-needed' | 'failed'
  handleUpdate: 'planned' | 'done' | 'not-needed' | 'failed' | 'skipped'
  /** Set when something failed: the account is not (fully) moved. */
  error: string | null
  warnings: string[]
}

export interface MoveContext {
  pds: PdsClient
  plc: PlcDirectory
  /** The old and new public URLs (origins). */
  from: string
  to: string
  /** The PDS's rotation key (signs the operations). */
  signer: PlcSigner
  /** Keep handles under the old domain as they are. */
  keepHandles?: boolean
  dryRun?: boolean
}

/** An account as the PDS lists it (admin view). */
export interface HostedAccount {
  did: string
  handle: string | null
  /** listRepos' status: active, deactivated, takendown, … */
  status: string
}

/** `alice.old.example` → `alice.new.example` when the handle is under the old host's domain; else undefined. */
export function rewriteHandle(handle: string, fromHost: string, toHost: string): string | undefined {
  const suffix = `.${fromHost}`
  if (!handle.endsWith(suffix) || handle.length === suffix.length) return undefined
  return handle.slice(0, -suffix.length) + `.${toHost}`
}

const origin = (url: string | undefined): string | undefined => {
  if (!url) return undefined
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

function withHandle(data: PlcData, handle: string): string[] {
  const i = data.alsoKnownAs.findIndex((a) => a.startsWith('at://'))
  const aka = [...data.alsoKnownAs]
  if (i < 0) aka.unshift(`at://${handle}`)
  else aka[i] = `at://${handle}`
  return aka
}

/** Plan one account from its current PLC data and, unless a dry run, do it. Failures are in the result, never thrown (but an interruption). */
export async function moveAccount(ctx: MoveContext, account: HostedAccount): Promise<MoveResult> {
  const result: MoveResult = { did: account.did, handle: account.handle, action: 'move', newHandle: null, changes: [], operation: null, plc: 'not-needed', handleUpdate: 'not-needed', error: null, warnings: [] }
  if (!account.did.startsWith('did:plc:')) {
    result.action = 'did-web'
    result.error = `a did:web cannot be moved by a PLC operation: update https://${account.did.slice(8)}/.well-known/did.json to point at ${ctx.to}`
    return result
  }
  const fromHost = new URL(ctx.from).hostname
  const toHost = new URL(ctx.to).hostname
  let data: PlcData | null
  let prev: string
  try {
    const log = await ctx.plc.auditLog(account.did)
    const current = currentEntry(log)
    data = current ? dataOf(current.operation) : null
    prev = current?.cid ?? ''
  } catch (err) {
    if (err instanceof NotFoundError) {
      result.action = 'no-did-document'
      result.error = err.message
      return result
    }
    throw err
  }
  if (!data) {
    result.action = 'no-did-document'
    result.error = 'the DID is tombstoned'
    return result
  }
  const endpoint = origin(endpointOf(data))
  if (endpoint !== ctx.from && endpoint !== ctx.to) {
    result.action = 'not-on-old-host'
    return result
  }
  // Handles: the PDS refuses handle changes for taken-down accounts, so theirs stay as they are.
  const canRename = !ctx.keepHandles && account.status !== 'takendown'
  const plcHandle = handleOf(data)
  const newPlcHandle = plcHandle && canRename ? rewriteHandle(plcHandle, fromHost, toHost) : undefined
  const newPdsHandle = account.handle && canRename ? rewriteHandle(account.handle, fromHost, toHost) : undefined
  result.newHandle = newPdsHandle ?? newPlcHandle ?? null
  const desired: PlcData = {
    ...data,
    alsoKnownAs: newPlcHandle ? withHandle(data, newPlcHandle) : data.alsoKnownAs,
    services: { ...data.services, atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: ctx.to } },
  }
  const plcDue = !sameData(data, desired) && !(endpoint === ctx.to && !newPlcHandle)
  const handleDue = Boolean(newPdsHandle)
  if (!plcDue && !handleDue) {
    result.action = 'already-moved'
    return result
  }
  if (plcDue) {
    const signerKey = ctx.signer.did()
    if (!data.rotationKeys.includes(signerKey)) {
      result.action = 'no-rotation-key'
      result.error = `the PDS's rotation key ${signerKey} is not among the DID's rotation keys (${data.rotationKeys.join(', ')}): only a listed key (the user's) can move it`
      return result
    }
    result.operation = buildUpdate(prev, desired)
    result.changes = describeChanges(data, desired)
    result.plc = 'planned'
  } else result.action = 'handle'
  if (handleDue) {
    result.handleUpdate = 'planned'
    if (!result.changes.length) result.changes = [{ field: 'handle', from: account.handle ?? undefined, to: newPdsHandle }]
  }
  if (ctx.dryRun) return result

  if (result.operation) {
    try {
      await ctx.plc.submit(account.did, await signOperation(result.operation, ctx.signer))
      result.plc = 'done'
    } catch (err) {
      if (!(err instanceof PdsctlError) || err.exitCode === 130 || err.exitCode === 143) throw err
      result.plc = 'failed'
      result.handleUpdate = handleDue ? 'skipped' : 'not-needed'
      result.error = `the PLC directory did not take the operation: ${err.message}`
      return result
    }
  }
  // The handle on the PDS; for an unchanged handle, the same call only emits the #identity
  // event that tells relays to read the new document (best effort).
  const handle = newPdsHandle ?? account.handle
  if (handle && (handleDue || (result.plc === 'done' && account.status !== 'takendown'))) {
    try {
      await ctx.pds.call({ method: 'POST', path: '/xrpc/com.atproto.admin.updateAccountHandle', body: { did: account.did, handle }, auth: 'admin', name: 'com.atproto.admin.updateAccountHandle' })
      if (handleDue) result.handleUpdate = 'done'
    } catch (err) {
      if (!(err instanceof PdsctlError) || err.exitCode === 130 || err.exitCode === 143) throw err
      const why = err instanceof XrpcError ? `${err.xrpcName ?? `HTTP ${err.status}`}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''}` : err.message
      if (handleDue) {
        result.handleUpdate = 'failed'
        result.error = `the PDS did not change the handle to ${handle} (${why}); run move-host again once that is fixed`
      } else {
        result.warnings.push(`the PDS did not emit an #identity event for ${handle} (${why}): relays see the new PDS after the account's next commit or a request-crawl`)
      }
    }
  }
  return result
}

/** The changes of a result in words, for a table row. */
export function moveChangesText(r: MoveResult): string {
  return r.changes.map(changeText).join('; ')
}

/** Counts over a run. */
export interface MoveSummary {
  accounts: number
  moved: number
  alreadyMoved: number
  notOnOldHost: number
  /** Accounts pointing at the old host that were not (fully) moved: listed, or failed. */
  notMoved: number
  failed: number
  byAction: Record<string, number>
}

export class MoveTally {
  private readonly s: MoveSummary = { accounts: 0, moved: 0, alreadyMoved: 0, notOnOldHost: 0, notMoved: 0, failed: 0, byAction: {} }
  add(r: MoveResult): void {
    const s = this.s
    s.accounts++
    s.byAction[r.action] = (s.byAction[r.action] ?? 0) + 1
    if (r.action === 'already-moved') s.alreadyMoved++
    else if (r.action === 'not-on-old-host') s.notOnOldHost++
    else if (r.error) {
      s.notMoved++
      if (r.plc === 'failed' || r.handleUpdate === 'failed') s.failed++
    } else s.moved++
  }
  summary(): MoveSummary {
    return { ...this.s, byAction: { ...this.s.byAction } }
  }
}
