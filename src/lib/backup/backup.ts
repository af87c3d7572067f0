// `pdsctl backup DIR`: every account's repository (CAR), blobs and admin view, over XRPC.
//
// - Accounts come from sync.listRepos page by page (memory flat in the number of
//   accounts) or from a given list; a bounded pool works on `concurrency` at a time, each
//   fetching up to BLOBS_PER_ACCOUNT blobs at once, and every HTTP request passes one
//   limiter of concurrency × BLOBS_PER_ACCOUNT (fsync waits are hidden behind other
//   accounts' transfers, as in bench/floor-backup-http.mjs).
// - Repos: the first run saves a full CAR (getRepo with the admin credential, so
//   taken-down and deactivated accounts are included); later runs ask getRepo?since=<rev
//   saved> and keep the diff beside it; an unchanged rev fetches nothing. When the diffs
//   grow past half the full CAR (or 20 of them) the next run takes a new full CAR.
// - Blobs: listBlobs (since the saved rev on later runs) + getBlob, streamed to a temp
//   file while hashed (src/lib/pds/blobStream.ts: the blob path `account migrate` shares);
//   kept (renamed) only when the sha256 matches the CID's digest. A blob already under its
//   final name was verified when it got there and is skipped.
// - Every file is written to a temp name and renamed; an account's state.json is written
//   after all its files, and manifest.json last, from all state.json files. Killed at any
//   point, the next run redoes only what had no state yet.
// - 429: wait for Retry-After (up to maxRetryWaitMs) and try again.
import { createHash } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { mkdir, opendir, open, readdir, rename, stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { PdsctlError, UsageError, XrpcError } from '../errors.js'
import { resolveDid } from '../admin/accounts.js'
import type { PdsClient, RawRequest } from '../pds/xrpcClient.js'
import { streamBlob } from '../pds/blobStream.js'
import { readCarCommit } from './carCommit.js'
import {
  MANIFEST_FORMAT,
  accountDir,
  isTempName,
  readJson,
  removeQuietly,
  tempName,
  writeFileAtomic,
  type AccountState,
  type BlobEntry,
  type FileEntry,
  type Manifest,
} from './layout.js'

export interface BackupOptions {
  dir: string
  /** Handles or DIDs; all accounts (streamed from listRepos) when absent. */
  accounts?: string[]
  /** Accounts worked on at once (default 8), each with up to 4 blobs in flight. */
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
  errors: Array<{ account: string; error: string }>
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
  await mkdir(path.join(dir, 'accounts'), { recursive: true })
  if (opts.rateLimitBypassKey) client.setRateLimitBypassKey(opts.rateLimitBypassKey)

  const summary: BackupSummary = {
    dir,
    accounts: 0,
    repos: { full: 0, incremental: 0, unchanged: 0 },
    blobs: { fetched: 0, skipped: 0 },
    bytes: 0,
    durationMs: 0,
    errors: [],
  }
  const ctx: Ctx = {
    client,
    dir,
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

  const pdsVersion = await healthVersion(ctx)
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
      summary.errors.push({ account: did, error: errorLine(err) })
    }
    ctx.progress(undefined, true)
  })

  summary.durationMs = Date.now() - started
  await writeManifest(ctx, {
    pdsctl: opts.pdsctlVersion ?? 'unknown',
    pds: { url: client.url, version: pdsVersion },
    startedAt,
    endedAt: new Date().toISOString(),
    errors: summary.errors,
  })
  summary.durationMs = Date.now() - started
  return summary
}

interface Ctx {
  client: PdsClient
  dir: string
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
      const ref: RepoRef = { did: r.did, rev: r.rev, status: r.active === false ? (r.status ?? 'inactive') : 'active' }
      yield { input: r.did, resolve: async () => ref }
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
        return { did, rev: st.rev, status: st.active === false ? (st.status ?? 'inactive') : 'active' }
      },
    }
  }
}

async function backupAccount(ctx: Ctx, ref: RepoRef): Promise<void> {
  const rel = accountDir(ref.did)
  const abs = path.join(ctx.dir, rel)
  await mkdir(path.join(abs, 'blobs'), { recursive: true })
  await mkdir(path.join(abs, 'diffs'), { recursive: true })
  await sweepTemps(abs)
  const prev = await readJson<AccountState>(path.join(abs, 'state.json')).catch(() => undefined)
  // A saved state counts only while its CARs are still there, whole (deleted because verify
  // called them damaged: fetch a new full CAR).
  let usable = prev && prev.did === ref.did && prev.repo ? prev : undefined
  if (usable && !(await allPresent(ctx.dir, [usable.repo, ...usable.diffs]))) usable = undefined
  // Blobs the state lists but the folder lost: list every blob again to find them.
  let lostBlobs = false
  if (usable) {
    const kept: BlobEntry[] = []
    for (const b of usable.blobs) {
      if (await sizeIs(path.join(abs, 'blobs', b.cid), b.size)) kept.push(b)
      else lostBlobs = true
    }
    usable = { ...usable, blobs: kept }
  }

  // The admin view, every run: handle, email and status change without a new rev.
  const info = await getJson(ctx, 'com.atproto.admin.getAccountInfo', { did: ref.did }, 'admin')
  if ((info as { did?: unknown }).did !== ref.did) {
    throw new PdsctlError(`com.atproto.admin.getAccountInfo for ${ref.did} answered for ${String((info as { did?: unknown }).did ?? 'no account')}`)
  }
  const infoText = JSON.stringify({ ...(info as object), repoStatus: ref.status }, null, 2) + '\n'
  // Unchanged since the last run (the usual case of an incremental run): the file on disk,
  // fsynced then, stands; rewriting it cost an fsync per account for nothing.
  const sameInfo = usable !== undefined && (await readJsonText(path.join(abs, 'account.json'))) === infoText.trim()
  const infoFile = sameInfo
    ? { size: Buffer.byteLength(infoText), sha256: createHash('sha256').update(infoText).digest('hex') }
    : await writeFileAtomic(path.join(abs, 'account.json'), infoText)
  if (!sameInfo) ctx.summary.bytes += infoFile.size
  const handle = typeof (info as { handle?: unknown }).handle === 'string' ? (info as { handle: string }).handle : null

  // The repository.
  let repo = usable?.repo
  let diffs = usable?.diffs ?? []
  let head = usable?.head
  let rev = usable?.rev
  const diffBytes = diffs.reduce((n, d) => n + d.size, 0)
  if (usable && ref.rev && ref.rev === usable.rev) {
    ctx.summary.repos.unchanged++
  } else if (usable && diffs.length < MAX_DIFFS && diffBytes <= usable.repo.size / 2) {
    const since = usable.rev
    const got = await fetchCar(ctx, ref.did, since, path.join(abs, 'diffs'))
    if (got.commit.did !== ref.did) throw new PdsctlError(`getRepo for ${ref.did} returned a repository of ${got.commit.did}`)
    if (got.commit.rev === since) {
      // Nothing new after all (listRepos raced a write, or reported no rev): drop the empty diff.
      await removeQuietly(got.abs)
      ctx.summary.repos.unchanged++
    } else {
      const final = path.join(abs, 'diffs', `${got.commit.rev}.car`)
      await rename(got.abs, final)
      diffs = [...diffs, { path: path.join(rel, 'diffs', `${got.commit.rev}.car`), size: got.size, sha256: got.sha256, rev: got.commit.rev, since }]
      head = got.root
      rev = got.commit.rev
      ctx.summary.repos.incremental++
    }
  } else {
    const got = await fetchCar(ctx, ref.did, undefined, abs)
    if (got.commit.did !== ref.did) throw new PdsctlError(`getRepo for ${ref.did} returned a repository of ${got.commit.did}`)
    await rename(got.abs, path.join(abs, 'repo.car'))
    repo = { path: path.join(rel, 'repo.car'), size: got.size, sha256: got.sha256, rev: got.commit.rev }
    diffs = []
    head = got.root
    rev = got.commit.rev
    ctx.summary.repos.full++
  }
  if (!repo || !head || !rev) throw new PdsctlError(`internal: no repository saved for ${ref.did}`)
  await sweepDiffs(abs, diffs)

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
          const entry = await fetchBlob(ctx, ref.did, cid, path.join(abs, 'blobs'), rel)
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
    account: { path: path.join(rel, 'account.json'), ...infoFile },
    blobs: [...blobs.values()].sort((a, b) => (a.cid < b.cid ? -1 : 1)),
    backedUpAt: new Date().toISOString(),
  }
  // Nothing new for this account: its state.json (and when its data last changed) stands.
  if (prev && JSON.stringify({ ...prev, backedUpAt: '' }) === JSON.stringify({ ...state, backedUpAt: '' })) return
  await writeFileAtomic(path.join(abs, 'state.json'), JSON.stringify(state, null, 1) + '\n')
}

async function sizeIs(file: string, size: number): Promise<boolean> {
  const st = await stat(file).catch(() => undefined)
  return Boolean(st?.isFile() && st.size === size)
}

async function allPresent(dir: string, files: FileEntry[]): Promise<boolean> {
  for (const f of files) if (!(await sizeIs(path.join(dir, f.path), f.size))) return false
  return true
}

/** Temp files left by a killed run are never complete: remove them. */
async function sweepTemps(abs: string): Promise<void> {
  for (const sub of ['', 'blobs', 'diffs']) {
    const d = path.join(abs, sub)
    for (const name of await readdir(d).catch(() => [] as string[])) {
      if (isTempName(name)) await removeQuietly(path.join(d, name))
    }
  }
}

/** A diff renamed into place by a run killed before its state.json: not part of the chain. */
async function sweepDiffs(abs: string, keep: Array<{ path: string }>): Promise<void> {
  const wanted = new Set(keep.map((d) => path.basename(d.path)))
  for (const name of await readdir(path.join(abs, 'diffs')).catch(() => [] as string[])) {
    if (!wanted.has(name)) await removeQuietly(path.join(abs, 'diffs', name))
  }
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

async function fetchCar(ctx: Ctx, did: string, since: string | undefined, folder: string): Promise<FetchedCar> {
  const tmp = tempName(path.join(folder, since ? 'diff.car' : 'repo.car'))
  const req: RawRequest = { method: 'GET', path: '/xrpc/com.atproto.sync.getRepo', query: { did, since }, auth: 'admin', name: 'com.atproto.sync.getRepo' }
  const { size, sha256: digest } = await download(ctx, 'com.atproto.sync.getRepo', async () => ({ body: (await ctx.client.stream(req, { signal: ctx.signal })).body }), tmp)
  try {
    const { root, commit } = await readCommit(tmp)
    return { abs: tmp, size, sha256: digest, root, commit }
  } catch (err) {
    await removeQuietly(tmp)
    throw new PdsctlError(`the repository of ${did} that the PDS sent is not a readable CAR (${(err as Error).message})`)
  }
}

async function fetchBlob(ctx: Ctx, did: string, cidStr: string, folder: string, rel: string): Promise<BlobEntry> {
  let cid: CID
  try {
    cid = CID.parse(cidStr)
  } catch {
    throw new PdsctlError(`listBlobs for ${did} returned "${cidStr}", which is not a CID`)
  }
  if (cid.multihash.code !== sha256.code) throw new PdsctlError(`blob ${cidStr} of ${did} is not sha256-addressed; pdsctl cannot check it`)
  const final = path.join(folder, cidStr)
  const existing = await stat(final).catch(() => undefined)
  if (existing?.isFile()) {
    // Under its final name only after its bytes matched: verified when it got there.
    ctx.summary.blobs.skipped++
    return { cid: cidStr, size: existing.size, sha256: Buffer.from(cid.multihash.digest).toString('hex'), mimeType: await mimeOf(folder, cidStr) }
  }
  const tmp = tempName(final)
  const got = await download(ctx, 'com.atproto.sync.getBlob', () => streamBlob(ctx.client, { did, cid: cidStr, auth: 'admin', signal: ctx.signal }), tmp)
  const want = Buffer.from(cid.multihash.digest).toString('hex')
  if (got.sha256 !== want) {
    await removeQuietly(tmp)
    throw new PdsctlError(`blob ${cidStr} of ${did}: the bytes the PDS sent do not match the CID (sha256 ${got.sha256})`)
  }
  await rename(tmp, final)
  ctx.summary.blobs.fetched++
  const mimeType = got.contentType ?? null
  // A hint for a later run that finds the blob without its state.json: written whole
  // (temp + rename) but not fsynced, an fsync per blob for a guess (a lost one reads as no type).
  if (mimeType) await writeSmallFile(path.join(folder, `${cidStr}.mime`), mimeType)
  void rel
  return { cid: cidStr, size: got.size, sha256: got.sha256, mimeType }
}

async function mimeOf(folder: string, cid: string): Promise<string | null> {
  return (await readJsonText(path.join(folder, `${cid}.mime`))) ?? null
}

async function readJsonText(file: string): Promise<string | undefined> {
  try {
    const { readFile } = await import('node:fs/promises')
    return (await readFile(file, 'utf8')).trim() || undefined
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
 * Stream one response body to `tmp` (created exclusively, no link followed, 0600), hashing
 * it as it goes, then fsync it; retried on 429 / a dropped connection. Each chunk is
 * written with the file handle as it arrives (no stream pipeline, no second open for the
 * fsync): the floor's own way, measured in bench/backup.ts.
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
      let fh
      try {
        fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
        for await (const chunk of res.body) {
          const buf = chunk as Buffer
          hash.update(buf)
          size += buf.length
          ctx.summary.bytes += buf.length
          ctx.progress()
          await fh.write(buf)
        }
        await fh.sync()
      } catch (err) {
        res.body.destroy()
        await fh?.close().catch(() => {})
        fh = undefined
        await removeQuietly(tmp)
        throw err
      } finally {
        await fh?.close()
      }
      return { size, sha256: hash.digest('hex'), contentType: res.mimeType }
    }),
  )
}

/**
 * A small file written whole to a temp name (created exclusively, no link followed) and
 * renamed, without fsync: for hints only. Synchronous: four tiny syscalls on the main
 * thread cost less than their promises and thread-pool round trips (~1.3 ms a blob).
 */
async function writeSmallFile(file: string, data: string): Promise<void> {
  const fs = process.getBuiltinModule('node:fs')
  const tmp = tempName(file)
  const fd = fs.openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600)
  try {
    fs.writeSync(fd, data)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
}

/** The root commit of a CAR file (did, rev), read with carCommit.ts (no @atproto/repo). */
export async function readCommit(file: string): Promise<{ root: string; commit: { did: string; rev: string } }> {
  return readCarCommit(file)
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

async function healthVersion(ctx: Ctx): Promise<string | null> {
  try {
    const res = await ctx.client.send({ method: 'GET', path: '/xrpc/_health', name: '_health' })
    const v = (res.body as { version?: unknown } | undefined)?.version
    return typeof v === 'string' ? v : null
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------
// The manifest: every account's state.json, streamed into one file

async function writeManifest(ctx: Ctx, head: Pick<Manifest, 'pdsctl' | 'pds' | 'startedAt' | 'endedAt' | 'errors'>): Promise<void> {
  const file = path.join(ctx.dir, 'manifest.json')
  const tmp = tempName(file)
  const out = createWriteStream(tmp, { mode: 0o600 })
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())))
  let accounts = 0
  let blobs = 0
  let bytes = 0
  try {
    await write(`{\n"format": ${JSON.stringify(MANIFEST_FORMAT)},\n"pdsctl": ${JSON.stringify(head.pdsctl)},\n"pds": ${JSON.stringify(head.pds)},\n`)
    await write(`"startedAt": ${JSON.stringify(head.startedAt)},\n"errors": ${JSON.stringify(head.errors)},\n"accounts": [`)
    const d = await opendir(path.join(ctx.dir, 'accounts'))
    for await (const entry of d) {
      if (!entry.isDirectory()) continue
      const state = await readJson<AccountState>(path.join(ctx.dir, 'accounts', entry.name, 'state.json'))
      if (!state) continue
      await write((accounts === 0 ? '\n' : ',\n') + JSON.stringify(state))
      accounts++
      blobs += state.blobs.length
      bytes += state.repo.size + state.account.size + state.diffs.reduce((n, x) => n + x.size, 0) + state.blobs.reduce((n, x) => n + x.size, 0)
    }
    await write(`\n],\n"totals": ${JSON.stringify({ accounts, blobs, bytes })},\n"endedAt": ${JSON.stringify(new Date().toISOString())}\n}\n`)
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
    const fh = await open(tmp, 'r')
    await fh.sync().finally(() => fh.close())
    await rename(tmp, file)
  } catch (err) {
    out.destroy()
    await removeQuietly(tmp)
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
