// `pdsctl backup DIR`: every account's repository (CAR), blobs and admin view, over XRPC.
//
// - Accounts come from sync.listRepos page by page (memory flat in the number of
//   accounts) or from a given list; a bounded pool works on `concurrency` at a time, each
//   fetching up to BLOBS_PER_ACCOUNT blobs at once, and every HTTP request passes one
//   limiter of concurrency × BLOBS_PER_ACCOUNT (fsync waits hide behind other accounts'
//   transfers, as in bench/floor-backup-http.mjs).
// - Repos: the first run saves a full CAR (getRepo with the admin credential, so
//   taken-down and deactivated accounts are included); later runs ask getRepo?since=<rev
//   saved> and keep the diff beside it; an unchanged rev fetches nothing. When the diffs
//   grow past half the full CAR (or 20 of them) the next run takes a new full CAR.
// - Blobs: listBlobs (since the saved rev on later runs) + getBlob (src/lib/pds/blobStream.ts:
//   the blob path `account migrate` shares), written to a temp file as the bytes arrive while
//   hashed; kept (renamed) only when the sha256 matches the CID's digest. A blob already
//   under its final name was verified when it got there and is skipped.
// - Each CAR's root commit is read by carCommit.ts (root block checked against its CID, the
//   commit's shape), not by loading @atproto/repo (~320 ms a run for two fields).
// - Every file is written to a temp name and renamed; an account's state.json is written
//   after all its files (a new diff is renamed into place just after it: a diff on disk is
//   always one a state names), and manifest.json last, from all state.json files. Killed at
//   any point, the next run redoes only what had no state yet. An account with nothing new
//   (same admin view, same state but for backedUpAt) writes nothing: an fsync saved per file.
// - 429: wait for Retry-After (up to maxRetryWaitMs) and try again.
// - Hostile data (issue 17): DIR must be the user's own (checkOwnFolder); every name from
//   the server (DIDs, revs, CIDs) becomes a path only through safePaths.ts, and a name that
//   does not parse fails its account (UntrustedDataError: exit 1) while the others go on;
//   nothing inside DIR is followed if it is a link; folders 0700, files 0600 whatever the
//   umask; clean-up deletes only temp files and the diffs a previous state named.
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { chmod, mkdir, opendir, rename } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { PdsctlError, UsageError, XrpcError } from '../errors.js'
import { resolveDid } from '../admin/accounts.js'
import type { PdsClient, RawRequest } from '../pds/xrpcClient.js'
import { streamBlob } from '../pds/blobStream.js'
import {
  LinkRefusedError,
  checkOwnFolder,
  createExclusive,
  ensurePrivateFolder,
  lstatIfAny,
  lstatSyncIfAny,
  readFileNoFollowSync,
  removeRegularFile,
  resolveInside,
  setExactMode,
  openRegularNoFollowSync,
} from '../cli/safeFiles.js'
import { readCarCommitFd } from './carCommit.js'
import { UntrustedDataError, backupPaths, fileNameFor, quoted } from './safePaths.js'
import {
  IN_BACKUP,
  MANIFEST_FORMAT,
  accountDir,
  entryProblems,
  isTempName,
  readJsonSync,
  tempName,
  unlinkQuietlySync,
  writeFileAtomic,
  writeNewFileDurable,
  type AccountState,
  type BlobEntry,
  type FileEntry,
  type Manifest,
} from './layout.js'

export interface BackupOptions {
  dir: string
  /** Handles or DIDs; all accounts (streamed from listRepos) when absent. */
  accounts?: string[]
  /** Accounts worked on at once (default 8), each with up to BLOBS_PER_ACCOUNT blobs in flight. */
  concurrency?: number
  onProgress?: (p: BackupProgress) => void
  signal?: AbortSignal
  /** For the manifest. */
  pdsctlVersion?: string
  /** Longest Retry-After honoured before an account fails (default 120 s). */
  maxRetryWaitMs?: number
  /** listRepos/listBlobs page size (default 1000). */
  pageSize?: number
  /** PDS_RATE_LIMIT_BYPASS_KEY: sent as x-ratelimit-bypass to the PDS's origin only (see PdsClient.setRateLimitBypassKey). */
  rateLimitBypassKey?: string
}

export interface BackupProgress {
  accountsDone: number
  accountsFailed: number
  /** Known only when the accounts were given. */
  accountsTotal?: number
  blobsFetched: number
  blobsSkipped: number
  bytes: number
  elapsedMs: number
  /** A human line about something notable (a 429 wait), when there is one. */
  note?: string
}

/** The `--json` result of `pdsctl backup`. */
export interface BackupSummary {
  dir: string
  accounts: number
  repos: { full: number; incremental: number; unchanged: number }
  blobs: { fetched: number; skipped: number }
  bytes: number
  durationMs: number
  /**
   * Accounts that failed. `untrusted` marks a failure because the PDS sent what pdsctl will
   * not act on (a DID, rev or CID that is not one, another account's commit): exit 1.
   */
  errors: Array<{ account: string; error: string; untrusted?: true }>
  /** Things set aside and worked around (a state.json naming paths pdsctl does not write). */
  warnings: string[]
}

const MAX_DIFFS = 20
/** Blobs of one account fetched at once (the floor the bench compares with does the same). */
const BLOBS_PER_ACCOUNT = 4
const DEFAULT_MAX_RETRY_WAIT_MS = 120_000

export async function runBackup(client: PdsClient, opts: BackupOptions): Promise<BackupSummary> {
  const dir = path.resolve(opts.dir)
  const concurrency = Math.max(1, opts.concurrency ?? 8)
  const started = Date.now()
  const startedAt = new Date(started).toISOString()
  const real = await openVault(dir)
  if (opts.rateLimitBypassKey) client.setRateLimitBypassKey(opts.rateLimitBypassKey)

  const summary: BackupSummary = {
    dir,
    accounts: 0,
    repos: { full: 0, incremental: 0, unchanged: 0 },
    blobs: { fetched: 0, skipped: 0 },
    bytes: 0,
    durationMs: 0,
    errors: [],
    warnings: [],
  }
  const ctx: Ctx = {
    client,
    dir: real,
    shown: dir,
    signal: opts.signal,
    limit: limiter(concurrency * BLOBS_PER_ACCOUNT),
    concurrency,
    summary,
    maxRetryWaitMs: opts.maxRetryWaitMs ?? DEFAULT_MAX_RETRY_WAIT_MS,
    pageSize: opts.pageSize ?? 1000,
    progress: () => {},
  }
  let failed = 0
  let lastEmit = 0
  ctx.progress = (note?: string, force = false) => {
    const now = Date.now()
    if (!force && !note && now - lastEmit < 200) return
    lastEmit = now
    opts.onProgress?.({
      accountsDone: summary.accounts,
      accountsFailed: failed,
      accountsTotal: opts.accounts?.length,
      blobsFetched: summary.blobs.fetched,
      blobsSkipped: summary.blobs.skipped,
      bytes: summary.bytes,
      elapsedMs: now - started,
      note,
    })
  }

  // Only the manifest needs it: asked beside the accounts' work, not before it (a round trip
  // less on the way to the first account; it never rejects: what was not said is null).
  const pdsIdentity = serverIdentity(ctx)
  const source = opts.accounts ? givenAccounts(ctx, opts.accounts) : listedAccounts(ctx)
  await pool(source, concurrency, async (item) => {
    throwIfAborted(opts.signal)
    let did = item.input
    try {
      const repo = await item.resolve()
      did = repo.did
      await backupAccount(ctx, repo)
      summary.accounts++
    } catch (err) {
      if (opts.signal?.aborted) throw err
      failed++
      summary.errors.push({ account: did, error: errorLine(err), ...(err instanceof UntrustedDataError ? { untrusted: true as const } : {}) })
    }
    ctx.progress(undefined, true)
  })

  summary.durationMs = Date.now() - started
  await writeManifest(ctx, {
    pdsctl: opts.pdsctlVersion ?? 'unknown',
    pds: { url: client.url, ...(await pdsIdentity) },
    startedAt,
    endedAt: new Date().toISOString(),
    errors: summary.errors,
  })
  summary.durationMs = Date.now() - started
  return summary
}

interface Ctx {
  client: PdsClient
  /** DIR, its links resolved once (checkOwnFolder): what every path is built on. */
  dir: string
  /** DIR as the user named it (resolved): how errors name files. */
  shown: string
  signal?: AbortSignal
  limit: <T>(fn: () => Promise<T>) => Promise<T>
  concurrency: number
  summary: BackupSummary
  maxRetryWaitMs: number
  pageSize: number
  progress: (note?: string, force?: boolean) => void
}

interface RepoRef {
  did: string
  /** The rev listRepos / getRepoStatus reported (a hint: the CAR's own commit is what is saved). */
  rev?: string
  status: string
}

interface WorkItem {
  input: string
  resolve: () => Promise<RepoRef>
}

// ---------------------------------------------------------------------------------------
// Accounts

async function* listedAccounts(ctx: Ctx): AsyncGenerator<WorkItem> {
  let cursor: string | undefined
  for (;;) {
    const page = (await getJson(ctx, 'com.atproto.sync.listRepos', { limit: ctx.pageSize, cursor }, 'none')) as {
      cursor?: string
      repos?: Array<{ did: string; rev?: string; active?: boolean; status?: string }>
    }
    if (!Array.isArray(page.repos)) throw new PdsctlError('com.atproto.sync.listRepos answered without a repos list')
    for (const r of page.repos) {
      const ref: RepoRef = { did: r.did, rev: r.rev ?? undefined, status: r.active === false ? (r.status ?? 'inactive') : 'active' }
      // Checked when its turn comes, so that a bad entry is one account's error, not the run's.
      yield {
        input: typeof r.did === 'string' ? r.did : quoted(r.did),
        resolve: async () => {
          fileNameFor('did', r.did, 'com.atproto.sync.listRepos: the account')
          if (r.rev !== undefined && r.rev !== null) fileNameFor('rev', r.rev, `com.atproto.sync.listRepos: the rev of ${r.did}`)
          return ref
        },
      }
    }
    if (!page.cursor || page.repos.length === 0) return
    cursor = page.cursor
  }
}

async function* givenAccounts(ctx: Ctx, accounts: string[]): AsyncGenerator<WorkItem> {
  for (const input of accounts) {
    yield {
      input,
      resolve: async () => {
        const did = await ctx.limit(() => resolveDid(ctx.client, input, { admin: true }))
        const st = (await getJson(ctx, 'com.atproto.sync.getRepoStatus', { did }, 'admin')) as { active?: boolean; status?: string; rev?: string }
        if (st.rev !== undefined && st.rev !== null) fileNameFor('rev', st.rev, `com.atproto.sync.getRepoStatus for ${did}: rev`)
        else st.rev = undefined
        return { did, rev: st.rev, status: st.active === false ? (st.status ?? 'inactive') : 'active' }
      },
    }
  }
}

/**
 * DIR before any request: created 0700 when missing; the user's own and writable by nobody
 * else (checkOwnFolder); DIR/accounts a real folder, 0700; manifest.json, if there, a regular
 * file. Returns DIR with its links resolved (every path is built on it).
 */
async function openVault(dir: string): Promise<string> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 })
  if (created !== undefined) await chmod(dir, 0o700)
  const real = await checkOwnFolder(dir, 'the backup folder')
  // Every refusal before anything is changed.
  const manifest = await lstatIfAny(path.join(real, 'manifest.json'))
  if (manifest?.isSymbolicLink()) throw new LinkRefusedError(path.join(dir, 'manifest.json'), IN_BACKUP)
  if (manifest && !manifest.isFile()) throw new UsageError(`${path.join(dir, 'manifest.json')} is not a regular file`, { hint: 'Move it away and run again' })
  await ensurePrivateFolder(path.join(real, 'accounts'), path.join(dir, 'accounts'), IN_BACKUP)
  return real
}

async function backupAccount(ctx: Ctx, ref: RepoRef): Promise<void> {
  const rel = accountDir(ref.did)
  // Every path written or deleted below is built from parsed names and checked to stay in DIR.
  const inDir = (p: string) => resolveInside(ctx.dir, p)
  const abs = inDir(rel)
  const shown = (...parts: string[]) => path.join(ctx.shown, rel, ...parts)
  // The folder's checks and reads below are synchronous calls (safeFiles.ts, layout.ts): a
  // few microseconds each on the main thread, where each promise call cost a thread-pool
  // round trip (~30-60 us of CPU; a FileHandle's open and close ~0.3 ms), and an account
  // makes dozens of them. What changes the disk (mkdir, create, rename, unlink) stays
  // asynchronous (see safeFiles.ts). The same checks as ever: lstat, no link followed, 0700/0600.
  await ensurePrivateFolder(abs, shown(), IN_BACKUP)
  await ensurePrivateFolder(path.join(abs, 'blobs'), shown('blobs'), IN_BACKUP)
  await ensurePrivateFolder(path.join(abs, 'diffs'), shown('diffs'), IN_BACKUP)
  const blobsOnDisk = await scanAccountFolder(abs, shown)
  let prev: AccountState | undefined
  try {
    prev = readJsonSync<AccountState>(path.join(abs, 'state.json'), shown('state.json'))
  } catch (err) {
    if (err instanceof PdsctlError) throw err // a link or not a file: refused
    prev = undefined // not JSON: as if there were none
  }
  // A saved state counts only when every name in it parses into the paths pdsctl writes
  // (else it is set aside: a full copy is taken, and nothing it names is touched), and while
  // its CARs are still there, whole (deleted because verify called them damaged: fetch a new
  // full CAR).
  let usable: AccountState | undefined
  if (prev) {
    const problems = entryProblems(prev, ref.did)
    if (problems.length) ctx.summary.warnings.push(`${shown('state.json')}: ${problems.slice(0, 3).join('; ')}: set aside, a full copy is taken`)
    else usable = prev
  }
  if (usable && !allPresent(ctx.dir, [usable.repo, ...usable.diffs])) usable = undefined
  // Blobs the state lists but the folder lost: list every blob again to find them.
  let lostBlobs = false
  if (usable) {
    const kept: BlobEntry[] = []
    for (const b of usable.blobs) {
      // Not in the folder's listing: lost, without an lstat; listed: its size checked.
      if (blobsOnDisk.has(b.cid) && sizeIs(path.join(ctx.dir, backupPaths.blob(ref.did, b.cid)), b.size)) kept.push(b)
      else lostBlobs = true
    }
    usable = { ...usable, blobs: kept }
  }

  // Files this run made and has not renamed into place yet: removed if the account fails.
  const temps: string[] = []
  try {
    // The admin view, every run: handle, email and status change without a new rev. Kept
    // under a temp name until the account's state is written (the old state names the old file).
    const info = await getJson(ctx, 'com.atproto.admin.getAccountInfo', { did: ref.did }, 'admin')
    if ((info as { did?: unknown }).did !== ref.did) {
      throw new UntrustedDataError(`com.atproto.admin.getAccountInfo for ${ref.did} answered for ${quoted((info as { did?: unknown }).did ?? 'no account')}`)
    }
    const infoText = JSON.stringify({ ...(info as object), repoStatus: ref.status }, null, 2) + '\n'
    const infoBytes = Buffer.from(infoText)
    const infoSum = { size: infoBytes.length, sha256: createHash('sha256').update(infoBytes).digest('hex') }
    // Unchanged since the last run (the usual case of an incremental run): the file the
    // state names, fsynced then, holds these very bytes (read back, never through a link)
    // and is 0600: it stands. Rewriting it cost an fsync per account for nothing.
    const infoPath = inDir(backupPaths.account(ref.did))
    const sameInfo =
      usable !== undefined &&
      usable.account.size === infoSum.size &&
      usable.account.sha256 === infoSum.sha256 &&
      isPrivateFile(infoPath) &&
      Boolean(readFileNoFollowSync(infoPath, shown('account.json'), IN_BACKUP)?.equals(infoBytes))
    let infoTmp: string | undefined
    if (!sameInfo) {
      infoTmp = tempName(infoPath)
      temps.push(infoTmp)
      await writeNewFileDurable(infoTmp, infoBytes)
      ctx.summary.bytes += infoSum.size
    }
    const infoFile = infoSum
    const handle = typeof (info as { handle?: unknown }).handle === 'string' ? (info as { handle: string }).handle : null

    // The repository.
    let repo = usable?.repo
    let diffs = usable?.diffs ?? []
    let head = usable?.head
    let rev = usable?.rev
    let newDiff: { tmp: string; final: string } | undefined
    const diffBytes = diffs.reduce((n, d) => n + d.size, 0)
    if (usable && ref.rev && ref.rev === usable.rev) {
      ctx.summary.repos.unchanged++
    } else if (usable && diffs.length < MAX_DIFFS && diffBytes <= usable.repo.size / 2) {
      const since = usable.rev
      const got = await fetchCar(ctx, ref.did, since, path.join(abs, 'diffs'))
      temps.push(got.abs)
      if (got.commit.rev === since) {
        // Nothing new after all (listRepos raced a write, or reported no rev): drop the empty diff.
        unlinkQuietlySync(got.abs)
        ctx.summary.repos.unchanged++
      } else {
        const diffPath = backupPaths.diff(ref.did, got.commit.rev)
        newDiff = { tmp: got.abs, final: inDir(diffPath) }
        diffs = [...diffs, { path: diffPath, size: got.size, sha256: got.sha256, rev: got.commit.rev, since }]
        head = got.root
        rev = got.commit.rev
        ctx.summary.repos.incremental++
      }
    } else {
      const got = await fetchCar(ctx, ref.did, undefined, abs)
      temps.push(got.abs)
      await rename(got.abs, inDir(backupPaths.repo(ref.did)))
      repo = { path: backupPaths.repo(ref.did), size: got.size, sha256: got.sha256, rev: got.commit.rev }
      diffs = []
      head = got.root
      rev = got.commit.rev
      ctx.summary.repos.full++
    }
    if (!repo || !head || !rev) throw new PdsctlError(`internal: no repository saved for ${ref.did}`)

    // Blobs: everything on a first run; since the saved rev afterwards (older ones are on disk).
    const blobs = new Map<string, BlobEntry>((usable?.blobs ?? []).map((b) => [b.cid, b]))
    const blobsSince = lostBlobs ? undefined : usable?.rev
    const skipListing = usable && usable.rev === rev && !lostBlobs
    if (!skipListing) {
      const pending: Promise<void>[] = []
      const inFlight = new Set<Promise<void>>()
      try {
        for await (const cid of listBlobs(ctx, ref.did, blobsSince)) {
          if (blobs.has(cid)) {
            ctx.summary.blobs.skipped++
            continue
          }
          const task = (async () => {
            const entry = await fetchBlob(ctx, ref.did, cid, path.join(abs, 'blobs'), rel, blobsOnDisk)
            blobs.set(cid, entry)
          })()
          const tracked = task.finally(() => inFlight.delete(tracked))
          tracked.catch(() => {}) // handled below (allSettled); not an unhandled rejection meanwhile
          inFlight.add(tracked)
          pending.push(tracked)
          if (inFlight.size >= BLOBS_PER_ACCOUNT) await Promise.race(inFlight).catch(() => {})
        }
      } finally {
        // Every fetch settles before the account is left, whatever happened (no stray rejection).
        const settled = await Promise.allSettled(pending)
        const failedFetch = settled.find((r) => r.status === 'rejected')
        if (failedFetch) throw (failedFetch as PromiseRejectedResult).reason
      }
    }

    const state: AccountState = {
      did: ref.did,
      handle,
      status: ref.status,
      rev,
      head,
      repo,
      diffs,
      account: { path: backupPaths.account(ref.did), ...infoFile },
      blobs: [...blobs.values()].sort((a, b) => (a.cid < b.cid ? -1 : 1)),
      backedUpAt: new Date().toISOString(),
    }
    if (infoTmp) await rename(infoTmp, infoPath)
    // Nothing new for this account (same files, same status and handle): its state.json, and
    // when its data last changed, stand; else it is written (after every file it names).
    const unchanged = prev !== undefined && !newDiff && sameState(prev, state) && isPrivateFile(inDir(backupPaths.state(ref.did)))
    if (!unchanged) await writeFileAtomic(inDir(backupPaths.state(ref.did)), JSON.stringify(state, null, 1) + '\n')
    // The state names the new diff before it is on disk: killed in between, the next run
    // finds it missing and takes a full copy; a diff on disk is never one no state names.
    if (newDiff) await rename(newDiff.tmp, newDiff.final)
    temps.length = 0
    // Clean-up: only the diffs the previous state named and the new one no longer does.
    const kept = new Set(diffs.map((d) => d.path))
    for (const d of usable?.diffs ?? prevDiffsIfValid(prev, ref.did)) {
      if (!kept.has(d.path)) await removeRegularFile(inDir(d.path), path.join(ctx.shown, d.path), IN_BACKUP)
    }
  } finally {
    for (const t of temps) unlinkQuietlySync(t)
  }
}

/**
 * The state on disk says what the new one would (every file, status, handle), but for when
 * it was taken. (Both written by JSON.stringify of an AccountState: the same keys, in order.)
 */
function sameState(prev: AccountState, next: AccountState): boolean {
  return typeof prev.backedUpAt === 'string' && JSON.stringify({ ...prev, backedUpAt: '' }) === JSON.stringify({ ...next, backedUpAt: '' })
}

/** The diffs of a previous state that was not usable (a CAR lost) but whose names all parse. */
function prevDiffsIfValid(prev: AccountState | undefined, did: string): FileEntry[] {
  return prev && entryProblems(prev, did).length === 0 ? prev.diffs : []
}

/** A regular file (not a link) of mode 0600: one that may stand as it is (a looser one, left by an older run, is rewritten). */
function isPrivateFile(file: string): boolean {
  const st = lstatSyncIfAny(file)
  return Boolean(st?.isFile() && (st.mode & 0o777) === 0o600)
}

/** A regular file (never through a link) of this size. */
function sizeIs(file: string, size: number): boolean {
  const st = lstatSyncIfAny(file)
  return Boolean(st?.isFile() && st.size === size)
}

function allPresent(dir: string, files: FileEntry[]): boolean {
  for (const f of files) if (!sizeIs(path.join(dir, f.path), f.size)) return false
  return true
}

/**
 * Before an account is touched: nothing in its folder, its blobs or its diffs is a link
 * (refused, named); temp files left by a killed run are never complete: removed. One
 * listing of each folder; returns the names in blobs/ that are regular files (what is
 * not among them is not on disk: no lstat needed to know it).
 */
async function scanAccountFolder(abs: string, shown: (...parts: string[]) => string): Promise<Set<string>> {
  const blobs = new Set<string>()
  const temps: Array<[string, string]> = []
  for (const sub of ['', 'blobs', 'diffs']) {
    const d = path.join(abs, sub)
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isSymbolicLink()) throw new LinkRefusedError(shown(sub, entry.name), IN_BACKUP)
      if (entry.isFile() && isTempName(entry.name)) temps.push([path.join(d, entry.name), shown(sub, entry.name)])
      else if (sub === 'blobs' && entry.isFile()) blobs.add(entry.name)
    }
  }
  for (const [file, named] of temps) await removeRegularFile(file, named, IN_BACKUP)
  return blobs
}

// ---------------------------------------------------------------------------------------
// Repositories and blobs, streamed to disk

interface FetchedCar {
  abs: string
  size: number
  sha256: string
  root: string
  commit: { did: string; rev: string }
}

/**
 * getRepo streamed to a temp file in `folder`, its root commit read: the commit must be the
 * account's (its DID) and its rev a TID (it names the diff's file), else UntrustedDataError.
 */
async function fetchCar(ctx: Ctx, did: string, since: string | undefined, folder: string): Promise<FetchedCar> {
  const tmp = tempName(path.join(folder, since ? 'diff.car' : 'repo.car'))
  const req: RawRequest = { method: 'GET', path: '/xrpc/com.atproto.sync.getRepo', query: { did, since }, auth: 'admin', name: 'com.atproto.sync.getRepo' }
  const { size, sha256: digest } = await download(ctx, 'com.atproto.sync.getRepo', async () => ({ body: (await ctx.client.stream(req, { signal: ctx.signal })).body }), tmp)
  let read: ReturnType<typeof readCommitSync>
  try {
    read = readCommitSync(tmp, tmp)
  } catch (err) {
    unlinkQuietlySync(tmp)
    throw new PdsctlError(`the repository of ${did} that the PDS sent is not a readable CAR (${(err as Error).message})`)
  }
  try {
    if (read.commit.did !== did) throw new UntrustedDataError(`com.atproto.sync.getRepo for ${did} returned a repository of ${quoted(read.commit.did)}`)
    fileNameFor('rev', read.commit.rev, `com.atproto.sync.getRepo for ${did} sent a commit whose rev`)
  } catch (err) {
    unlinkQuietlySync(tmp)
    throw err
  }
  return { abs: tmp, size, sha256: digest, root: read.root, commit: read.commit }
}

async function fetchBlob(ctx: Ctx, did: string, cidStr: string, folder: string, rel: string, onDisk: Set<string>): Promise<BlobEntry> {
  const name = fileNameFor('cid', cidStr, `com.atproto.sync.listBlobs for ${did} listed the blob`)
  const cid = CID.parse(name)
  if (cid.multihash.code !== sha256.code) throw new UntrustedDataError(`blob ${cidStr} of ${did} is not sha256-addressed; pdsctl cannot check it`)
  const final = path.join(folder, name)
  // Not in the folder's listing (scanAccountFolder, before this account's first request):
  // not there, no lstat needed (a file appearing since is replaced by the rename below,
  // never written through). Listed: lstat'ed again before it is trusted.
  const existing = onDisk.has(name) ? lstatSyncIfAny(final) : undefined
  if (existing?.isSymbolicLink()) throw new LinkRefusedError(path.join(ctx.shown, rel, 'blobs', name), IN_BACKUP)
  if (existing?.isFile()) {
    // Under its final name only after its bytes matched: verified when it got there.
    ctx.summary.blobs.skipped++
    return { cid: cidStr, size: existing.size, sha256: Buffer.from(cid.multihash.digest).toString('hex'), mimeType: mimeOf(folder, cidStr) }
  }
  const tmp = tempName(final)
  const got = await download(ctx, 'com.atproto.sync.getBlob', () => streamBlob(ctx.client, { did, cid: cidStr, auth: 'admin', signal: ctx.signal }), tmp)
  const want = Buffer.from(cid.multihash.digest).toString('hex')
  if (got.sha256 !== want) {
    unlinkQuietlySync(tmp)
    throw new PdsctlError(`blob ${cidStr} of ${did}: the bytes the PDS sent do not match the CID (sha256 ${got.sha256})`)
  }
  try {
    await rename(tmp, final)
  } catch (err) {
    unlinkQuietlySync(tmp)
    throw err
  }
  ctx.summary.blobs.fetched++
  const mimeType = got.contentType ?? null
  // A hint for a later run that finds the blob without its state.json (the state holds the
  // type): written whole, exclusive and no-follow, 0600, renamed into place, but not
  // fsynced: an fsync per blob for a guess (a lost one reads as no type).
  if (mimeType) writeHintFile(path.join(folder, `${name}.mime`), mimeType)
  void rel
  return { cid: cidStr, size: got.size, sha256: got.sha256, mimeType }
}

function mimeOf(folder: string, cid: string): string | null {
  return readText(path.join(folder, `${cid}.mime`)) ?? null
}

/** A small text file (never through a link: a link is as if there were none). */
function readText(file: string): string | undefined {
  try {
    return readFileNoFollowSync(file, file, IN_BACKUP)?.toString('utf8').trim() || undefined
  } catch {
    return undefined
  }
}

async function* listBlobs(ctx: Ctx, did: string, since: string | undefined): AsyncGenerator<string> {
  let cursor: string | undefined
  for (;;) {
    const page = (await getJson(ctx, 'com.atproto.sync.listBlobs', { did, since, limit: ctx.pageSize, cursor }, 'admin')) as { cursor?: string; cids?: string[] }
    if (!Array.isArray(page.cids)) throw new PdsctlError(`com.atproto.sync.listBlobs for ${did} answered without a cids list`)
    for (const cid of page.cids) yield cid
    if (!page.cursor || page.cids.length === 0) return
    cursor = page.cursor
  }
}

/**
 * Stream one response body to `tmp` (created exclusive, no link followed, 0600 whatever the
 * umask: createExclusive), hashing it, then fsync it; retried on 429 / a dropped connection.
 * Each chunk is written with the file handle as it arrives and the same handle is fsynced
 * (no stream pipeline, no second open): the floor's own way, measured in bench/backup.ts.
 * (Synchronous writes, or fs.write's callback form, cost less CPU but left more of the
 * socket's chunks uncollected: a 52 MB CAR took 16-30 MB more peak RSS than with the
 * handle, past test/commands/backup/limits.test.ts's bound.)
 * On any failure the body is dropped and the temp file removed.
 */
async function download(
  ctx: Ctx,
  name: string,
  get: () => Promise<{ body: Readable; mimeType?: string }>,
  tmp: string,
): Promise<{ size: number; sha256: string; contentType?: string }> {
  return withRetry(ctx, name, () =>
    ctx.limit(async () => {
      const res = await get()
      const hash = createHash('sha256')
      let size = 0
      let fh: Awaited<ReturnType<typeof createExclusive>> | undefined
      try {
        fh = await createExclusive(tmp, 0o600)
        for await (const chunk of res.body) {
          const buf = chunk as Buffer
          hash.update(buf)
          size += buf.length
          ctx.summary.bytes += buf.length
          ctx.progress()
          // A short write (a full disk can give one) is written on, never taken for the whole chunk.
          for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten
        }
        await fh.sync()
        const done = fh
        fh = undefined
        await done.close()
      } catch (err) {
        res.body.destroy()
        await fh?.close().catch(() => {})
        unlinkQuietlySync(tmp)
        throw err
      }
      return { size, sha256: hash.digest('hex'), contentType: res.mimeType }
    }),
  )
}

/**
 * A small file written whole under a temp name (created exclusive and no-follow, set to
 * 0600 whatever the umask) and renamed over `file` (a link there is replaced, never written
 * through), without fsync: for hints only. Synchronous: a handful of tiny syscalls on the
 * main thread cost less than their promises and thread-pool round trips (~1.3 ms a blob).
 * The temp file is removed if anything fails.
 */
function writeHintFile(file: string, data: string): void {
  const tmp = tempName(file)
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    try {
      setExactMode(fd, 0o600)
      writeSync(fd, data)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (err) {
    try {
      unlinkSync(tmp)
    } catch {
      /* already gone */
    }
    throw err
  }
}

/**
 * The root commit of a CAR file (did, rev), never read through a link: carCommit.ts's reader
 * (the root block checked against its CID, the commit's shape as @atproto/repo's def.commit).
 */
export async function readCommit(file: string, shown = file): Promise<{ root: string; commit: { did: string; rev: string } }> {
  return readCommitSync(file, shown)
}

/** readCommit with synchronous reads (a few KB from the page cache: see carCommit.ts). */
function readCommitSync(file: string, shown: string): { root: string; commit: { did: string; rev: string } } {
  const fd = openRegularNoFollowSync(file, shown, IN_BACKUP)
  if (fd === undefined) throw new Error(`${shown} is missing`)
  try {
    return readCarCommitFd(fd)
  } finally {
    closeSync(fd)
  }
}

// ---------------------------------------------------------------------------------------
// Requests: JSON reads with 429 handling, a limiter, a pool

async function getJson(ctx: Ctx, nsid: string, params: Record<string, string | number | undefined>, auth: 'none' | 'admin'): Promise<unknown> {
  const req: RawRequest = { method: 'GET', path: `/xrpc/${nsid}`, query: params, auth, name: nsid }
  return withRetry(ctx, nsid, () =>
    ctx.limit(async () => {
      const res = await ctx.client.send(req)
      if (res.status >= 400) {
        const err = ctx.client.errorFor(req, res)
        const { parseRetryAfter } = await import('../pds/xrpcClient.js')
        const ms = parseRetryAfter(res.headers['retry-after'])
        if (ms !== undefined && (res.status === 429 || res.status === 503)) Object.assign(err, { retryAfterMs: ms })
        throw err
      }
      if (typeof res.body !== 'object' || res.body === null) throw new PdsctlError(`${nsid} answered without a JSON body`)
      return res.body
    }),
  )
}

async function withRetry<T>(ctx: Ctx, name: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(ctx.signal)
    try {
      return await fn()
    } catch (err) {
      if (ctx.signal?.aborted) throw err
      const status = err instanceof XrpcError ? err.status : undefined
      if (status === 429) {
        const wait = (err as { retryAfterMs?: number }).retryAfterMs ?? 1000 * 2 ** attempt
        if (attempt >= 5 || wait > ctx.maxRetryWaitMs) {
          throw new PdsctlError(`${name}: the PDS rate limit was hit (HTTP 429${wait ? `, Retry-After ${Math.ceil(wait / 1000)} s` : ''})`, {
            hint: 'Set PDS_RATE_LIMIT_BYPASS_KEY (environment or env file) to the PDS\'s bypass key, or lower --concurrency',
          })
        }
        ctx.progress(`rate limited by the PDS: waiting ${Math.ceil(wait / 1000)} s (Retry-After)`)
        await sleep(wait, ctx.signal)
        continue
      }
      const retryable = status === undefined ? /reset|timed out|did not answer|ECONN|socket/i.test(errorLine(err)) : [502, 503, 504].includes(status)
      if (retryable && attempt < 2) {
        await sleep(500 * 2 ** attempt, ctx.signal)
        continue
      }
      throw err
    }
  }
}

function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0
  const queue: Array<() => void> = []
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r))
    active++
    try {
      return await fn()
    } finally {
      active--
      queue.shift()?.()
    }
  }
}

/** Run `fn` on items pulled from `source`, `n` at a time: the source is read only as workers free up. */
async function pool<T>(source: AsyncIterator<T> | AsyncIterable<T>, n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = Symbol.asyncIterator in source ? (source as AsyncIterable<T>)[Symbol.asyncIterator]() : (source as AsyncIterator<T>)
  let done = false
  let pulling: Promise<unknown> = Promise.resolve()
  const next = async (): Promise<IteratorResult<T>> => {
    // One pull at a time: async generators do not like concurrent next() calls anyway.
    const p = pulling.then(() => (done ? ({ done: true, value: undefined } as IteratorResult<T>) : it.next()))
    pulling = p.catch(() => {})
    const r = await p
    if (r.done) done = true
    return r
  }
  const worker = async () => {
    for (;;) {
      const r = await next()
      if (r.done) return
      await fn(r.value)
    }
  }
  await Promise.all(Array.from({ length: n }, worker))
}

/**
 * What the manifest records of the PDS: its version (_health) and its service DID
 * (describeServer), so that a restore can tell another PDS from this one whatever URL
 * reached it (a port-forward's is new each time). Null for what it did not say.
 */
async function serverIdentity(ctx: Ctx): Promise<{ version: string | null; did: string | null }> {
  const field = async (path: string, name: string, key: string): Promise<string | null> => {
    try {
      const res = await ctx.client.send({ method: 'GET', path, name })
      const v = (res.body as Record<string, unknown> | undefined)?.[key]
      return typeof v === 'string' && res.status < 400 ? v : null
    } catch {
      return null
    }
  }
  const [version, did] = await Promise.all([
    field('/xrpc/_health', '_health', 'version'),
    field('/xrpc/com.atproto.server.describeServer', 'com.atproto.server.describeServer', 'did'),
  ])
  return { version, did }
}

// ---------------------------------------------------------------------------------------
// The manifest: every account's state.json, streamed into one file

async function writeManifest(ctx: Ctx, head: Pick<Manifest, 'pdsctl' | 'pds' | 'startedAt' | 'endedAt' | 'errors'>): Promise<void> {
  const file = path.join(ctx.dir, 'manifest.json')
  const tmp = tempName(file)
  const fh = await createExclusive(tmp, 0o600)
  const out = fh.createWriteStream({ flush: true })
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())))
  let accounts = 0
  let blobs = 0
  let bytes = 0
  try {
    await write(`{\n"format": ${JSON.stringify(MANIFEST_FORMAT)},\n"pdsctl": ${JSON.stringify(head.pdsctl)},\n"pds": ${JSON.stringify(head.pds)},\n`)
    await write(`"startedAt": ${JSON.stringify(head.startedAt)},\n"errors": ${JSON.stringify(head.errors)},\n"accounts": [`)
    const d = await opendir(path.join(ctx.dir, 'accounts'))
    for await (const entry of d) {
      const shown = path.join(ctx.shown, 'accounts', entry.name)
      if (entry.isSymbolicLink()) {
        ctx.summary.warnings.push(`${shown} is a symbolic link; not followed, not in the manifest`)
        continue
      }
      if (!entry.isDirectory()) continue
      let state: AccountState | undefined
      try {
        state = readJsonSync<AccountState>(path.join(ctx.dir, 'accounts', entry.name, 'state.json'), path.join(shown, 'state.json'))
      } catch (err) {
        ctx.summary.warnings.push(`${path.join(shown, 'state.json')}: ${errorLine(err)}; not in the manifest`)
        continue
      }
      if (!state) continue
      // Only entries every name of which parses into the paths pdsctl writes, from the folder of their own DID.
      const problems = entryProblems(state)
      if (!problems.length && `accounts/${entry.name}` !== backupPaths.accountDir(state.did)) problems.push(`it names the account ${quoted(state.did)}, not the one whose folder holds it`)
      if (problems.length) {
        ctx.summary.warnings.push(`${path.join(shown, 'state.json')}: ${problems.slice(0, 3).join('; ')}; not in the manifest`)
        continue
      }
      await write((accounts === 0 ? '\n' : ',\n') + JSON.stringify(state))
      accounts++
      blobs += state.blobs.length
      bytes += state.repo.size + state.account.size + state.diffs.reduce((n, x) => n + x.size, 0) + state.blobs.reduce((n, x) => n + x.size, 0)
    }
    await write(`\n],\n"totals": ${JSON.stringify({ accounts, blobs, bytes })},\n"endedAt": ${JSON.stringify(new Date().toISOString())}\n}\n`)
    // 'close' comes after the flush (fsync) and the close of the file.
    await new Promise<void>((resolve, reject) => {
      out.once('close', resolve).once('error', reject)
      out.end()
    })
    await rename(tmp, file)
  } catch (err) {
    out.destroy()
    await fh.close().catch(() => {})
    unlinkQuietlySync(tmp)
    throw err
  }
}

/** Parse the stdin list for `backup -`: one handle or DID per line. */
export function checkAccountList(lines: string[]): string[] {
  if (lines.length === 0) throw new UsageError('no accounts on stdin', { hint: 'Give one handle or DID per line, or leave out `-` to back up every account' })
  return lines
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new PdsctlError('interrupted')
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort() {
      clearTimeout(t)
      reject(new PdsctlError('interrupted'))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function errorLine(err: unknown): string {
  return err instanceof PdsctlError ? err.line : err instanceof Error ? err.message : String(err)
}

export type { FileEntry }
