// `pdsctl relay accounts`: every account of the PDS against each relay. The PDS's side is
// com.atproto.sync.listRepos (anonymous, 100 a page, in creation order): each account's
// active/status and its current rev, the same rev getLatestCommit gives (both read the
// repo's root), for one request per 100 accounts instead of one per account. The relay's
// side is com.atproto.sync.getRepoStatus per account, through a lane per relay: a bounded
// pool of requests in flight, a pause of the whole lane when the relay answers 429 (for its
// Retry-After), and a stop after repeated failures, so that a relay that is down costs a
// few requests rather than one timeout per account, and never hides the other relays.
// Memory stays flat: a page of accounts (and the next page's request), and a window of
// accounts under way at a time (see accountRows).
import { PdsctlError, InterruptedError, XrpcError } from '../errors.js'
import { retryAfterMs, sleepUnlessInterrupted, type PdsClient } from '../pds/xrpcClient.js'
import { Pool } from '../admin/accounts.js'
import { listRepoPages, type RepoListing } from './repoPages.js'
import { compareTids, isTid, tidTimestampMs } from './tid.js'

/**
 * What one relay thinks of one account (the stable names of `relay accounts`):
 * - in-sync: active there, at the PDS's rev (or a newer one: the account wrote meanwhile);
 * - behind: active there, at an older rev (or none), for a commit older than the grace period;
 * - ahead: the relay holds a newer rev than the PDS has now (the repo here went back: restored);
 * - throttled: inactive there with status throttled (the relay's per-host account limit);
 * - unknown: the relay does not know the account (RepoNotFound);
 * - inactive: inactive there for another reason (takendown, suspended, desynchronized, …);
 * - error: the relay did not answer for it (or answered something that is not the lexicon's);
 * - inactive-here: the account is not active on this PDS (taken down, deactivated): not judged.
 */
export const ACCOUNT_STATES = ['in-sync', 'behind', 'ahead', 'throttled', 'unknown', 'inactive', 'error', 'inactive-here'] as const
export type AccountState = (typeof ACCOUNT_STATES)[number]
/** The states that make `relay accounts` exit 6 (for an account active on the PDS). */
export const PROBLEM_STATES = ['behind', 'ahead', 'throttled', 'unknown', 'inactive', 'error'] as const
export type ProblemState = (typeof PROBLEM_STATES)[number]
export const isProblem = (s: AccountState): s is ProblemState => (PROBLEM_STATES as readonly string[]).includes(s)

/** One relay's view of one account (`accounts[].relays[]` of `relay accounts --json`). */
export interface RelayAccountView {
  relay: string
  state: AccountState
  /** What the relay said (null when it said nothing usable). */
  active: boolean | null
  status: string | null
  rev: string | null
  error: string | null
}

/** One account (`accounts[]` of `relay accounts --json`). */
export interface AccountRelayRow {
  did: string
  pds: { active: boolean; status: string | null; rev: string | null }
  relays: RelayAccountView[]
}

/** Per relay, how many accounts are in each state (`relays[]` of `relay accounts --json`). */
export interface RelayTally {
  relay: string
  counts: Record<AccountState, number>
  /** Why pdsctl stopped asking this relay before the end (then the rest are `error`), else null. */
  stopped: string | null
}

export interface RelayAccountsOptions {
  /** getRepoStatus requests in flight per relay (default 8). */
  concurrency?: number
  /** A relay at an older rev is behind only when the PDS's commit is older than this (default 60 s). */
  graceMs?: number
  /** listRepos page size (default 100: see accountRows). */
  pageSize?: number
  /**
   * Stop asking a relay after this many failures in a row (default: the concurrency, at least
   * 3 and at most 10): a relay that fails every request of a full round of them is down, and
   * a second round would only wait out its deadlines again.
   */
  stopAfterFailures?: number
  /** The longest Retry-After honoured; a relay that asks for more is not asked again (default 120 s). */
  maxWaitMs?: number
  /** 429s answered to one lookup before the relay is given up on (default 5). */
  maxRateLimitWaits?: number
  signal?: AbortSignal
  /** Told when a relay asks pdsctl to wait (429), once per pause. */
  onPause?: (relay: string, ms: number) => void
  /** Told when pdsctl stops asking a relay. */
  onStop?: (relay: string, why: string) => void
  now?: () => number
}

export const RELAY_ACCOUNTS_DEFAULTS = { concurrency: 8, graceMs: 60_000, pageSize: 100, maxWaitMs: 120_000, maxRateLimitWaits: 5 } as const

type Lookup =
  | { kind: 'found'; active: boolean; status: string | null; rev: string | null }
  | { kind: 'not-found' }
  | { kind: 'error'; error: string }

const GET_REPO_STATUS = 'com.atproto.sync.getRepoStatus'

/** One relay: a bounded pool, a shared pause on 429, and a stop after repeated failures. */
export class RelayLane {
  readonly pool: Pool
  private pausedUntil = 0
  private failuresInARow = 0
  stopped: string | null = null
  readonly tally: RelayTally

  constructor(
    readonly client: PdsClient,
    private readonly o: Resolved,
  ) {
    this.pool = new Pool(o.concurrency)
    this.tally = { relay: client.url, counts: Object.fromEntries(ACCOUNT_STATES.map((s) => [s, 0])) as Record<AccountState, number>, stopped: null }
  }

  private stop(why: string): void {
    if (this.stopped) return
    this.stopped = why
    this.tally.stopped = why
    this.o.onStop?.(this.client.url, why)
  }

  /** getRepoStatus for one DID, paced with the lane's other requests. Never throws but for an interruption. */
  lookup(did: string): Promise<Lookup> {
    return this.pool.run(() => this.lookupNow(did))
  }

  private async lookupNow(did: string): Promise<Lookup> {
    const now = this.o.now ?? Date.now
    for (let waits = 0; ; ) {
      if (this.stopped) return { kind: 'error', error: `not asked: ${this.stopped}` }
      const wait = this.pausedUntil - now()
      if (wait > 0) await sleepUnlessInterrupted(wait, this.o.signal)
      if (this.stopped) return { kind: 'error', error: `not asked: ${this.stopped}` }
      let res
      try {
        res = await this.client.send({ method: 'GET', path: `/xrpc/${GET_REPO_STATUS}`, query: { did }, auth: 'none', name: GET_REPO_STATUS, noRateLimitWait: true })
      } catch (err) {
        if (err instanceof InterruptedError) throw err
        return this.failed(err instanceof PdsctlError ? err.message : String(err))
      }
      if (res.status === 429) {
        waits++
        const asked = retryAfterMs(res.headers)
        const ms = asked ?? Math.min(1000 * 2 ** (waits - 1), this.o.maxWaitMs)
        if (ms > this.o.maxWaitMs) {
          this.stop(`the relay rate-limited pdsctl and asked it to wait ${Math.ceil(ms / 1000)} s (more than the ${Math.round(this.o.maxWaitMs / 1000)} s pdsctl waits); try again later`)
          return { kind: 'error', error: `rate limited (HTTP 429); ${this.stopped}` }
        }
        if (waits > this.o.maxRateLimitWaits) {
          this.stop(`the relay still answered 429 after ${this.o.maxRateLimitWaits} waits for one account; try again later`)
          return { kind: 'error', error: `rate limited (HTTP 429); ${this.stopped}` }
        }
        const until = now() + ms
        if (until > this.pausedUntil) {
          this.pausedUntil = until
          this.o.onPause?.(this.client.url, ms)
        }
        continue
      }
      if (res.status === 200) {
        const b = res.body as { did?: unknown; active?: unknown; status?: unknown; rev?: unknown } | undefined
        if (!res.json || !b || typeof b !== 'object' || b.did !== did || typeof b.active !== 'boolean') {
          return this.failed(`${GET_REPO_STATUS} answered HTTP 200 without the lexicon's {did, active} for this DID`)
        }
        if (b.rev !== undefined && b.rev !== null && (typeof b.rev !== 'string' || !isTid(b.rev))) {
          // One malformed answer is this relay's error for this account, never a crash.
          this.failuresInARow = 0
          return { kind: 'error', error: `${GET_REPO_STATUS} answered a rev that is not a TID` }
        }
        this.failuresInARow = 0
        return { kind: 'found', active: b.active, status: typeof b.status === 'string' && b.status ? b.status : null, rev: typeof b.rev === 'string' ? b.rev : null }
      }
      const body = res.body as { error?: unknown; message?: unknown } | undefined
      const xname = res.json && body && typeof body.error === 'string' ? body.error : undefined
      if (res.status === 400 && xname === 'RepoNotFound') {
        this.failuresInARow = 0
        return { kind: 'not-found' }
      }
      const xmsg = xname && typeof body?.message === 'string' && body.message ? `: ${body.message}` : ''
      return this.failed(`${GET_REPO_STATUS}: ${xname ? `${xname}${xmsg} (HTTP ${res.status})` : `HTTP ${res.status} without an XRPC error body`}`)
    }
  }

  private failed(error: string): Lookup {
    this.failuresInARow++
    if (this.failuresInARow >= this.o.stopAfterFailures) this.stop(`it failed ${this.failuresInARow} times in a row (last: ${error})`)
    return { kind: 'error', error }
  }
}

/** The state of an account active on the PDS, from the relay's answer. */
export function classify(pdsRev: string | null, look: Lookup, graceMs: number, now: number): { state: AccountState; active: boolean | null; status: string | null; rev: string | null; error: string | null } {
  if (look.kind === 'error') return { state: 'error', active: null, status: null, rev: null, error: look.error }
  if (look.kind === 'not-found') return { state: 'unknown', active: null, status: null, rev: null, error: null }
  const { active, status, rev } = look
  const seen = { active, status, rev, error: null }
  if (!active) return { ...seen, state: status === 'throttled' ? 'throttled' : 'inactive' }
  if (!pdsRev || !isTid(pdsRev)) return { ...seen, state: 'in-sync' } // nothing of the PDS's to be behind of
  const fresh = now - tidTimestampMs(pdsRev) < graceMs
  if (!rev) return { ...seen, state: fresh ? 'in-sync' : 'behind' }
  const c = compareTids(rev, pdsRev)
  if (c === 0) return { ...seen, state: 'in-sync' }
  if (c < 0) return { ...seen, state: fresh ? 'in-sync' : 'behind' }
  return { ...seen, state: 'ahead' }
}

/** A run of `relay accounts`: the rows, a listRepos page at a time, and the tallies they fill. */
export interface RelayAccountsRun {
  /** Every account, in the PDS's order, a page at a time. */
  rows: AsyncGenerator<AccountRelayRow[], void, undefined>
  /** One per relay, in the order given: counts by state, filled as pages go by (final once `rows` ends). */
  tallies: RelayTally[]
}

/** Every account against every relay (see the top of this file). */
export function relayAccounts(pds: PdsClient, relays: PdsClient[], opts: RelayAccountsOptions = {}): RelayAccountsRun {
  const o = resolved(opts)
  const lanes = relays.map((r) => new RelayLane(r, o))
  return { rows: accountRows(pds, lanes, o), tallies: lanes.map((l) => l.tally) }
}

type Resolved = RelayAccountsOptions & { [K in keyof typeof RELAY_ACCOUNTS_DEFAULTS | 'stopAfterFailures']: number }

/** The options with every default filled in (an option given as undefined takes its default). */
function resolved(opts: RelayAccountsOptions): Resolved {
  const out: Record<string, unknown> = { ...RELAY_ACCOUNTS_DEFAULTS }
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) out[k] = v
  out.stopAfterFailures ??= Math.min(10, Math.max(3, out.concurrency as number))
  return out as unknown as Resolved
}

/**
 * Every account through every lane, in listRepos order, at most `window` accounts under way
 * at once. What the run holds decides its peak memory (V8 enlarges its young generation to
 * what survives its collections, see LIST_DEFAULTS in src/lib/admin/accounts.ts): a whole
 * page of lookups queued at once (1000 accounts × the relays, each a pending promise and its
 * closures) kept ~7 MB alive between requests and ended with a 64 MiB young generation,
 * 133 MiB peak RSS at 10,000 accounts and 197 MiB at 50,000. So the listing reads pages of
 * 100 (one ahead), an account's lookups start only when one of the window's accounts is
 * done, and the rows go out in chunks as they are done, in order.
 */
async function* accountRows(pds: PdsClient, lanes: RelayLane[], o: Resolved): AsyncGenerator<AccountRelayRow[], void, undefined> {
  const now = o.now ?? Date.now
  const pdsPool = new Pool(4)
  // Each lane's pool full, and as many accounts again waiting behind them (so that a slow
  // answer at the head of the order does not leave the pools idle at once).
  const window = Math.max(2, o.concurrency * 2)
  const view = async (lane: RelayLane, row: AccountRelayRow): Promise<RelayAccountView> => {
    const look = await lane.lookup(row.did)
    const relay = lane.client.url
    if (!row.pds.active) {
      const seen =
        look.kind === 'found'
          ? { active: look.active, status: look.status, rev: look.rev, error: null }
          : { active: null, status: null, rev: null, error: look.kind === 'error' ? look.error : null }
      return { relay, state: 'inactive-here', ...seen }
    }
    let v = classify(row.pds.rev, look, o.graceMs, now())
    if (v.state === 'ahead') {
      // The relay has a newer rev than the page listed: most likely the account wrote
      // since. Ask the PDS for its rev now; only a relay still ahead of that is ahead.
      const current = await pdsPool.run(() => latestRev(pds, row.did))
      if (current && isTid(current) && compareTids(current, row.pds.rev!) > 0) {
        row.pds.rev = current
        v = classify(current, look, o.graceMs, now())
      }
    }
    return { relay, ...v }
  }
  const check = async (repo: RepoListing): Promise<AccountRelayRow> => {
    const row: AccountRelayRow = { did: repo.did, pds: { active: repo.active, status: repo.status, rev: repo.rev }, relays: [] }
    row.relays = await Promise.all(lanes.map((lane) => view(lane, row)))
    return row
  }
  const queue: Array<Promise<AccountRelayRow>> = []
  let chunk: AccountRelayRow[] = []
  const take = async () => {
    const row = await queue.shift()!
    for (let k = 0; k < lanes.length; k++) lanes[k].tally.counts[row.relays[k].state]++
    chunk.push(row)
  }
  for await (const page of listRepoPages(pds, { pageSize: o.pageSize })) {
    for (const repo of page.repos) {
      const p = check(repo)
      p.catch(() => {}) // observed in order by take()
      queue.push(p)
      while (queue.length >= window) await take()
    }
    // The rows done so far, once per page: the caller writes them while the next are asked for.
    if (chunk.length) {
      yield chunk
      chunk = []
    }
  }
  while (queue.length) await take()
  if (chunk.length) yield chunk
}

/** The PDS's rev for one account now (getLatestCommit), null when it has none to give. */
async function latestRev(pds: PdsClient, did: string): Promise<string | null> {
  try {
    const res = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getLatestCommit', query: { did }, auth: 'none', name: 'com.atproto.sync.getLatestCommit' })
    const b = res.body as { rev?: unknown } | undefined
    return typeof b?.rev === 'string' ? b.rev : null
  } catch (err) {
    if (err instanceof InterruptedError) throw err
    if (err instanceof XrpcError) return null
    throw err
  }
}

/** What to do about accounts in each problem state (the text output's fix column and its notes). */
export function stateFix(state: AccountState, bin = 'pdsctl'): string | null {
  switch (state) {
    case 'behind':
      return `the relay missed commits: check \`${bin} relay status\` (an idle/offline host or a desync); \`${bin} request-crawl\`, then a new post re-syncs the account`
    case 'ahead':
      return `the repo here went back (restored from an older copy): a new post makes the relay resync it; if not, ask the relay's operator`
    case 'throttled':
      return `the relay limits this host's accounts: see \`${bin} relay status\` for the limit and how to have it raised`
    case 'unknown':
      return `the relay never saw the account: \`${bin} request-crawl\`, then a new post by it`
    case 'inactive':
      return `the relay has it taken down, suspended or desynchronized: only its operator can change that (desynchronized: a new post may resync it)`
    case 'error':
      return 'the relay did not answer for it: try again later'
    default:
      return null
  }
}
