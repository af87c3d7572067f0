// The identity health of an account, and of every account on a PDS. For each account:
// its DID document (did:plc: from the PLC directory's audit log, which also gives the
// rotation keys and the recent operations; did:web: the domain's did.json), then
// - problems: the document is missing or tombstoned (`did-document`), its PDS endpoint is
//   not this PDS (`endpoint`), its handle does not resolve back to the DID (`handle`),
//   this PDS's rotation key is not among its rotation keys (`rotation-key`), its signing
//   key does not verify the account's latest commit (`signing-key`), the directory's log
//   does not check out (`plc-log`, show only);
// - warnings: an operation other than the creation in the last 72 hours (the recovery window
//   is open: `recent-operation`), a rotation key that is neither this PDS's nor a known one
//   (`unknown-rotation-key`), an inactive account whose identity points elsewhere
//   (`moved-away`), a DID this PDS does not host (`not-hosted`).
// Every request to the directory goes through PlcDirectory (bounded, Retry-After honoured);
// everything else through the PDS. Network failures throw (the check cannot be trusted
// then); what is wrong with one account is a finding in its report.
import { isValidHandle } from '@atproto/syntax'
import { NotFoundError, PdsctlError, XrpcError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { resolveDidDocument } from './didDocument.js'
import { verifyCommit } from './commitCheck.js'
import { resolvePublicly, resolveThroughPds, underDomains, type PublicResolver } from './handleResolution.js'
import type { PlcDirectory } from './plcDirectory.js'
import {
  changeText,
  currentEntry,
  dataOf,
  describeChanges,
  endpointOf,
  explainLog,
  handleOf,
  rotationKeysOf,
  signerOf,
  signingKeyOfData,
  type AuditEntry,
  type LogEntryView,
  type PlcData,
} from './plcOperation.js'

export const PROBLEM_IDS = ['did-document', 'endpoint', 'handle', 'rotation-key', 'signing-key', 'plc-log'] as const
export const WARNING_IDS = ['recent-operation', 'unknown-rotation-key', 'moved-away', 'not-hosted'] as const
export type ProblemId = (typeof PROBLEM_IDS)[number]
export type WarningId = (typeof WARNING_IDS)[number]

export interface Finding<Id extends string = string> {
  id: Id
  message: string
  fix?: string
}

/** Who a rotation key belongs to, as far as pdsctl knows. */
export type KeyOwner = 'this-pds' | 'pds-recovery' | 'unknown'

export interface RotationKeyView {
  key: string
  /** 1 is the highest priority (it can undo what every later key signed, within 72 hours). */
  priority: number
  owner: KeyOwner
}

/** `identity show --json`, and each account of `identity check --json`. */
export interface IdentityReport {
  did: string
  method: 'plc' | 'web'
  handle: string | null
  pdsEndpoint: string | null
  signingKey: string | null
  /** The account on this PDS: active, deactivated, takendown, … or not-hosted. */
  status: string
  /** In priority order (did:plc); empty for did:web. */
  rotationKeys: RotationKeyView[]
  /** The commit whose signature was checked. */
  latestCommit: { cid: string; rev: string | null } | null
  problems: Finding<ProblemId>[]
  warnings: Finding<WarningId>[]
  /** Checks not made, each with why (an inactive account's handle and commit). */
  skipped: string[]
  /** The operation log (identity show, did:plc). */
  log?: LogEntryView[]
  ok: boolean
}

/** This PDS's rotation key, public part, and where pdsctl learnt it. */
export interface PdsRotationKey {
  didKey: string
  /** PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX (environment, env file), the Secret, or inferred. */
  source: string
  inferred: boolean
  /** For an inferred key: how many of the sampled accounts list it. */
  basis?: { sampled: number; holding: number }
}

export interface IdentityContext {
  pds: PdsClient
  plc: PlcDirectory
  /** This PDS's public URL (its accounts' documents must point at its origin). */
  publicUrl: string
  pdsRotationKey?: PdsRotationKey
  /** PDS_RECOVERY_DID_KEY: a rotation key the operator knows. */
  recoveryKey?: string
  /** describeServer's availableUserDomains: handles under them are checked with the PDS's well-known too. */
  userDomains: string[]
  /** Also resolve handles through public DNS and HTTPS (--public). */
  public?: PublicResolver
  /** A client (never credentialed) for a did:web document's origin. */
  webClient: (origin: string) => Promise<PdsClient>
  /** Epoch ms (tests). */
  now?: () => number
}

/** An account as the PDS lists it (listRepos) or reports it (getRepoStatus). */
export interface AccountOnPds {
  did: string
  /** The latest commit's CID, when known (listRepos' head). */
  head?: string
  /** undefined: not hosted by this PDS. */
  active?: boolean
  status?: string
  hosted?: boolean
}

export const RECOVERY_WINDOW_MS = 72 * 3600 * 1000

/** The last URL asked and its origin: a check asks for this PDS's and, mostly, the same endpoint for every account. */
const lastOrigins: Array<[string, string | undefined]> = []
const originOf = (url: string | undefined): string | undefined => {
  if (!url) return undefined
  for (const [u, o] of lastOrigins) if (u === url) return o
  let origin: string | undefined
  try {
    origin = new URL(url).origin
  } catch {
    origin = undefined
  }
  if (lastOrigins.unshift([url, origin]) > 2) lastOrigins.pop()
  return origin
}

/** What the document says: from the directory's log (did:plc) or the domain's did.json (did:web). */
interface DocumentState {
  handle?: string
  endpoint?: string
  signingKey?: string
  data?: PlcData
  log?: AuditEntry[]
}

async function readDocument(ctx: IdentityContext, did: string, problems: Finding<ProblemId>[]): Promise<DocumentState | undefined> {
  if (did.startsWith('did:plc:')) {
    let log: AuditEntry[]
    try {
      log = await ctx.plc.auditLog(did)
    } catch (err) {
      // Unknown to the directory: this account's problem. A broken answer (a page, a
      // malformed log) is the directory's, and fails the run: it says nothing about the account.
      if (err instanceof NotFoundError) {
        problems.push({ id: 'did-document', message: err.message, fix: 'Check --plc-url (the PDS uses PDS_DID_PLC_URL); a DID the directory does not know resolves nowhere' })
        return undefined
      }
      throw err
    }
    const current = currentEntry(log)
    const data = current ? dataOf(current.operation) : null
    if (!data) {
      problems.push({
        id: 'did-document',
        message: 'the DID is tombstoned in the PLC directory: it resolves nowhere',
        fix: 'Within 72 hours of the tombstone a higher-priority rotation key can undo it; after that the account needs a new DID',
      })
      return { log }
    }
    return { handle: handleOf(data), endpoint: endpointOf(data), signingKey: signingKeyOfData(data), data, log }
  }
  try {
    const client = await ctx.webClient(new URL(`https://${decodeURIComponent(did.slice('did:web:'.length))}`).origin)
    const doc = await resolveDidDocument(client, did)
    return { handle: doc.handle, endpoint: doc.pdsEndpoint, signingKey: doc.signingKey }
  } catch (err) {
    if (!(err instanceof PdsctlError) || err.exitCode === 130 || err.exitCode === 143) throw err
    problems.push({ id: 'did-document', message: `the did.json of ${did} cannot be read: ${err.message}`, fix: `Serve the DID document at https://${did.slice(8)}/.well-known/did.json` })
    return undefined
  }
}

/** The identity of one account, checked. `log: true` adds the explained operation log (show). */
export async function checkIdentity(ctx: IdentityContext, account: AccountOnPds, opts: { log?: boolean } = {}): Promise<IdentityReport> {
  const did = account.did
  const problems: Finding<ProblemId>[] = []
  const warnings: Finding<WarningId>[] = []
  const skipped: string[] = []
  const hosted = account.hosted !== false
  const status = !hosted ? 'not-hosted' : account.active === false ? (account.status ?? 'inactive') : 'active'
  const active = hosted && account.active !== false
  const report: IdentityReport = {
    did,
    method: did.startsWith('did:plc:') ? 'plc' : 'web',
    handle: null,
    pdsEndpoint: null,
    signingKey: null,
    status,
    rotationKeys: [],
    latestCommit: null,
    problems,
    warnings,
    skipped,
    ok: true,
  }
  const doc = await readDocument(ctx, did, problems)
  if (opts.log && doc?.log) {
    report.log = await explainLog(did, doc.log)
    const broken = report.log.filter((e) => !e.consistent || !e.signedBy)
    if (broken.length) {
      problems.push({
        id: 'plc-log',
        message: `the directory's log does not check out: ${broken.map((e) => `the operation of ${e.createdAt} ${!e.consistent ? 'does not match its CID or predecessor' : 'is signed by none of the keys allowed to sign it'}`).join('; ')}`,
        fix: 'Check --plc-url: a real PLC directory only serves valid logs',
      })
    }
  }
  if (!doc?.data && !doc?.endpoint && !doc?.handle) {
    report.ok = problems.length === 0
    return report
  }
  report.handle = doc.handle ?? null
  report.pdsEndpoint = doc.endpoint ?? null
  report.signingKey = doc.signingKey ?? null

  // The endpoint: this PDS, else the account lives (or is said to live) elsewhere.
  const here = originOf(ctx.publicUrl)
  const there = originOf(doc.endpoint)
  if (there !== here) {
    if (!hosted) {
      warnings.push({ id: 'not-hosted', message: `this PDS does not host ${did}; its DID document points at ${doc.endpoint ?? 'no PDS'}` })
    } else if (!active) {
      warnings.push({ id: 'moved-away', message: `the account is ${status} here and its DID document points at ${doc.endpoint ?? 'no PDS'}: it has moved, or is moving, to another PDS`, fix: 'Nothing to do if it migrated; delete it here once the move is complete' })
    } else {
      problems.push({
        id: 'endpoint',
        message: `the DID document points at ${doc.endpoint ?? 'no PDS'}, not this PDS (${here})`,
        fix: there
          ? `After a hostname change: pdsctl identity move-host --from ${there} --to ${here}. Otherwise the account migrated away (deactivate it here) or someone changed its identity (a higher-priority rotation key can undo that within 72 hours)`
          : `Sign a PLC operation that sets the atproto_pds service to ${here} (pdsctl identity move-host)`,
      })
    }
  }

  // Rotation keys (did:plc): this PDS's must be there, others are named.
  if (doc.data) {
    const pdsKey = ctx.pdsRotationKey?.didKey
    report.rotationKeys = doc.data.rotationKeys.map((key, i) => ({
      key,
      priority: i + 1,
      owner: key === pdsKey ? 'this-pds' : key === ctx.recoveryKey ? 'pds-recovery' : 'unknown',
    }))
    if (pdsKey && !doc.data.rotationKeys.includes(pdsKey)) {
      problems.push({
        id: 'rotation-key',
        message: `this PDS's rotation key ${pdsKey}${ctx.pdsRotationKey?.inferred ? ' (inferred)' : ''} is not among the rotation keys: the PDS can no longer change this identity (handles, a hostname move, a migration)`,
        fix: 'A listed rotation key must sign an operation that adds it back (the user with their own key); if a reinstall replaced PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX, put the old key back',
      })
    }
    const unknown = report.rotationKeys.filter((k) => k.owner === 'unknown')
    if (pdsKey && unknown.length) {
      warnings.push({
        id: 'unknown-rotation-key',
        message: `rotation key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${k.key} (priority ${k.priority})`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not this PDS's (often the user's own recovery key)`,
        fix: 'Nothing to do if the user added it; a key nobody knows can take the identity over: ask the user',
      })
    }
  } else if (report.method === 'web') skipped.push('rotation keys: a did:web has none (its domain controls it)')

  // Recent operations: within 72 hours a higher-priority key can still undo them.
  if (doc.log) {
    const now = ctx.now?.() ?? Date.now()
    for (let i = 1; i < doc.log.length; i++) {
      const e = doc.log[i]
      const at = Date.parse(e.createdAt)
      if (e.nullified || now - at >= RECOVERY_WINDOW_MS) continue
      const prev = doc.log.find((p) => p.cid === e.operation.prev)
      const changes = prev ? describeChanges(dataOf(prev.operation), dataOf(e.operation)).map(changeText).join(', ') : 'changes unknown'
      warnings.push({
        id: 'recent-operation',
        message: `an operation of ${e.createdAt} (${changes}) is less than 72 hours old: until ${new Date(at + RECOVERY_WINDOW_MS).toISOString()} a higher-priority rotation key can undo it`,
        fix: 'If nobody you know made it, act now: whoever holds a higher-priority rotation key can nullify it within the window',
      })
    }
  }

  // The rest asks the PDS, holding only what it needs of the document: the log and the
  // data are let go here (returned, not awaited), not kept alive through three more requests.
  return checkOnPds(ctx, account, report, doc.handle, doc.signingKey)
}

/** The handle and the signing key against the PDS: the checks of an account that need its answers. */
async function checkOnPds(ctx: IdentityContext, account: AccountOnPds, report: IdentityReport, handle: string | undefined, signingKey: string | undefined): Promise<IdentityReport> {
  const { did, status, problems, skipped } = report
  const active = account.hosted !== false && account.active !== false
  // The handle, through the PDS (and publicly with --public).
  if (!handle) {
    problems.push({ id: 'handle', message: 'the DID document claims no handle', fix: `Set one: pdsctl account update ${did} --handle HANDLE (the PDS writes it to the DID document)` })
  } else if (!isValidHandle(handle)) {
    // Never resolved: a directory that claims a 3 MB "handle" would have it sent in a URL (and refused there, failing the whole check).
    problems.push({
      id: 'handle',
      message: `the DID document's handle "${handle.length > 300 ? `${handle.slice(0, 150)}…${handle.slice(-150)}` : handle}" is not a valid handle: nothing can resolve it`,
      fix: `Set a valid one: pdsctl account update ${did} --handle HANDLE (the PDS writes it to the DID document)`,
    })
  } else if (!active) {
    skipped.push(`handle: the account is ${status} here (the PDS resolves the handles of active accounts only)`)
  } else {
    const own = underDomains(handle, ctx.userDomains)
    const viaPds = await resolveThroughPds(ctx.pds, handle, { wellKnown: own })
    const failures: string[] = []
    if (viaPds.resolveHandle.did !== did) failures.push(`resolveHandle ${viaPds.resolveHandle.did ? `gives ${viaPds.resolveHandle.did}` : viaPds.resolveHandle.error}`)
    if (viaPds.wellKnown && viaPds.wellKnown.did !== did) failures.push(`its /.well-known/atproto-did ${viaPds.wellKnown.did ? `gives ${viaPds.wellKnown.did}` : viaPds.wellKnown.error}`)
    if (ctx.public) {
      const pub = await resolvePublicly(ctx.public, handle)
      if (pub.error || pub.did !== did) failures.push(`publicly ${pub.did && !pub.error ? `it resolves to ${pub.did}` : pub.error}`)
    }
    if (failures.length) {
      problems.push({
        id: 'handle',
        message: `${handle} does not resolve back to ${did}: ${failures.join('; ')}`,
        fix: own
          ? `Give the account this handle on the PDS: pdsctl account update ${did} --handle ${handle} (or set the handle it has, which rewrites the DID document)`
          : `Point DNS TXT _atproto.${handle} at did=${did} (or serve it at https://${handle}/.well-known/atproto-did), then: pdsctl account update ${did} --handle ${handle}`,
      })
    }
  }

  // The signing key against the latest commit.
  if (!signingKey) {
    problems.push({ id: 'signing-key', message: 'the DID document has no #atproto signing key: nobody can verify the account\'s commits', fix: 'A rotation key holder must set verificationMethods.atproto to the key the PDS holds for the account (its com.atproto.identity.getRecommendedDidCredentials names it)' })
  } else if (!active) {
    skipped.push(`signing key: the account is ${status} here (its repository is not served)`)
  } else {
    const verdict = await verifyCommit(ctx.pds, did, signingKey, account.head)
    report.latestCommit = verdict.cid ? { cid: verdict.cid, rev: verdict.ok ? verdict.rev : null } : null
    if (!verdict.ok) {
      problems.push({
        id: 'signing-key',
        message: `the signing key does not verify the latest commit: ${verdict.reason}`,
        fix: 'The PDS signs with the key it holds for the account: a rotation key holder must set verificationMethods.atproto back to it (the account\'s com.atproto.identity.getRecommendedDidCredentials names it); until then relays reject its new commits',
      })
    }
  }
  report.ok = problems.length === 0
  return report
}

/** This PDS's view of one account (getRepoStatus): hosted, active, status. */
export async function accountOnPds(pds: PdsClient, did: string): Promise<AccountOnPds> {
  try {
    const res = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getRepoStatus', query: { did }, name: 'com.atproto.sync.getRepoStatus', requires: ['did', 'active'] })
    const body = res.body as { active: unknown; status?: unknown }
    return { did, hosted: true, active: body.active === true, status: typeof body.status === 'string' ? body.status : undefined }
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400 && /RepoNotFound/.test(err.xrpcName ?? '')) return { did, hosted: false }
    throw err
  }
}

/**
 * The rotation key most of this PDS's accounts share, when the PDS's own key is not at hand
 * (no env file or Secret): from the audit logs of the first `sample` accounts. A tie (the
 * PDS's recovery key is in every account too) goes to the key that signed the most genesis
 * operations, which the PDS signs when it creates an account.
 */
export async function inferPdsRotationKey(pds: PdsClient, plc: PlcDirectory, opts: { sample?: number; exclude?: string[] } = {}): Promise<PdsRotationKey | undefined> {
  const res = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.sync.listRepos', query: { limit: opts.sample ?? 25 }, name: 'com.atproto.sync.listRepos', requires: ['repos[]', 'repos[].did'] })
  const dids = (res.body as { repos: Array<{ did: unknown }> }).repos.map((r) => r.did).filter((d): d is string => typeof d === 'string' && d.startsWith('did:plc:'))
  const holding = new Map<string, number>()
  const signedGenesis = new Map<string, number>()
  let sampled = 0
  await Promise.all(
    dids.map(async (did) => {
      let log: AuditEntry[]
      try {
        log = await plc.auditLog(did)
      } catch (err) {
        if (err instanceof NotFoundError) return
        throw err
      }
      sampled++
      const current = currentEntry(log)
      for (const key of new Set(current ? rotationKeysOf(current.operation) : [])) holding.set(key, (holding.get(key) ?? 0) + 1)
      const genesis = log[0].operation
      const signer = await signerOf(genesis, rotationKeysOf(genesis))
      if (signer) signedGenesis.set(signer, (signedGenesis.get(signer) ?? 0) + 1)
    }),
  )
  const excluded = new Set(opts.exclude ?? [])
  const ranked = [...holding.entries()]
    .filter(([k]) => !excluded.has(k))
    .sort((a, b) => b[1] - a[1] || (signedGenesis.get(b[0]) ?? 0) - (signedGenesis.get(a[0]) ?? 0))
  if (!ranked.length) return undefined
  return { didKey: ranked[0][0], source: 'inferred', inferred: true, basis: { sampled, holding: ranked[0][1] } }
}

/**
 * `fn` over every item of `pages`, `width` at a time, results in the order of the items:
 * at most twice `width` results wait for the consumer, so memory stays flat however many
 * items there are. A failure ends the stream (items in flight finish unobserved).
 * An item is started only when a slot is free (no task queued ahead, each with its own
 * suspended frame and promises: what V8's young-generation collections copy while they
 * wait), and a result is handed on as soon as those before it are.
 */
export async function* mapInOrder<T, R>(pages: AsyncIterable<T[]>, width: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const queue: Array<{ result: Promise<R>; done: boolean }> = []
  let running = 0
  let wake: (() => void) | undefined
  const start = (item: T) => {
    running++
    const entry = { result: fn(item), done: false }
    const settled = () => {
      entry.done = true
      running--
      const w = wake
      wake = undefined
      w?.()
    }
    entry.result.then(settled, settled)
    queue.push(entry)
  }
  for await (const page of pages) {
    for (const item of page) {
      for (;;) {
        while (queue.length && queue[0].done) yield await queue.shift()!.result
        if (running < width && queue.length < width * 2) break
        await new Promise<void>((r) => (wake = r))
      }
      start(item)
    }
  }
  while (queue.length) yield await queue.shift()!.result
}

/** Counts over a check: what `identity check` sums up at the end. */
export interface CheckSummary {
  checked: number
  ok: number
  withProblems: number
  withWarnings: number
  /** Accounts per problem id, most common first. */
  problems: Record<string, number>
  warnings: Record<string, number>
}

export class CheckTally {
  checked = 0
  ok = 0
  withProblems = 0
  withWarnings = 0
  private problems = new Map<string, number>()
  private warnings = new Map<string, number>()

  add(r: IdentityReport): void {
    this.checked++
    if (r.problems.length) this.withProblems++
    else this.ok++
    if (r.warnings.length) this.withWarnings++
    for (const id of new Set(r.problems.map((p) => p.id))) this.problems.set(id, (this.problems.get(id) ?? 0) + 1)
    for (const id of new Set(r.warnings.map((w) => w.id))) this.warnings.set(id, (this.warnings.get(id) ?? 0) + 1)
  }

  summary(): CheckSummary {
    const sorted = (m: Map<string, number>) => Object.fromEntries([...m.entries()].sort((a, b) => b[1] - a[1]))
    return { checked: this.checked, ok: this.ok, withProblems: this.withProblems, withWarnings: this.withWarnings, problems: sorted(this.problems), warnings: sorted(this.warnings) }
  }
}
