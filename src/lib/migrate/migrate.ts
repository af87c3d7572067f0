// `pdsctl account migrate`: move an account (its DID, repository, blobs, preferences and
// identity) from one PDS to another, resumably.
//
// The protocol (atproto's account-migration guide; goat's `account migrate` does it in one
// unresumable pass):
//   account      old getServiceAuth (aud = the new PDS's DID from its describeServer,
//                lxm = createAccount) → new createAccount {did, handle, email, password,
//                inviteCode?}: the new account starts deactivated
//   repo         old sync.getRepo → new repo.importRepo, one stream into the other
//   blobs        new repo.listMissingBlobs → old sync.getBlob → new repo.uploadBlob (blobs.ts)
//   preferences  old app.bsky.actor.getPreferences → new putPreferences
//   identity     new identity.getRecommendedDidCredentials; old requestPlcOperationSignature
//                (mails a token) → old signPlcOperation {token, credentials} → saved here →
//                new submitPlcOperation. did:web: its owner edits did.json (what to change
//                is printed) and pdsctl checks it
//   activate     new server.activateAccount
//   deactivate   old server.deactivateAccount
//   verify       both PDSes and the DID document agree (exit 6 naming each problem and its fix)
//
// Resumable by design: before each step pdsctl reads where things stand (getRepoStatus and
// checkAccountStatus on both sides, the DID document, the missing blobs) and does only what
// is left; the state file (state.ts) keeps what cannot be read back. Nothing is deactivated
// on the old PDS before the new one holds the repository, every blob and the preferences,
// the DID document points at it, and it is active; the identity is not moved before the
// data is there. The signed PLC operation is saved before it is submitted.
import { AuthError, ExitCode, NotFoundError, PdsctlError, UsageError, XrpcError, type ExitCodeValue } from '../errors.js'
import type { PdsClient, RawResponse } from '../pds/xrpcClient.js'
import { isLoopbackHost } from '../pds/urls.js'
import { resolveDidDocument, type DidDocumentView } from '../identity/didDocument.js'
import { lastPlcOperationCid, readPlcData } from '../identity/plcLog.js'
import { copyMissingBlobs, countMissing, type BlobCopyProgress } from './blobs.js'
import {
  MigrationCheckError,
  MigrationFailedError,
  MigrationPausedError,
  STEP_ORDER,
  STEP_TITLES,
  type MigrationReport,
  type MigrationStatus,
  type StepId,
  type StepReport,
  type StepState,
} from './report.js'
import { AccountSession } from './session.js'
import { newState, readState, writeState, type Direction, type MigrationState } from './state.js'

export interface MigrationSides {
  old: PdsClient
  new: PdsClient
  /** The PLC directory (did:plc documents, rotation keys); anonymous. */
  plc: PdsClient
  /** For a did:web account: an anonymous client on https://ITS-HOST (its did.json). */
  didWeb?: PdsClient
  /** Which PDS pdsctl is connected to (the admin password is for that one only). */
  direction: Direction
}

export interface MigrateOptions {
  did: string
  stateFile: string
  /** --handle, --email, --invite-code, --token: each overrides a default. */
  handle?: string
  email?: string
  inviteCode?: string
  token?: string
  /** Blobs in flight at once (default 4). */
  concurrency?: number
  /** Go on (identity, deactivation) although some blobs are gone from the old PDS. */
  allowMissingBlobs?: boolean
  /** Longest rate-limit wait honoured in place (default 60 s); longer ones pause the migration. */
  maxRateLimitWaitMs?: number
  signal?: AbortSignal
  /** The old account's password (stdin or a prompt): asked only when a step needs it. */
  oldPassword: () => Promise<string>
  /** The old password is at hand without asking (stdin): a run logs in to the old PDS while it surveys. */
  oldPasswordGiven?: boolean
  /** The new account's password for createAccount: read, or generated (then shown once). */
  newPassword: () => Promise<{ password: string; generated: boolean }>
  /** The new account's password when it exists and no saved session works (stdin or a prompt). */
  existingNewPassword: (why: string) => Promise<string>
  /** The mailed PLC token, asked on a terminal; undefined in a script (the run then waits for --token). */
  askToken?: (sentTo: string | null) => Promise<string | undefined>
  /** Mint a one-use invite code on the new PDS (when pdsctl holds its admin password). */
  mintInviteCode?: () => Promise<string>
  /** Called with the plan before the first change: ask, or require --yes (throws to stop). */
  confirm: (plan: MigrationReport) => Promise<void>
  /** The exact commands to continue and to undo, as the user would type them. */
  commands: { rerun: (extra?: string[]) => string; undoBeforeIdentity: string; undoNote?: string; moveBack: string }
  onStatus?: (line: string) => void
  /** A secret shown once on purpose (the generated password): printed unredacted, once. */
  onSecretOnce?: (label: string, secret: string) => void
  onProgress?: (p: MigrateProgress) => void
}

export type MigrateProgress =
  | { kind: 'repo'; bytes: number; elapsedMs: number }
  | ({ kind: 'blobs' } & BlobCopyProgress)

/** com.atproto.server.checkAccountStatus */
interface AccountCheck {
  activated: boolean
  validDid: boolean
  repoCommit: string
  repoRev: string
  indexedRecords: number
  expectedBlobs: number
  importedBlobs: number
}

interface RepoStatus {
  exists: boolean
  active: boolean
  status?: string
}

/** What a survey found: read fresh before each step. */
interface Facts {
  oldRepo?: RepoStatus
  newRepo?: RepoStatus
  /** The old repository's latest commit (public getLatestCommit, or checkAccountStatus as the account). */
  oldCommit?: { cid: string; rev: string }
  oldCheck?: AccountCheck
  newCheck?: AccountCheck
  missing?: number
  doc?: DidDocumentView
  docError?: string
  prefsEqual?: boolean
}

const DEFAULT_CONCURRENCY = 4
const DEFAULT_MAX_WAIT_MS = 60_000
/** A PLC token mailed less than this long ago is still good (the PDS's email tokens last 15 minutes). */
const TOKEN_FRESH_MS = 15 * 60_000
/** A fact this run read less than this long ago is used again rather than read again (the gates). */
const FRESH_MS = 60_000

/** Two URLs name the same server: same origin, or the same port on loopback (localhost, 127.0.0.1, ::1). */
export function sameServer(a: string | undefined | null, b: string | undefined | null): boolean {
  if (!a || !b) return false
  try {
    const x = new URL(a)
    const y = new URL(b)
    if (x.origin === y.origin) return true
    const port = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80')
    return x.protocol === y.protocol && port(x) === port(y) && isLoopbackHost(x.hostname) && isLoopbackHost(y.hostname)
  } catch {
    return false
  }
}

/**
 * The default new handle: a handle under one of the old PDS's own domains becomes the same
 * name under the new PDS's first domain (alice.old.example → alice.new.example); any
 * other (a custom domain) is kept.
 */
export function defaultHandle(oldHandle: string, oldDomains: string[], newDomains: string[]): string | undefined {
  const domain = oldDomains.find((d) => d.startsWith('.') && oldHandle.endsWith(d) && oldHandle.length > d.length)
  if (!domain) return oldHandle
  if (!newDomains.length) return undefined
  return oldHandle.slice(0, -domain.length) + newDomains[0]
}

class Stop extends Error {
  constructor(readonly status: MigrationStatus) {
    super(status)
  }
}

export class Migration {
  state!: MigrationState
  private oldS?: AccountSession
  private oldLogin?: Promise<void>
  private newS?: AccountSession
  private facts: Facts = {}
  private oldDesc?: { did: string; availableUserDomains: string[]; inviteCodeRequired?: boolean }
  private newDesc?: { did: string; availableUserDomains: string[]; inviteCodeRequired?: boolean }
  private generatedPassword?: string
  private copied = { blobs: 0, bytes: 0 }
  private failedStep?: StepId
  private problems: MigrationReport['problems'] = []
  private mode: MigrationReport['mode'] = 'status'
  private waitingFor?: MigrationStatus
  private oldEmail?: string | null
  /** When the deactivation's gate last read everything (the verification then reads only what changed). */
  private gateSurveyAt?: number
  /** When this run last read the old repository's commit (the identity's gate reads it again only when older). */
  private oldCommitAt?: number
  /** Each PDS's getRecommendedDidCredentials, read once per run (nothing a step does changes them). */
  private recNew?: Recommended
  private recOld?: Recommended
  /** When this run compared the preferences (the deactivation's gate compares again only when older). */
  private prefsComparedAt?: number

  constructor(
    private readonly sides: MigrationSides,
    private readonly opts: MigrateOptions,
  ) {}

  private get did(): string {
    return this.opts.did
  }

  private say(line: string): void {
    this.opts.onStatus?.(line)
  }

  private async save(): Promise<void> {
    await writeState(this.opts.stateFile, this.state)
  }

  private async load(): Promise<void> {
    const saved = await readState(this.opts.stateFile)
    if (saved && saved.did !== this.did) throw new UsageError(`${this.opts.stateFile} belongs to ${saved.did}, not ${this.did}`, { hint: 'Remove it' })
    this.state = saved ?? newState(this.did, this.sides.direction, this.sides.old.url, this.sides.new.url)
    // The connected PDS may be reached at another address this time (a new port-forward).
    if (this.sides.direction === 'in') this.state.to = this.sides.new.url
    else this.state.from = this.sides.old.url
  }

  // ---------------------------------------------------------------------------------------
  // Reading where things stand

  private async describe(client: PdsClient) {
    const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.server.describeServer', name: 'com.atproto.server.describeServer', requires: ['did', 'availableUserDomains'] })
    const b = res.body as { did: string; availableUserDomains: unknown; inviteCodeRequired?: unknown }
    if (typeof b.did !== 'string' || !b.did.startsWith('did:')) throw new PdsctlError(`${client.url} answered describeServer without its DID`)
    const domains = Array.isArray(b.availableUserDomains) ? b.availableUserDomains.filter((d): d is string => typeof d === 'string') : []
    return { did: b.did, availableUserDomains: domains, inviteCodeRequired: b.inviteCodeRequired === true }
  }

  private async repoStatus(client: PdsClient): Promise<RepoStatus> {
    try {
      const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getRepoStatus', query: { did: this.did }, name: 'com.atproto.sync.getRepoStatus', requires: ['did', 'active'] })
      const b = res.body as { did: string; active: unknown; status?: unknown }
      if (b.did !== this.did) throw new PdsctlError(`${client.url} answered getRepoStatus for ${b.did}, not ${this.did}`)
      return { exists: true, active: b.active === true, status: typeof b.status === 'string' ? b.status : undefined }
    } catch (err) {
      if (err instanceof XrpcError && (err.xrpcName === 'RepoNotFound' || err.status === 404)) return { exists: false, active: false }
      throw err
    }
  }

  private async latestCommit(client: PdsClient): Promise<{ cid: string; rev: string } | undefined> {
    try {
      const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getLatestCommit', query: { did: this.did }, name: 'com.atproto.sync.getLatestCommit', requires: ['cid', 'rev'] })
      const b = res.body as { cid: string; rev: string }
      return { cid: b.cid, rev: b.rev }
    } catch (err) {
      // A deactivated (or taken-down) repository is not served publicly.
      if (err instanceof XrpcError && err.status >= 400 && err.status < 500) return undefined
      throw err
    }
  }

  private async check(session: AccountSession): Promise<AccountCheck> {
    const res = await session.call({
      method: 'GET',
      path: '/xrpc/com.atproto.server.checkAccountStatus',
      name: 'com.atproto.server.checkAccountStatus',
      requires: ['activated', 'validDid', 'repoCommit', 'repoRev', 'indexedRecords', 'expectedBlobs', 'importedBlobs'],
    })
    const b = res.body as AccountCheck
    return {
      activated: b.activated === true,
      validDid: b.validDid === true,
      repoCommit: String(b.repoCommit),
      repoRev: String(b.repoRev),
      indexedRecords: Number(b.indexedRecords),
      expectedBlobs: Number(b.expectedBlobs),
      importedBlobs: Number(b.importedBlobs),
    }
  }

  private async readDoc(): Promise<void> {
    try {
      this.facts.doc = await resolveDidDocument(this.didDocClient(), this.did)
      this.facts.docError = undefined
    } catch (err) {
      if (this.mode === 'run') throw err
      this.facts.doc = undefined
      this.facts.docError = err instanceof PdsctlError ? err.line : String(err)
    }
  }

  /** did:plc documents from the PLC directory; did:web ones from the domain (an anonymous client there). */
  private didDocClient(): PdsClient {
    if (this.did.startsWith('did:web:')) {
      if (!this.sides.didWeb) throw new PdsctlError(`internal: no client for the did:web host of ${this.did}`)
      return this.sides.didWeb
    }
    return this.sides.plc
  }

  /**
   * Where the DID document points: the new PDS, the old one, elsewhere. Each PDS's public
   * endpoint is known once pdsctl has had a session there (getRecommendedDidCredentials);
   * before that, the URL pdsctl reaches it at (a proxy or port-forward may differ).
   */
  private pointsAt(): 'old' | 'new' | 'other' | 'unknown' {
    const ep = this.facts.doc?.pdsEndpoint
    if (!ep) return 'unknown'
    const { endpoints } = this.state
    if (sameServer(ep, endpoints?.new ?? this.sides.new.url)) return 'new'
    if (sameServer(ep, endpoints?.old ?? this.sides.old.url)) return 'old'
    return 'other'
  }

  private identityDone(): boolean {
    const doc = this.facts.doc
    if (!doc || this.pointsAt() !== 'new') return false
    return !this.state.newSigningKey || doc.signingKey === this.state.newSigningKey
  }

  /** Every fact, fresh. Sessions are used when there are some (a run logs in first). */
  private async survey(): Promise<void> {
    // Preferences are compared only with both sessions (stepPreferences); keep what it found.
    const f: Facts = { prefsEqual: this.facts.prefsEqual }
    const [oldRepo, newRepo] = await Promise.all([this.repoStatus(this.sides.old), this.repoStatus(this.sides.new)])
    f.oldRepo = oldRepo
    f.newRepo = newRepo
    this.facts = f
    const tasks: Promise<unknown>[] = [this.readDoc()]
    if (this.oldS) tasks.push(this.check(this.oldS).then((c) => (f.oldCheck = c)))
    else if (oldRepo.active) tasks.push(this.latestCommit(this.sides.old).then((c) => (f.oldCommit = c)))
    if (this.newS && newRepo.exists) {
      tasks.push(this.check(this.newS).then((c) => (f.newCheck = c)))
      tasks.push(countMissing(this.newS).then((n) => (f.missing = n)))
    }
    await Promise.all(tasks)
    if (f.oldCheck) f.oldCommit = { cid: f.oldCheck.repoCommit, rev: f.oldCheck.repoRev }
    if (f.oldCommit) this.oldCommitAt = Date.now()
  }

  /**
   * Only the facts a step needs, read again (a whole survey costs two checkAccountStatus,
   * ~150 ms each on a busy PDS): the old commit (the account may still post there), the
   * new account's check, the missing blobs.
   */
  private async refresh(what: { oldCommit?: boolean; newCheck?: boolean; missing?: boolean }): Promise<void> {
    const f = this.facts
    const tasks: Promise<unknown>[] = []
    if (what.oldCommit) {
      tasks.push(
        this.oldS
          ? this.check(this.oldS).then((c) => {
              f.oldCheck = c
              f.oldCommit = { cid: c.repoCommit, rev: c.repoRev }
              this.oldCommitAt = Date.now()
            })
          : this.latestCommit(this.sides.old).then((c) => {
              f.oldCommit = c
              if (c) this.oldCommitAt = Date.now()
            }),
      )
    }
    if (this.newS && f.newRepo?.exists) {
      if (what.newCheck) tasks.push(this.check(this.newS).then((c) => (f.newCheck = c)))
      if (what.missing) tasks.push(countMissing(this.newS).then((n) => (f.missing = n)))
    }
    await Promise.all(tasks)
  }

  /** Read by this run less than a minute ago. */
  private fresh(at: number | undefined): boolean {
    return at !== undefined && Date.now() - at < FRESH_MS
  }

  private repoInSync(): boolean | undefined {
    const { newCheck, oldCommit } = this.facts
    const imported = this.state.imported
    if (!this.facts.newRepo?.exists) return false
    if (!newCheck) return imported ? undefined : false
    if (oldCommit) {
      if (newCheck.repoCommit === oldCommit.cid) return true
      // The account has posted on the new PDS since: its commit moved on from the import.
      if (imported && imported.commit === oldCommit.cid && imported.newRev && newCheck.repoRev > imported.newRev) return true
      return false
    }
    // The old repository cannot be read (deactivated, no session): trust the import record.
    return imported ? newCheck.repoCommit === imported.commit || (imported.newRev !== undefined && newCheck.repoRev > imported.newRev) : undefined
  }

  private blobsDone(): boolean | undefined {
    const { newCheck, missing } = this.facts
    if (!this.facts.newRepo?.exists) return false
    if (!newCheck || missing === undefined) return undefined
    // Blobs are listed as missing only once the records that use them are imported.
    const repo = this.repoInSync()
    if (repo !== true) return repo === false ? false : undefined
    const unavailable = this.state.unavailableBlobs?.length ?? 0
    return missing === 0 || (this.opts.allowMissingBlobs === true && missing <= unavailable)
  }

  // ---------------------------------------------------------------------------------------
  // The report

  private stepStates(): StepReport[] {
    const f = this.facts
    const s = this.state
    const st = (done: boolean | undefined, waiting = false): StepState => (done === true ? 'done' : done === undefined ? 'unknown' : waiting ? 'waiting' : 'todo')
    // After a verified migration the sessions are gone and the old repository is not served:
    // what was verified stands unless a read says otherwise.
    const verified = Boolean(s.verifiedAt)
    const repo = this.repoInSync() ?? (verified ? true : undefined)
    const blobs = this.blobsDone() ?? (verified ? true : undefined)
    const prefs = f.prefsEqual ?? (s.preferencesSyncedAt ? true : this.facts.newRepo?.exists ? undefined : false)
    const identity = this.identityDone()
    const steps: StepReport[] = [
      {
        id: 'account',
        state: st(f.newRepo?.exists),
        detail: f.newRepo?.exists
          ? `on ${this.sides.new.url}${s.handle ? ` as ${s.handle}` : ''} (${f.newRepo.active ? 'active' : (f.newRepo.status ?? 'inactive')})`
          : `${STEP_TITLES.account}${s.handle || this.opts.handle ? `: ${s.handle ?? this.opts.handle}` : ''}`,
        irreversible: false,
      },
      {
        id: 'repo',
        state: st(repo),
        detail:
          repo === true
            ? `commit ${f.newCheck?.repoCommit ?? s.imported?.commit ?? '?'}${f.newCheck ? `, ${f.newCheck.indexedRecords} records` : verified ? ` (verified ${s.verifiedAt})` : ''}`
            : f.newCheck && f.oldCommit
              ? `the new PDS has commit ${f.newCheck.repoCommit}, the old one ${f.oldCommit.cid}`
              : STEP_TITLES.repo,
        irreversible: false,
      },
      {
        id: 'blobs',
        state: st(blobs),
        detail: f.newCheck
          ? `${f.newCheck.importedBlobs} of ${f.newCheck.expectedBlobs} on the new PDS, ${f.missing ?? '?'} missing${s.unavailableBlobs?.length ? `, ${s.unavailableBlobs.length} gone from the old PDS` : ''}`
          : blobs === true
            ? `all on the new PDS (verified ${s.verifiedAt})`
            : STEP_TITLES.blobs,
        irreversible: false,
      },
      {
        id: 'preferences',
        state: st(prefs),
        detail: prefs === true ? (f.prefsEqual ? 'the same on both PDSes' : `the same on both PDSes (${s.preferencesSyncedAt})`) : STEP_TITLES.preferences,
        irreversible: false,
      },
      {
        id: 'identity',
        state: identity ? 'done' : f.doc || this.mode !== 'status' ? st(false, this.waitingFor === 'waiting-for-token' || this.waitingFor === 'waiting-for-did-web' || Boolean(s.plc?.tokenRequestedAt && !s.plc.submittedAt)) : 'unknown',
        detail: identity
          ? `the DID document points at ${f.doc?.pdsEndpoint}`
          : f.doc
            ? `${STEP_TITLES.identity} (now at ${f.doc.pdsEndpoint ?? 'no PDS'})${s.plc?.tokenRequestedAt ? `; a PLC token was mailed ${s.plc.tokenRequestedAt}` : ''}${s.plc?.signed ? '; a signed operation is saved' : ''}`
            : (f.docError ?? STEP_TITLES.identity),
        irreversible: true,
      },
      {
        id: 'activate',
        state: st(f.newRepo?.exists ? f.newRepo.active : false),
        detail: f.newRepo?.active ? 'the new account is active' : STEP_TITLES.activate,
        irreversible: false,
      },
      {
        id: 'deactivate',
        state: st(f.oldRepo ? f.oldRepo.exists && !f.oldRepo.active : undefined),
        detail: f.oldRepo?.exists && !f.oldRepo.active ? `the old account is ${f.oldRepo.status ?? 'inactive'}` : STEP_TITLES.deactivate,
        irreversible: true,
      },
      {
        id: 'verify',
        state: this.problems.length ? 'failed' : st(Boolean(s.verifiedAt) && f.oldRepo?.active === false && f.newRepo?.active === true),
        detail: this.problems.length ? `${this.problems.length} problem${this.problems.length === 1 ? '' : 's'}` : s.verifiedAt ? `verified ${s.verifiedAt}` : STEP_TITLES.verify,
        irreversible: false,
      },
    ]
    if (this.failedStep) for (const step of steps) if (step.id === this.failedStep) step.state = 'failed'
    // --status and the plan after a failed run: the step it failed at, with why, until done.
    const last = s.lastRun
    if (this.mode !== 'run' && last?.step && last.error) {
      const step = steps.find((x) => x.id === last.step)
      if (step && step.state !== 'done') {
        step.state = 'failed'
        step.detail = `the run of ${last.at} failed here: ${last.error}`
      }
    }
    return steps
  }

  report(): MigrationReport {
    const steps = this.stepStates()
    const f = this.facts
    const s = this.state
    let status: MigrationStatus
    if (this.waitingFor) status = this.waitingFor
    else if (this.failedStep || this.problems.length || steps.some((x) => x.state === 'failed')) status = 'failed'
    else if (steps.find((x) => x.id === 'identity')?.state === 'waiting' && steps.slice(0, 4).every((x) => x.state === 'done')) status = 'waiting-for-token'
    else if (steps.every((x) => x.state === 'done')) status = 'done'
    else if (steps.slice(0, -1).every((x) => x.state === 'done')) status = 'unverified'
    else if (!f.newRepo?.exists && !s.plc?.tokenRequestedAt) status = 'not-started'
    else status = 'in-progress'
    const r: MigrationReport = {
      did: this.did,
      direction: this.sides.direction,
      from: this.sides.old.url,
      to: this.sides.new.url,
      mode: this.mode,
      status,
      handle: { old: s.oldHandle ?? null, new: s.handle ?? this.opts.handle ?? null },
      steps,
      counts: {
        records: { old: f.oldCheck?.indexedRecords ?? null, new: f.newCheck?.indexedRecords ?? null },
        blobs: {
          expected: f.newCheck?.expectedBlobs ?? f.oldCheck?.expectedBlobs ?? null,
          imported: f.newCheck?.importedBlobs ?? null,
          missing: f.missing ?? null,
          unavailable: s.unavailableBlobs?.length ?? 0,
          copied: this.copied.blobs,
        },
        bytes: this.copied.bytes,
      },
      identity: {
        pdsEndpoint: f.doc?.pdsEndpoint ?? null,
        pointsAt: this.pointsAt(),
        signingKey: f.doc?.signingKey ?? null,
        handle: f.doc?.handle ?? null,
      },
      active: { old: f.oldRepo?.exists ? f.oldRepo.active : null, new: f.newRepo?.exists ? f.newRepo.active : null },
      problems: this.problems,
      next: status === 'done' ? null : status === 'waiting-for-token' ? this.opts.commands.rerun(['--token', 'CODE']) : this.opts.commands.rerun(),
      undo: this.undo(),
      stateFile: this.opts.stateFile,
    }
    if (this.generatedPassword) r.newPassword = this.generatedPassword
    return r
  }

  /** How to go back from here: nothing irreversible yet → delete the unused new account; after → move back. */
  private undo(): string | null {
    const f = this.facts
    if (!f.newRepo?.exists) return null
    if (this.pointsAt() !== 'new' && f.oldRepo?.active !== false) {
      return `the old account is untouched and active: delete the unused new one with \`${this.opts.commands.undoBeforeIdentity}\`${this.opts.commands.undoNote ? ` ${this.opts.commands.undoNote}` : ''}`
    }
    return `move back with \`${this.opts.commands.moveBack}\` (the old account is still on ${this.sides.old.url}; within 72 hours of the PLC operation a rotation key the account holds, ranked above the old PDS's, can also undo it)`
  }

  /** What has been done where, for an error line. */
  private doneSoFar(): string {
    const f = this.facts
    const parts: string[] = []
    const steps = this.stepStates()
    const done = steps.filter((s) => s.state === 'done' && s.id !== 'verify').map((s) => s.id)
    parts.push(done.length ? `done: ${done.join(', ')}` : 'nothing was changed yet')
    if (f.oldRepo?.exists) parts.push(`the old account on ${this.sides.old.url} is ${f.oldRepo.active ? 'active' : (f.oldRepo.status ?? 'inactive')}`)
    if (f.newRepo?.exists) parts.push(`the new one on ${this.sides.new.url} is ${f.newRepo.active ? 'active' : (f.newRepo.status ?? 'inactive')}`)
    if (f.doc) parts.push(`the DID document points at ${this.pointsAt() === 'new' ? 'the new PDS' : this.pointsAt() === 'old' ? 'the old PDS' : (f.doc.pdsEndpoint ?? 'no PDS')}`)
    return parts.join('; ')
  }

  // ---------------------------------------------------------------------------------------
  // Entry points

  /** `--status`: read-only, no password; a saved session of the new account is used when there is one. */
  async status(): Promise<MigrationReport> {
    this.mode = 'status'
    await this.load()
    await this.resumeNewSession()
    await this.survey()
    return this.report()
  }

  /** `--dry-run`: the plan (what a run would do), without changing anything. */
  async plan(): Promise<MigrationReport> {
    const r = await this.status()
    r.mode = 'plan'
    await this.fillPlanDefaults(r)
    return r
  }

  private async fillPlanDefaults(r: MigrationReport): Promise<void> {
    if (r.handle.new) return
    const old = this.facts.doc?.handle ?? this.state.oldHandle
    if (!old) return
    this.oldDesc ??= await this.describe(this.sides.old).catch(() => undefined)
    this.newDesc ??= await this.describe(this.sides.new)
    r.handle = { old, new: defaultHandle(old, this.oldDesc?.availableUserDomains ?? [], this.newDesc.availableUserDomains) ?? null }
    const account = r.steps.find((s) => s.id === 'account')
    if (account && account.state !== 'done' && r.handle.new) account.detail = `${STEP_TITLES.account}: ${r.handle.new}`
  }

  /** A run: every step that is left, in order. */
  async run(): Promise<MigrationReport> {
    this.mode = 'run'
    await this.load()
    // A password on stdin needs no asking: the old PDS's login (~400 ms, a password hash on a
    // busy PDS) runs while the survey reads; its error, if any, is the account step's, as before.
    const earlyLogin = this.opts.oldPasswordGiven ? this.loginOld() : undefined
    earlyLogin?.catch(() => {})
    await this.resumeNewSession()
    await this.survey()
    const planned = this.report()
    planned.mode = 'plan'
    await this.fillPlanDefaults(planned)
    if (planned.status === 'done') {
      planned.mode = 'run'
      this.say(`${this.did} has moved already: nothing to do`)
      return planned
    }
    await this.opts.confirm(planned)
    let step: StepId = 'account'
    try {
      this.state.lastRun = { at: new Date().toISOString() }
      await this.loginOld()
      for (step of STEP_ORDER) {
        this.opts.signal?.throwIfAborted()
        await this.runStep(step)
      }
      this.state.lastRun = { at: new Date().toISOString() }
      await this.save()
      return this.report()
    } catch (err) {
      if (err instanceof Stop) {
        this.waitingFor = err.status
        await this.save()
        return this.report()
      }
      if (err instanceof MigrationFailedError) throw err
      if (this.opts.signal?.aborted) throw err
      throw await this.fail(step, err)
    }
  }

  private async fail(step: StepId, err: unknown): Promise<MigrationFailedError> {
    this.failedStep = step
    const line = err instanceof PdsctlError ? err.line : err instanceof Error ? err.message : String(err)
    this.state.lastRun = { at: new Date().toISOString(), step, error: line }
    await this.save().catch(() => {})
    // What stands now, read again (the failure may have been after the change took effect).
    await this.survey().catch(() => {})
    const report = this.report()
    const exitCode: ExitCodeValue = err instanceof PdsctlError ? err.exitCode : ExitCode.SERVER
    const hint = [`${this.doneSoFar()}`, `Continue: ${this.opts.commands.rerun()}`, report.undo ? `Undo: ${report.undo}` : ''].filter(Boolean).join('. ')
    return new MigrationFailedError(`account migrate: the ${step} step failed: ${line}`, report, { hint, cause: err, exitCode })
  }

  // ---------------------------------------------------------------------------------------
  // Sessions

  private async resumeNewSession(): Promise<void> {
    const saved = this.state.session?.refreshJwt
    if (!saved || this.newS) return
    this.newS = await AccountSession.resume(this.sides.new, 'the new PDS', this.did, saved, (r) => this.keepSession(r))
    if (!this.newS) {
      delete this.state.session
      if (this.mode === 'run') await this.save()
    }
  }

  private async keepSession(refreshJwt: string): Promise<void> {
    this.state.session = { refreshJwt, savedAt: new Date().toISOString() }
    await this.save()
  }

  /** The old account's session: needed by every step but activation and verification. One login per run. */
  private loginOld(): Promise<void> {
    this.oldLogin ??= this.doLoginOld()
    return this.oldLogin
  }

  private async doLoginOld(): Promise<void> {
    const password = await this.opts.oldPassword()
    this.sides.old.addSecret(password)
    this.oldS = await AccountSession.login(this.sides.old, 'the old PDS', this.did, password)
    const info = await this.oldS.describe()
    this.oldEmail = info.email
    this.state.oldHandle ??= info.handle
  }

  private async loginNew(): Promise<AccountSession> {
    if (this.newS) return this.newS
    const password = await this.opts.existingNewPassword(
      `the account ${this.did} already exists on ${this.sides.new.url} and pdsctl has no session for it (an earlier run on another machine, or a removed state file)`,
    )
    this.sides.new.addSecret(password)
    this.newS = await AccountSession.login(this.sides.new, 'the new PDS', this.did, password, (r) => this.keepSession(r))
    await this.keepSession(this.newS.refreshJwt)
    return this.newS
  }

  // ---------------------------------------------------------------------------------------
  // The steps

  private async runStep(step: StepId): Promise<void> {
    switch (step) {
      case 'account':
        return this.stepAccount()
      case 'repo':
        return this.stepRepo()
      case 'blobs':
        return this.stepBlobs()
      case 'preferences':
        return this.stepPreferences()
      case 'identity':
        return this.stepIdentity()
      case 'activate':
        return this.stepActivate()
      case 'deactivate':
        return this.stepDeactivate()
      case 'verify':
        return this.stepVerify()
    }
  }

  private n(step: StepId): string {
    return `[${STEP_ORDER.indexOf(step) + 1}/${STEP_ORDER.length}] ${step}`
  }

  private async stepAccount(): Promise<void> {
    // The run's survey read it (nothing since changed it).
    this.facts.newRepo ??= await this.repoStatus(this.sides.new)
    if (!this.facts.newRepo.exists || !this.state.newPdsDid) {
      this.newDesc ??= await this.describe(this.sides.new)
      this.state.newPdsDid ??= this.newDesc.did
    }
    if (this.facts.newRepo.exists) {
      await this.loginNew()
      this.say(`${this.n('account')}: done before (${this.sides.new.url} has ${this.did})`)
      await this.learnEndpoints()
      return
    }
    this.oldDesc ??= await this.describe(this.sides.old)
    this.newDesc ??= await this.describe(this.sides.new)
    const oldHandle = this.state.oldHandle ?? this.oldS!.info.handle
    const handle =
      this.opts.handle ??
      this.state.handle ??
      defaultHandle(oldHandle, this.oldDesc.availableUserDomains, this.newDesc.availableUserDomains)
    if (!handle) throw new UsageError(`the new PDS offers no handle domain to map ${oldHandle} to`, { hint: 'Choose the new handle with --handle' })
    const email = this.opts.email ?? this.state.email ?? this.oldEmail
    if (!email) throw new UsageError(`the old account has no email address pdsctl can read`, { hint: 'Give the new account one with --email' })
    let inviteCode = this.opts.inviteCode
    if (this.newDesc.inviteCodeRequired && !inviteCode) {
      if (!this.opts.mintInviteCode) throw new UsageError(`${this.sides.new.url} requires an invite code`, { hint: 'Ask its operator for one and pass --invite-code CODE' })
      inviteCode = await this.opts.mintInviteCode()
    }
    this.state.handle = handle
    this.state.email = email
    await this.save()
    const { password, generated } = await this.opts.newPassword()
    this.sides.new.addSecret(password)
    this.say(`${this.n('account')}: creating ${handle} (${this.did}) on ${this.sides.new.url}…`)
    // The audience is the new PDS's own DID (describeServer), never derived from its URL.
    const exp = Math.floor(Date.now() / 1000) + 180
    const sa = await this.oldS!.call({
      method: 'GET',
      path: '/xrpc/com.atproto.server.getServiceAuth',
      query: { aud: this.newDesc.did, lxm: 'com.atproto.server.createAccount', exp },
      name: 'com.atproto.server.getServiceAuth',
      requires: ['token'],
    })
    const serviceToken = String((sa.body as { token: unknown }).token)
    this.sides.new.addSecret(serviceToken)
    let created: RawResponse
    try {
      created = await this.sides.new.call({
        method: 'POST',
        path: '/xrpc/com.atproto.server.createAccount',
        body: { did: this.did, handle, email, password, ...(inviteCode ? { inviteCode } : {}) },
        auth: { bearer: serviceToken },
        name: 'com.atproto.server.createAccount',
        requires: ['did', 'handle', 'accessJwt', 'refreshJwt'],
      })
    } catch (err) {
      throw explainCreate(err, handle, email)
    }
    this.newS = AccountSession.created(this.sides.new, 'the new PDS', created.body, this.did, (r) => this.keepSession(r))
    await this.keepSession(this.newS.refreshJwt)
    if (generated) {
      this.generatedPassword = password
      const label = `New password of ${handle} on ${this.sides.new.url} (shown once: keep it now):`
      if (this.opts.onSecretOnce) this.opts.onSecretOnce(label, password)
      else this.say(`${label} ${password}`)
    }
    this.facts.newRepo = await this.repoStatus(this.sides.new)
    this.say(`${this.n('account')}: done (deactivated until the end)`)
    await this.learnEndpoints()
  }

  /** Each PDS's public endpoint and the new signing key (getRecommendedDidCredentials): what the DID document must name. */
  private async learnEndpoints(): Promise<void> {
    const rec = async (s: AccountSession) => recommended(await s.call({ method: 'GET', path: '/xrpc/com.atproto.identity.getRecommendedDidCredentials', name: 'com.atproto.identity.getRecommendedDidCredentials' }))
    const [n, o] = await Promise.all([rec(this.newS!), this.oldS ? rec(this.oldS).catch(() => undefined) : undefined])
    this.recNew = n
    this.recOld = o
    this.state.endpoints = { ...this.state.endpoints, new: n.endpoint ?? this.state.endpoints?.new, ...(o?.endpoint ? { old: o.endpoint } : {}) }
    if (n.signingKey) this.state.newSigningKey = n.signingKey
    await this.save()
  }

  private async stepRepo(): Promise<void> {
    // The run's first survey read the rest; a new account has just been created.
    await this.refresh({ oldCommit: !this.facts.oldCommit, newCheck: !this.facts.newCheck, missing: this.facts.missing === undefined })
    if (this.repoInSync()) {
      this.say(`${this.n('repo')}: done (commit ${this.facts.newCheck?.repoCommit})`)
      return
    }
    const old = this.facts.oldCommit
    if (!old) throw new PdsctlError(`cannot read the old repository's latest commit from ${this.sides.old.url}`)
    const since = this.state.imported && this.facts.newCheck?.repoCommit === this.state.imported.commit ? this.state.imported.rev : undefined
    this.say(`${this.n('repo')}: copying the repository${since ? ` (what changed since rev ${since})` : ''} from ${this.sides.old.url} to ${this.sides.new.url}…`)
    try {
      await this.copyRepo(since)
    } catch (err) {
      if (!since || this.opts.signal?.aborted) throw err
      this.say(`${this.n('repo')}: the new PDS refused the changes alone (${err instanceof PdsctlError ? err.line : String(err)}); sending the whole repository`)
      await this.copyRepo(undefined)
    }
    const after = await this.check(this.newS!)
    this.facts.newCheck = after
    this.facts.missing = await countMissing(this.newS!)
    const oldNow = this.oldS ? await this.check(this.oldS) : undefined
    if (oldNow) {
      this.facts.oldCheck = oldNow
      this.facts.oldCommit = { cid: oldNow.repoCommit, rev: oldNow.repoRev }
      this.oldCommitAt = Date.now()
    }
    const want = oldNow?.repoCommit ?? old.cid
    // The import is recorded as what was sent (the old commit it carried), with the new PDS's rev right after.
    this.state.imported = { commit: after.repoCommit, rev: oldNow && oldNow.repoCommit === after.repoCommit ? oldNow.repoRev : old.rev, newRev: after.repoRev, at: new Date().toISOString() }
    await this.save()
    if (after.repoCommit !== want) {
      throw new PdsctlError(`after the import the new PDS holds commit ${after.repoCommit}, not the old PDS's ${want}`, { hint: 'The account may have posted on the old PDS meanwhile: run the same command again' })
    }
    this.say(`${this.n('repo')}: done (commit ${after.repoCommit}, ${after.indexedRecords} records)`)
  }

  private async copyRepo(since: string | undefined): Promise<void> {
    const started = Date.now()
    let bytes = 0
    let last = 0
    const src = await this.sides.old.stream(
      { method: 'GET', path: '/xrpc/com.atproto.sync.getRepo', query: { did: this.did, since }, auth: await this.oldS!.auth(), name: 'com.atproto.sync.getRepo' },
      { signal: this.opts.signal },
    )
    src.body.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      this.copied.bytes += chunk.length
      const now = Date.now()
      if (now - last >= 200) {
        last = now
        this.opts.onProgress?.({ kind: 'repo', bytes, elapsedMs: now - started })
      }
    })
    const length = Number(Array.isArray(src.headers['content-length']) ? src.headers['content-length'][0] : src.headers['content-length'])
    try {
      const res = await this.newS!.stream(
        { method: 'POST', path: '/xrpc/com.atproto.repo.importRepo', contentType: 'application/vnd.ipld.car', name: 'com.atproto.repo.importRepo' },
        { body: src.body, contentLength: Number.isSafeInteger(length) && length >= 0 ? length : undefined, signal: this.opts.signal },
      )
      for await (const _ of res.body) void _
    } catch (err) {
      src.body.destroy()
      if (err instanceof XrpcError && /not accepting repo imports/i.test(err.xrpcMessage ?? '')) {
        throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, {
          summary: `${this.sides.new.url} refuses repository imports`,
          hint: `Its operator must set PDS_ACCEPTING_REPO_IMPORTS=true (and restart it) before the account can move there`,
        })
      }
      throw err
    }
    this.opts.onProgress?.({ kind: 'repo', bytes, elapsedMs: Date.now() - started })
  }

  private async stepBlobs(): Promise<void> {
    await this.refresh({ missing: this.facts.missing === undefined })
    if (!this.repoInSync()) throw new PdsctlError('the repository is not on the new PDS yet')
    const missing = this.facts.missing ?? 0
    const skip = new Set(this.state.unavailableBlobs ?? [])
    if (missing === 0 || missing <= skip.size) {
      this.say(`${this.n('blobs')}: done (${this.facts.newCheck?.importedBlobs} blobs on the new PDS)`)
      return this.checkUnavailable()
    }
    this.say(`${this.n('blobs')}: copying ${missing} blob${missing === 1 ? '' : 's'} (${this.opts.concurrency ?? DEFAULT_CONCURRENCY} at a time)…`)
    const result = await copyMissingBlobs({
      did: this.did,
      old: this.sides.old,
      oldSession: this.oldS,
      newSession: this.newS!,
      concurrency: this.opts.concurrency ?? DEFAULT_CONCURRENCY,
      total: missing - skip.size,
      maxWaitMs: this.opts.maxRateLimitWaitMs ?? DEFAULT_MAX_WAIT_MS,
      skip,
      signal: this.opts.signal,
      onProgress: (p) => {
        if (p.note) this.say(`${this.n('blobs')}: ${p.note}`)
        this.opts.onProgress?.({ kind: 'blobs', ...p })
      },
    })
    this.copied.blobs += result.copied
    this.copied.bytes += result.bytes
    if (result.unavailable.length) {
      this.state.unavailableBlobs = [...new Set([...(this.state.unavailableBlobs ?? []), ...result.unavailable])]
      await this.save()
    }
    if (result.stopped) {
      const { remaining, retryAt, by } = result.stopped
      this.facts.missing = remaining
      this.failedStep = undefined
      this.waitingFor = 'rate-limited'
      const report = this.report()
      throw new MigrationPausedError(
        `account migrate: paused by the ${by} PDS's rate limit after ${result.copied} blob${result.copied === 1 ? '' : 's'}: ${remaining} remain`,
        report,
        {
          hint: `It takes more after ${retryAt.toISOString()}: run the same command again then (${this.opts.commands.rerun()}), or set PDS_RATE_LIMIT_BYPASS_KEY (its bypass key) to go on now. Nothing else changed: the old account is untouched and active`,
          exitCode: ExitCode.SERVER,
        },
      )
    }
    const [left, check] = await Promise.all([countMissing(this.newS!), this.check(this.newS!)])
    this.facts.missing = left
    this.facts.newCheck = check
    this.say(`${this.n('blobs')}: done (${result.copied} copied, ${formatBytes(result.bytes)})`)
    if (left > (this.state.unavailableBlobs?.length ?? 0)) throw new PdsctlError(`${left} blobs are still missing on the new PDS after the copy`, { hint: 'Run the same command again' })
    await this.checkUnavailable()
  }

  private async checkUnavailable(): Promise<void> {
    const gone = this.state.unavailableBlobs ?? []
    if (!gone.length || this.opts.allowMissingBlobs) return
    throw new NotFoundError(
      `${gone.length} blob${gone.length === 1 ? '' : 's'} the repository uses ${gone.length === 1 ? 'is' : 'are'} gone from the old PDS (${gone.slice(0, 3).join(', ')}${gone.length > 3 ? ', …' : ''}): the identity is not moved without ${gone.length === 1 ? 'it' : 'them'}`,
      { hint: `Nothing can bring ${gone.length === 1 ? 'it' : 'them'} back from here; to move anyway (the posts will show no image), run the same command with --allow-missing-blobs` },
    )
  }

  private async preferences(s: AccountSession): Promise<unknown[] | undefined> {
    try {
      const res = await s.call({ method: 'GET', path: '/xrpc/app.bsky.actor.getPreferences', name: 'app.bsky.actor.getPreferences', requires: ['preferences[]'] })
      return (res.body as { preferences: unknown[] }).preferences
    } catch (err) {
      // A PDS without an App View serves no preferences (nothing to copy from it).
      if (err instanceof XrpcError && /No service configured/i.test(err.xrpcMessage ?? '')) return undefined
      throw err
    }
  }

  private async stepPreferences(): Promise<void> {
    const [oldPrefs, newPrefs] = await Promise.all([this.preferences(this.oldS!), this.preferences(this.newS!)])
    if (oldPrefs === undefined) {
      this.say(`${this.n('preferences')}: the old PDS serves no preferences (no App View configured): nothing to copy`)
      this.facts.prefsEqual = true
      this.prefsComparedAt = Date.now()
      this.state.preferencesSyncedAt = new Date().toISOString()
      await this.save()
      return
    }
    if (newPrefs !== undefined && canonical(oldPrefs) === canonical(newPrefs)) {
      this.facts.prefsEqual = true
      this.prefsComparedAt = Date.now()
      this.state.preferencesSyncedAt = new Date().toISOString()
      await this.save()
      this.say(`${this.n('preferences')}: done (${oldPrefs.length} the same on both PDSes)`)
      return
    }
    if (newPrefs === undefined) throw new PdsctlError(`${this.sides.new.url} serves no preferences (no App View configured): it cannot take the old ones`, { hint: 'Its operator should set PDS_BSKY_APP_VIEW_URL and PDS_BSKY_APP_VIEW_DID' })
    this.say(`${this.n('preferences')}: copying ${oldPrefs.length} preference${oldPrefs.length === 1 ? '' : 's'}…`)
    await this.newS!.call({ method: 'POST', path: '/xrpc/app.bsky.actor.putPreferences', body: { preferences: oldPrefs }, name: 'app.bsky.actor.putPreferences' })
    const after = await this.preferences(this.newS!)
    if (canonical(after ?? []) !== canonical(oldPrefs)) throw new PdsctlError('the new PDS holds other preferences than it was sent')
    this.facts.prefsEqual = true
    this.prefsComparedAt = Date.now()
    this.state.preferencesSyncedAt = new Date().toISOString()
    await this.save()
    this.say(`${this.n('preferences')}: done`)
  }

  /** The gate of the identity step: the new PDS holds everything before the DID document moves. */
  private async dataGate(step: string): Promise<void> {
    // The old commit again: a post made on the old PDS since the import must come along first.
    // (Read less than a minute ago in this run, it stands: the deactivation's gate reads it again.)
    await this.refresh({ oldCommit: !this.fresh(this.oldCommitAt), missing: this.facts.missing === undefined })
    if (this.repoInSync() === false && this.facts.newRepo?.exists) {
      this.say(`the old repository has changed since the import: copying the changes before ${step}`)
      await this.stepRepo()
      await this.stepBlobs()
    }
    const missing: string[] = []
    if (!this.repoInSync()) missing.push('the repository (the old PDS has newer commits)')
    if (!this.blobsDone()) missing.push(`${this.facts.missing ?? 'some'} blobs`)
    if (missing.length) throw new PdsctlError(`before ${step}, the new PDS must hold ${missing.join(' and ')}`, { hint: 'Run the same command again: it copies what is missing first' })
  }

  private async stepIdentity(): Promise<void> {
    // The run's survey read the document, and no step before this one changes it.
    if (!this.facts.doc) await this.readDoc()
    if (!this.state.endpoints?.new) await this.learnEndpoints()
    if (this.identityDone()) {
      this.say(`${this.n('identity')}: done (the DID document points at ${this.facts.doc?.pdsEndpoint})`)
      return
    }
    await this.dataGate('the identity moves')
    if (this.did.startsWith('did:web:')) return this.identityDidWeb()
    const rec = this.recNew ?? recommended(await this.newS!.call({ method: 'GET', path: '/xrpc/com.atproto.identity.getRecommendedDidCredentials', name: 'com.atproto.identity.getRecommendedDidCredentials' }))
    if (!rec.endpoint || !rec.signingKey || !rec.rotationKeys.length) throw new PdsctlError(`${this.sides.new.url} answered getRecommendedDidCredentials without an endpoint, a signing key and rotation keys`)
    // With --token at hand the operation's data is read alongside its head (one round trip to the directory, not two).
    const early = this.opts.token ? readPlcData(this.sides.plc, this.did) : undefined
    early?.catch(() => {})
    const head = await lastPlcOperationCid(this.sides.plc, this.did)
    const saved = this.state.plc?.signed
    if (saved && saved.prev === head) {
      this.say(`${this.n('identity')}: submitting the PLC operation saved by an earlier run…`)
      return this.submit(saved.operation, rec)
    }
    if (saved) {
      // The identity changed since that operation was signed (another operation landed): it can never apply.
      this.say(`${this.n('identity')}: the saved PLC operation is stale (the identity changed since it was signed); a new one is needed`)
      delete this.state.plc!.signed
      await this.save()
    }
    let token = this.opts.token
    if (!token) {
      const mailedAt = this.state.plc?.tokenRequestedAt ? Date.parse(this.state.plc.tokenRequestedAt) : NaN
      if (!(Date.now() - mailedAt < TOKEN_FRESH_MS)) {
        this.say(`${this.n('identity')}: asking the old PDS to mail a PLC token to ${maskEmail(this.oldEmail)}…`)
        await this.oldS!.call({ method: 'POST', path: '/xrpc/com.atproto.identity.requestPlcOperationSignature', name: 'com.atproto.identity.requestPlcOperationSignature' })
        this.state.plc = { ...this.state.plc, tokenRequestedAt: new Date().toISOString() }
        await this.save()
      } else this.say(`${this.n('identity')}: a PLC token was mailed to ${maskEmail(this.oldEmail)} at ${this.state.plc!.tokenRequestedAt}`)
      token = await this.opts.askToken?.(maskEmail(this.oldEmail))
      if (!token) {
        this.say(`Waiting for the PLC token: when the mail arrives, continue with: ${this.opts.commands.rerun(['--token', 'CODE'])}`)
        throw new Stop('waiting-for-token')
      }
    }
    this.sides.old.addSecret(token)
    const plcData = await (early ?? readPlcData(this.sides.plc, this.did))
    const oldRec = this.recOld ?? recommended(await this.oldS!.call({ method: 'GET', path: '/xrpc/com.atproto.identity.getRecommendedDidCredentials', name: 'com.atproto.identity.getRecommendedDidCredentials' }))
    // Rotation keys the account holds itself (in the document, not the old PDS's) stay, ahead
    // of the new PDS's: they keep their power to undo an operation within 72 hours.
    const own = plcData.rotationKeys.filter((k) => !oldRec.rotationKeys.includes(k) && !rec.rotationKeys.includes(k))
    const rotationKeys = [...own, ...rec.rotationKeys]
    if (rotationKeys.length > 5) throw new UsageError(`the identity would have ${rotationKeys.length} rotation keys (PLC allows 5): ${own.length} held by the account and ${rec.rotationKeys.length} of the new PDS`, { hint: 'Remove one of the account\'s own rotation keys first' })
    const input = {
      token,
      rotationKeys,
      alsoKnownAs: [...rec.alsoKnownAs.slice(0, 1), ...plcData.alsoKnownAs.filter((a) => !a.startsWith('at://'))],
      // Other services and keys (a labeler's, say) stay; the PDS and its signing key change.
      verificationMethods: { ...plcData.verificationMethods, atproto: rec.signingKey },
      services: { ...plcData.services, atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: rec.endpoint } },
    }
    this.say(`${this.n('identity')}: the old PDS signs the PLC operation…`)
    let signed: RawResponse
    try {
      signed = await this.oldS!.call({ method: 'POST', path: '/xrpc/com.atproto.identity.signPlcOperation', body: input, name: 'com.atproto.identity.signPlcOperation', requires: ['operation'] })
    } catch (err) {
      if (err instanceof XrpcError && /Token/i.test(err.xrpcName ?? '') && err.status === 400) {
        // A rerun without --token mails a new one at once (a spent or mistyped token may be why).
        if (this.state.plc?.tokenRequestedAt) {
          delete this.state.plc.tokenRequestedAt
          await this.save()
        }
        throw new AuthError(`the old PDS rejected the PLC token (${err.xrpcName}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''}); nothing was signed and the DID document is unchanged`, {
          hint: `Check the code in the mail (tokens last 15 minutes and work once); for a new one, run the same command without --token: ${this.opts.commands.rerun()}`,
        })
      }
      throw err
    }
    const operation = (signed.body as { operation: Record<string, unknown> }).operation
    checkSignedOperation(operation, input, head)
    // Saved before it is submitted: once it lands, the old PDS can no longer sign another.
    this.state.plc = { ...this.state.plc, signed: { operation, prev: head, signedAt: new Date().toISOString() } }
    await this.save()
    await this.submit(operation, rec)
  }

  private async submit(operation: Record<string, unknown>, rec: Recommended): Promise<void> {
    this.say(`${this.n('identity')}: the new PDS submits the PLC operation to ${this.sides.plc.url}…`)
    try {
      await this.newS!.call({ method: 'POST', path: '/xrpc/com.atproto.identity.submitPlcOperation', body: { operation }, name: 'com.atproto.identity.submitPlcOperation' })
    } catch (err) {
      // It may have landed although the answer was lost: the document says.
      await this.readDoc()
      if (!this.identityDone()) throw err
    }
    await this.readDoc()
    if (!this.identityDone()) {
      throw new PdsctlError(`the PLC operation was submitted but the DID document still points at ${this.facts.doc?.pdsEndpoint ?? 'no PDS'}, not ${rec.endpoint}`, { hint: 'Run the same command again in a minute (the directory may lag)' })
    }
    this.state.plc = { ...this.state.plc, submittedAt: new Date().toISOString() }
    delete this.state.plc.tokenRequestedAt
    await this.save()
    this.say(`${this.n('identity')}: done (the DID document points at ${rec.endpoint})`)
  }

  private async identityDidWeb(): Promise<void> {
    const rec = recommended(await this.newS!.call({ method: 'GET', path: '/xrpc/com.atproto.identity.getRecommendedDidCredentials', name: 'com.atproto.identity.getRecommendedDidCredentials' }))
    const host = decodeURIComponent(this.did.slice('did:web:'.length))
    this.say(
      `${this.n('identity')}: ${this.did} is a did:web: update https://${host}/.well-known/did.json yourself: ` +
        `the service with id "#atproto_pds" gets "serviceEndpoint": "${rec.endpoint}", and the verificationMethod with id "#atproto" gets ` +
        `"type": "Multikey", "publicKeyMultibase": "${(rec.signingKey ?? '').replace(/^did:key:/, '')}". Then run the same command again: ${this.opts.commands.rerun()}`,
    )
    throw new Stop('waiting-for-did-web')
  }

  private async stepActivate(): Promise<void> {
    // Read by this run's survey (or after its own account creation): only this step activates it.
    this.facts.newRepo ??= await this.repoStatus(this.sides.new)
    if (this.facts.newRepo.active) {
      this.say(`${this.n('activate')}: done (the new account is active)`)
      return
    }
    // The document as the identity step left it (read after its submission); read again only if it is not there yet.
    if (!this.identityDone()) await this.readDoc()
    if (!this.identityDone()) throw new PdsctlError('the DID document does not point at the new PDS yet')
    this.say(`${this.n('activate')}: activating the account on ${this.sides.new.url}…`)
    try {
      await this.newS!.call({ method: 'POST', path: '/xrpc/com.atproto.server.activateAccount', name: 'com.atproto.server.activateAccount' })
    } catch (err) {
      this.facts.newRepo = await this.repoStatus(this.sides.new)
      if (!this.facts.newRepo.active) throw err
    }
    this.facts.newRepo = await this.repoStatus(this.sides.new)
    if (!this.facts.newRepo.active) throw new PdsctlError(`${this.sides.new.url} still reports the account ${this.facts.newRepo.status ?? 'inactive'} after activateAccount`)
    this.state.activatedAt ??= new Date().toISOString()
    await this.save()
    this.say(`${this.n('activate')}: done`)
  }

  private async stepDeactivate(): Promise<void> {
    // Read by this run's survey: only this step deactivates it.
    this.facts.oldRepo ??= await this.repoStatus(this.sides.old)
    if (this.facts.oldRepo.exists && !this.facts.oldRepo.active) {
      this.say(`${this.n('deactivate')}: done (the old account is ${this.facts.oldRepo.status ?? 'inactive'})`)
      return
    }
    // Everything holds on the new side first: repository (posts made on the old PDS during
    // the migration included), blobs, preferences, identity, activation. What may have moved
    // without this run (the old commit: the account may post there; the new account's check)
    // is read again; what this run read after its own writes (the DID document after the PLC
    // operation, the new account's status after activation, the blobs after the copy) stands.
    await this.refresh({ oldCommit: true, newCheck: true, missing: this.facts.missing === undefined })
    this.gateSurveyAt = Date.now()
    if (!this.repoInSync()) {
      this.say(`${this.n('deactivate')}: the old repository has changed since the import: copying the changes first`)
      await this.stepRepo()
      await this.stepBlobs()
      await this.survey()
    }
    if (!this.fresh(this.prefsComparedAt)) {
      const [oldPrefs, newPrefs] = await Promise.all([this.preferences(this.oldS!), this.preferences(this.newS!)])
      if (oldPrefs !== undefined && canonical(oldPrefs) !== canonical(newPrefs ?? [])) await this.stepPreferences()
    }
    const gaps: string[] = []
    if (!this.repoInSync()) gaps.push('the repository')
    if (!this.blobsDone()) gaps.push('every blob')
    if (!this.identityDone()) gaps.push('the identity')
    if (!this.facts.newRepo?.active) gaps.push('activation')
    if (gaps.length) throw new PdsctlError(`the old account stays active: the new PDS lacks ${gaps.join(', ')}`, { hint: 'Run the same command again' })
    this.say(`${this.n('deactivate')}: deactivating the account on ${this.sides.old.url}…`)
    try {
      await this.oldS!.call({ method: 'POST', path: '/xrpc/com.atproto.server.deactivateAccount', body: {}, name: 'com.atproto.server.deactivateAccount' })
    } catch (err) {
      this.facts.oldRepo = await this.repoStatus(this.sides.old)
      if (this.facts.oldRepo.active) throw err
    }
    this.facts.oldRepo = await this.repoStatus(this.sides.old)
    if (this.facts.oldRepo.active) throw new PdsctlError(`${this.sides.old.url} still reports the old account active after deactivateAccount`)
    this.state.deactivatedAt ??= new Date().toISOString()
    await this.save()
    this.say(`${this.n('deactivate')}: done`)
  }

  private async stepVerify(): Promise<void> {
    this.say(`${this.n('verify')}: checking both PDSes and the DID document…`)
    // The deactivation's gate read both repositories and the blobs a moment ago, and the
    // deactivation read the old account's status after its change; the new account's status
    // (after activation) and the DID document (after the PLC operation) were read after this
    // run's own writes. Nothing moves them since: a run that did not pass the gate reads all.
    if (!this.fresh(this.gateSurveyAt)) await this.survey()
    const problems: MigrationReport['problems'] = []
    const rerun = this.opts.commands.rerun()
    const { newCheck, oldCheck, doc } = this.facts
    if (!newCheck) problems.push({ problem: 'the new account cannot be read', fix: rerun })
    else {
      if (!this.repoInSync()) {
        problems.push({
          problem: `the new PDS holds commit ${newCheck.repoCommit}, the old one ${this.facts.oldCommit?.cid ?? this.state.imported?.commit ?? '?'}`,
          fix: `${rerun} (the repository is copied again)`,
        })
      }
      if (oldCheck && oldCheck.indexedRecords > newCheck.indexedRecords && newCheck.repoCommit === oldCheck.repoCommit) {
        problems.push({ problem: `the new PDS indexed ${newCheck.indexedRecords} records of ${oldCheck.indexedRecords}`, fix: rerun })
      }
      const gone = this.state.unavailableBlobs?.length ?? 0
      if ((this.facts.missing ?? 0) > 0) {
        problems.push({
          problem: `${this.facts.missing} blob${this.facts.missing === 1 ? '' : 's'} missing on the new PDS${gone ? ` (${gone} gone from the old PDS)` : ''}`,
          fix: gone >= (this.facts.missing ?? 0) ? 'none from here: the old PDS lost them (the posts show no image)' : `${rerun} (the missing blobs are copied)`,
        })
      }
      if (!newCheck.activated) problems.push({ problem: 'the new account is not active', fix: rerun })
    }
    if (!doc) problems.push({ problem: `the DID document cannot be read (${this.facts.docError ?? 'no answer'})`, fix: `check --plc-url, then ${rerun}` })
    else {
      if (!this.state.endpoints?.new || !sameServer(doc.pdsEndpoint, this.state.endpoints.new)) {
        problems.push({ problem: `the DID document's PDS is ${doc.pdsEndpoint ?? 'missing'}, not the new PDS's ${this.state.endpoints?.new ?? '(unknown)'}`, fix: rerun })
      }
      if (this.state.newSigningKey && doc.signingKey !== this.state.newSigningKey) {
        problems.push({ problem: `the DID document's signing key is ${doc.signingKey ?? 'missing'}, not the new PDS's ${this.state.newSigningKey}`, fix: rerun })
      }
      const handle = this.newS?.info.handle ?? this.state.handle
      if (handle && doc.handle !== handle) problems.push({ problem: `the DID document names the handle ${doc.handle ?? '(none)'}, not ${handle}`, fix: rerun })
      if (handle) {
        const resolved = await this.sides.new
          .call({ method: 'GET', path: '/xrpc/com.atproto.identity.resolveHandle', query: { handle }, name: 'com.atproto.identity.resolveHandle', requires: ['did'] })
          .then((r) => String((r.body as { did: unknown }).did))
          .catch((err: unknown) => (err instanceof PdsctlError ? err.line : String(err)))
        if (resolved !== this.did) {
          problems.push({
            problem: `the handle ${handle} does not resolve to ${this.did} through the new PDS (${resolved})`,
            fix: handle.endsWith((this.newDesc ??= await this.describe(this.sides.new).catch(() => undefined))?.availableUserDomains[0] ?? '\0') ? rerun : `point _atproto.${handle} (DNS TXT did=${this.did}) or https://${handle}/.well-known/atproto-did at the DID`,
          })
        }
      }
    }
    if (this.facts.oldRepo?.active !== false) problems.push({ problem: `the old account on ${this.sides.old.url} is still active`, fix: rerun })
    this.problems = problems
    if (problems.length) {
      const report = this.report()
      throw new MigrationCheckError(
        `account migrate: verification found ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.problem} (fix: ${p.fix})`).join('; ')}`,
        report,
      )
    }
    this.state.verifiedAt = new Date().toISOString()
    // The migration is over: the saved session is no longer needed (nor kept).
    delete this.state.session
    delete this.state.plc?.signed
    await this.save()
    this.say(`${this.n('verify')}: done: ${this.did} lives on ${this.sides.new.url}`)
  }
}

interface Recommended {
  endpoint?: string
  signingKey?: string
  rotationKeys: string[]
  alsoKnownAs: string[]
}

function recommended(res: RawResponse): Recommended {
  const b = res.body as { alsoKnownAs?: unknown; verificationMethods?: { atproto?: unknown }; rotationKeys?: unknown; services?: { atproto_pds?: { endpoint?: unknown } } }
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [])
  const endpoint = b?.services?.atproto_pds?.endpoint
  const key = b?.verificationMethods?.atproto
  return {
    endpoint: typeof endpoint === 'string' ? endpoint : undefined,
    signingKey: typeof key === 'string' && key.startsWith('did:key:') ? key : undefined,
    rotationKeys: strings(b?.rotationKeys),
    alsoKnownAs: strings(b?.alsoKnownAs),
  }
}

/** The old PDS signed what was asked, on top of the operation in force: else it is not submitted. */
function checkSignedOperation(
  op: Record<string, unknown>,
  input: { rotationKeys: string[]; alsoKnownAs: string[]; verificationMethods: Record<string, string>; services: Record<string, { type: string; endpoint: string }> },
  head: string,
): void {
  const bad = (what: string) => new PdsctlError(`the old PDS signed a PLC operation with ${what} other than asked; it was not submitted`, { hint: 'Nothing changed on the PLC directory; report this to the old PDS\'s operator' })
  if (op?.type !== 'plc_operation' || typeof op.sig !== 'string') throw bad('a shape')
  if (op.prev !== head) throw bad('a prev')
  if (JSON.stringify(op.rotationKeys) !== JSON.stringify(input.rotationKeys)) throw bad('rotation keys')
  if (JSON.stringify(op.alsoKnownAs) !== JSON.stringify(input.alsoKnownAs)) throw bad('handles')
  if (canonical(op.verificationMethods) !== canonical(input.verificationMethods)) throw bad('keys')
  if (canonical(op.services) !== canonical(input.services)) throw bad('services')
}

function explainCreate(err: unknown, handle: string, email: string): unknown {
  if (!(err instanceof XrpcError)) return err
  const msg = err.xrpcMessage ?? ''
  const again = (summary: string, hint: string, code: ExitCodeValue = ExitCode.USAGE) => {
    const e = new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, { summary, hint, exitCode: code })
    return e
  }
  if (/Handle already taken|HandleNotAvailable|Reserved handle/i.test(`${err.xrpcName} ${msg}`)) return again(`the new PDS refused the handle ${handle}`, 'Choose another with --handle')
  if (/InvalidHandle|UnsupportedDomain|did not resolve/i.test(`${err.xrpcName} ${msg}`)) return again(`the new PDS refused the handle ${handle}`, 'Choose one under the new PDS\'s domain with --handle (a custom domain must already resolve to the DID)')
  if (/Email already taken|email address is not supported/i.test(msg)) return again(`the new PDS refused the email ${email}`, 'Give another with --email')
  if (/InvalidInviteCode/i.test(err.xrpcName ?? '') || /invite/i.test(msg)) return again('the new PDS refused the invite code', 'Pass a valid one with --invite-code')
  return err
}

/** JSON with sorted keys, for comparing preferences and operations. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  )
}

function maskEmail(email: string | null | undefined): string {
  if (!email) return "the old account's email"
  const at = email.indexOf('@')
  return at > 1 ? `${email[0]}…${email.slice(at)}` : email
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}
