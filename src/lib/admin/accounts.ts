// Accounts: resolving a handle or DID to an account, and listing every account with
// handle and email. The listing is a pipeline: sync.listRepos pages are fetched ahead
// while the admin.getAccountInfos batches (100 DIDs a call) share one pool of requests in
// flight; rows come out in listRepos order, one batch at a time. Memory stays flat however
// many accounts the PDS has, by holding little, not by tuning the garbage collector: what
// waits between requests is kept small (a DID and a status per account, never the parsed
// page) and the read-ahead is bounded in accounts (see LIST_DEFAULTS).
import { NotFoundError, PdsctlError, XrpcError } from '../errors.js'
// identifiers.js (and @atproto/syntax, ~5 ms to load) only when a handle or DID is resolved:
// a listing needs neither.
import type { AccountRef } from '../pds/identifiers.js'
import type { AdminDefs } from '../pds/lexicon.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** One row of `pdsctl account list` (the documented JSON shape). */
export interface AccountSummary {
  did: string
  handle: string | null
  email: string | null
  emailConfirmed: boolean
  emailConfirmedAt: string | null
  /** active, takendown, deactivated, suspended, deleted, … (from listRepos). */
  status: string
  createdAt: string | null
  deactivatedAt: string | null
  invitesDisabled: boolean
}

/** One entry of sync.listRepos (the fields pdsctl reads). */
export type RepoEntry = { did: string; head?: string; rev?: string; active?: boolean; status?: string }

/**
 * Peak memory of a long listing depends on what it holds between requests, because V8
 * enlarges its young generation each time as many bytes as it holds have survived its
 * collections: the more a listing keeps alive at any moment, the larger that generation
 * ends (up to 128 MiB here) and with it the process. Measured at 1,000,000 synthetic
 * accounts (bench/synthetic.ts, Node 24, no V8 flags): two 1000-account pages read ahead
 * and a pool of 4 (the previous defaults) ended with a 128 MiB young generation and peak
 * RSS 212–222 MiB; pages of 400 with 800 accounts ahead, 128 MiB and 212; pages of 200,
 * 64 MiB and 146–165; pages of 100 with 300 accounts ahead, 32 MiB and 115. Each page is
 * also parsed whole, so a small page keeps that short too.
 *
 * So: listRepos pages of 100, getAccountInfos batches of 100 (the most a URL comfortably
 * carries), 2 in flight, and the next page asked for while fewer than a page and the
 * pool's batches wait. On loopback the listing is CPU-bound and 2 in flight lose nothing;
 * on a distant PDS it takes one listRepos round trip per 100 accounts.
 */
export const LIST_DEFAULTS = { pageSize: 100, batchSize: 100, concurrency: 2 } as const

export interface ListOptions {
  /** listRepos page size, 1–1000. */
  pageSize?: number
  /** DIDs per getAccountInfos call. */
  batchSize?: number
  /** getAccountInfos calls in flight (one pool shared by every page). */
  concurrency?: number
  /** Stop after this many accounts (listRepos is asked for exactly what is still needed). */
  limit?: number
  /**
   * Only enrich (and yield) the repos this accepts; listRepos gives did, active and status,
   * so a status filter costs no getAccountInfos call for the rows it drops.
   */
  repoFilter?: (repo: RepoEntry) => boolean
}

const LIST_REPOS = 'com.atproto.sync.listRepos'

/**
 * Every account, in listRepos order, in chunks of one getAccountInfos batch (≤ batchSize
 * rows). Wrap it to filter; stop iterating to stop the listing (nothing more is fetched).
 * A repeated cursor, or a page with no DID that the previous page did not already have,
 * ends it with an error naming listRepos (a broken server would otherwise loop forever).
 */
export async function* listAccounts(client: PdsClient, opts: ListOptions = {}): AsyncGenerator<AccountSummary[]> {
  const pageSize = opts.pageSize ?? LIST_DEFAULTS.pageSize
  const batchSize = opts.batchSize ?? LIST_DEFAULTS.batchSize
  const concurrency = opts.concurrency ?? LIST_DEFAULTS.concurrency
  const pool = new Pool(concurrency)
  const limit = opts.limit ?? Infinity
  // Batches queued or in flight, in order. The next page is fetched while fewer accounts
  // than a page and the pool's batches wait here: the read-ahead is bounded in accounts.
  const maxAhead = pageSize + concurrency * batchSize
  const queue: Array<{ accounts: number; rows: Promise<AccountSummary[]> }> = []
  let queued = 0
  const consumer = new Signal()
  const producer = new Signal()
  let stopped = false
  let finished = false
  let failure: { error: unknown } | undefined

  const produce = async () => {
    const pages = listRepoPages(client, { pageSize, limit })
    try {
      while (!stopped) {
        while (queued >= maxAhead && !stopped) await producer.wait()
        if (stopped) return
        const next = await pages.next()
        if (next.done || stopped) return
        const repos = next.value
        const wanted = opts.repoFilter ? repos.filter(opts.repoFilter) : repos
        for (let i = 0; i < wanted.length; i += batchSize) {
          // What the rows need of each repo, not the parsed page (its head, rev, objects).
          const batch = compactBatch(wanted, i, Math.min(i + batchSize, wanted.length))
          // A batch still waiting for the pool when the consumer stops is never sent.
          const rows = pool.run(() => (stopped ? Promise.resolve([]) : enrich(client, batch)))
          rows.catch(() => {}) // observed by the consumer, in order
          queue.push({ accounts: batch.dids.length, rows })
          queued += batch.dids.length
        }
        consumer.notify()
      }
    } finally {
      await pages.return(undefined)
    }
  }
  void produce().then(
    () => {
      finished = true
      consumer.notify()
    },
    (error: unknown) => {
      failure = { error }
      finished = true
      consumer.notify()
    },
  )
  try {
    for (;;) {
      const next = queue.shift()
      if (next) {
        queued -= next.accounts
        producer.notify()
        yield await next.rows
      } else if (finished) {
        if (failure) throw failure.error
        return
      } else await consumer.wait()
    }
  } finally {
    stopped = true
    producer.notify()
  }
}

/** A batch of repos as the listing keeps it while it waits: each DID and its status. */
interface CompactBatch {
  dids: string[]
  statuses: string[]
}

function compactBatch(repos: RepoEntry[], from: number, to: number): CompactBatch {
  const dids: string[] = []
  const statuses: string[] = []
  for (let i = from; i < to; i++) {
    const r = repos[i]
    dids.push(r.did)
    statuses.push(r.active === false ? (r.status ?? 'inactive') : 'active')
  }
  return { dids, statuses }
}

/**
 * Every repo of the PDS (sync.listRepos: did, head, rev, active, status), a page at a time
 * (cursor by cursor, at most `limit`), with no admin call. The next page is asked for only
 * when the consumer wants it. A repeated cursor, or a page with no DID that the previous
 * page did not already have, ends it with an error naming listRepos (a broken server would
 * otherwise loop forever).
 */
export async function* listRepoPages(client: PdsClient, opts: { pageSize?: number; limit?: number } = {}): AsyncGenerator<RepoEntry[]> {
  const pageSize = opts.pageSize ?? LIST_DEFAULTS.pageSize
  let cursor: string | undefined
  let remaining = opts.limit ?? Infinity
  const cursors = new Set<string>()
  let previous = new Set<string>()
  while (remaining > 0) {
    const page = await client.query(LIST_REPOS, { limit: Math.min(pageSize, remaining), cursor }, 'none')
    if (!page || !Array.isArray(page.repos)) throw new PdsctlError(`the PDS answered ${LIST_REPOS} without repos`, { hint: 'Is --url really a PDS?' })
    const all = page.repos as RepoEntry[]
    if (all.length === 0) return
    if (all.every((r) => previous.has(r.did))) {
      throw new PdsctlError(`${LIST_REPOS} sent a page with no new accounts (cursor ${cursor ?? 'none'}); stopped the listing instead of looping`, {
        hint: 'The PDS or a proxy in front of it is paging wrongly; report it to whoever runs it',
      })
    }
    previous = new Set(all.map((r) => r.did))
    const repos = all.length > remaining ? all.slice(0, remaining) : all
    remaining -= repos.length
    yield repos
    if (!page.cursor || remaining <= 0) return
    if (cursors.has(page.cursor)) {
      throw new PdsctlError(`${LIST_REPOS} repeated the cursor ${page.cursor}; stopped the listing instead of looping`, {
        hint: 'The PDS or a proxy in front of it is paging wrongly; report it to whoever runs it',
      })
    }
    // The last cursors seen (a server that cycles through them is stopped); bounded, like everything a listing keeps.
    if (cursors.size >= 1000) cursors.delete(cursors.values().next().value!)
    cursors.add(page.cursor)
    cursor = page.cursor
  }
}

/** listAccounts one row at a time (for filters that look at each row). */
export async function* eachAccount(client: PdsClient, opts: ListOptions = {}): AsyncGenerator<AccountSummary> {
  for await (const chunk of listAccounts(client, opts)) yield* chunk
}

async function enrich(client: PdsClient, batch: CompactBatch): Promise<AccountSummary[]> {
  const res = await client.query('com.atproto.admin.getAccountInfos', { dids: batch.dids }, 'admin')
  if (!res || !Array.isArray(res.infos)) throw new PdsctlError('the PDS answered com.atproto.admin.getAccountInfos without infos', { hint: 'Is --url really a PDS?' })
  const byDid = new Map<string, AdminDefs.AccountView>()
  for (const info of res.infos) byDid.set(info.did, info)
  return batch.dids.map((did, i) => toSummary(did, batch.statuses[i], byDid.get(did)))
}

/** admin.getAccountInfos in batches; unknown DIDs are simply absent from the map. */
export async function getAccountInfos(
  client: PdsClient,
  dids: string[],
  opts: { batchSize?: number; concurrency?: number } = {},
): Promise<Map<string, AdminDefs.AccountView>> {
  const batchSize = opts.batchSize ?? LIST_DEFAULTS.batchSize
  const pool = new Pool(opts.concurrency ?? LIST_DEFAULTS.concurrency)
  const out = new Map<string, AdminDefs.AccountView>()
  const calls: Promise<void>[] = []
  for (let i = 0; i < dids.length; i += batchSize) {
    const batch = dids.slice(i, i + batchSize)
    calls.push(
      pool.run(async () => {
        const res = await client.query('com.atproto.admin.getAccountInfos', { dids: batch }, 'admin')
        if (!res || !Array.isArray(res.infos)) throw new PdsctlError('the PDS answered com.atproto.admin.getAccountInfos without infos', { hint: 'Is --url really a PDS?' })
        for (const info of res.infos) out.set(info.did, info)
      }),
    )
  }
  await Promise.all(calls)
  return out
}

function toSummary(did: string, status: string, info: AdminDefs.AccountView | undefined): AccountSummary {
  return {
    did,
    handle: info?.handle ?? null,
    email: info?.email ?? null,
    emailConfirmed: Boolean(info?.emailConfirmedAt),
    emailConfirmedAt: info?.emailConfirmedAt ?? null,
    status,
    createdAt: info?.indexedAt ?? null,
    deactivatedAt: info?.deactivatedAt ?? null,
    invitesDisabled: info?.invitesDisabled ?? false,
  }
}

/** At most `width` tasks running; the rest start in the order they were given. */
export class Pool {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor(private readonly width: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.width) this.active++
    else await new Promise<void>((r) => this.waiting.push(r))
    try {
      return await task()
    } finally {
      this.release()
    }
  }

  /**
   * A slot for a caller that holds it itself (no frame of run() around its task): undefined
   * when one is free at once, else a promise of one. Give it back with release().
   */
  acquire(): Promise<void> | undefined {
    if (this.active < this.width) {
      this.active++
      return undefined
    }
    return new Promise<void>((r) => this.waiting.push(r))
  }

  /** Give a slot back: to the next waiter, if any. */
  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.active--
  }
}

/** One waiter woken by notify() (a notify with nobody waiting is not kept: callers re-check). */
class Signal {
  private waiter?: () => void
  wait(): Promise<void> {
    return new Promise((r) => (this.waiter = r))
  }
  notify(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }
}

// What one run learns about accounts, per client (one client per command run): the
// handles of accounts that are not active (from one listRepos scan, done at most once),
// and the admin views a batch prefetched (held only for its current window).
interface RunCache {
  inactiveHandles?: Promise<Map<string, string>>
  handles: Map<string, string>
  views: Map<string, AdminDefs.AccountView | null>
}
const runCaches = new WeakMap<PdsClient, RunCache>()
function runCache(client: PdsClient): RunCache {
  let c = runCaches.get(client)
  if (!c) runCaches.set(client, (c = { handles: new Map(), views: new Map() }))
  return c
}

/**
 * handle → DID of every account that is not active (taken down, deactivated, …): the PDS
 * no longer resolves their handles, so they are found in the admin view instead. One
 * listRepos scan per run, cached; getAccountInfos only for the inactive ones (they are
 * few), so the scan costs little more than paging listRepos.
 */
function inactiveHandles(client: PdsClient): Promise<Map<string, string>> {
  const cache = runCache(client)
  cache.inactiveHandles ??= (async () => {
    const map = new Map<string, string>()
    for await (const chunk of listAccounts(client, { repoFilter: (r) => r.active === false })) {
      for (const a of chunk) if (a.handle) map.set(a.handle, a.did)
    }
    return map
  })()
  return cache.inactiveHandles
}

/**
 * Resolve a handle (through the PDS itself, not public DNS) or check a DID's syntax.
 * The PDS does not resolve the handles of taken-down or deactivated accounts; with
 * `admin`, those are found in the admin view of the accounts (one scan per run).
 */
export async function resolveDid(client: PdsClient, ref: AccountRef | string, opts: { admin?: boolean } = {}): Promise<string> {
  const r = typeof ref === 'string' ? (await import('../pds/identifiers.js')).parseAccountRef(ref) : ref
  if (r.kind === 'did') return r.did
  const known = runCache(client).handles.get(r.handle)
  if (known) return known
  try {
    const res = await client.query('com.atproto.identity.resolveHandle', { handle: r.handle }, 'none')
    if (typeof res?.did !== 'string') throw new PdsctlError('the PDS answered com.atproto.identity.resolveHandle without did')
    // It names requests, rows and (account migrate) a state file: a DID that parses, or a broken answer.
    return (await import('../pds/identifiers.js')).parseServerDid(res.did, 'com.atproto.identity.resolveHandle')
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400 && opts.admin) {
      const did = (await inactiveHandles(client)).get(r.handle)
      if (did) return (await import('../pds/identifiers.js')).parseServerDid(did, 'com.atproto.admin.getAccountInfos')
    }
    if (err instanceof XrpcError && err.status === 400) {
      throw new NotFoundError(`no account with handle ${r.handle} on this PDS (${err.xrpcName}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, {
        hint: 'Check the spelling, or name the account by DID; `pdsctl account list` shows them all',
      })
    }
    throw err
  }
}

/** The admin view of one account; NotFoundError when the PDS does not host it. */
export async function getAccountInfo(client: PdsClient, ref: AccountRef | string): Promise<AdminDefs.AccountView> {
  const did = await resolveDid(client, ref, { admin: true })
  const cached = runCache(client).views.get(did)
  if (cached === null) throw notHosted(did)
  if (cached) return cached
  try {
    return await client.query('com.atproto.admin.getAccountInfo', { did }, 'admin')
  } catch (err) {
    if (err instanceof XrpcError && (err.exitCode === 4 || /not found/i.test(err.xrpcMessage ?? ''))) throw notHosted(did)
    throw err
  }
}

const notHosted = (did: string) => new NotFoundError(`no account ${did} on this PDS`, { hint: '`pdsctl account list` shows them all' })

/**
 * Before a batch writes: resolve its handles (8 in flight, one fallback scan for all
 * that the PDS does not resolve) and fetch the admin views of all its accounts with one
 * getAccountInfos per 100, so that getAccountInfo / resolveDid answer from memory for
 * each line. A line that cannot be resolved is left to fail on its own when it runs.
 * Call forgetPrefetched() after the window to keep memory flat.
 */
export async function prefetchAccounts(client: PdsClient, refs: AccountRef[], opts: { concurrency?: number } = {}): Promise<void> {
  const cache = runCache(client)
  const pool = new Pool(opts.concurrency ?? 8)
  const dids = new Set<string>()
  await Promise.all(
    refs.map(async (ref) => {
      if (ref.kind === 'did') {
        dids.add(ref.did)
        return
      }
      try {
        const did = await pool.run(() => resolveDid(client, ref, { admin: true }))
        cache.handles.set(ref.handle, did)
        dids.add(did)
      } catch {
        // Reported on its own line when the item runs.
      }
    }),
  )
  const wanted = [...dids].filter((d) => !cache.views.has(d))
  const infos = await getAccountInfos(client, wanted, { concurrency: opts.concurrency ?? 8 })
  for (const did of wanted) cache.views.set(did, infos.get(did) ?? null)
}

export function forgetPrefetched(client: PdsClient): void {
  const cache = runCache(client)
  cache.handles.clear()
  cache.views.clear()
}
