// A relay's per-host account limit, as seen from the PDS. Relays (the indigo relay that
// runs bsky.network) cap the accounts they take from one host (bsky.network: 100 by default,
// docs.bsky.app "Rate Limits"); an account the host creates past the cap is kept with status
// `throttled`. So the throttled accounts are the newest ones: in the PDS's creation order
// (listRepos' order), the first N active accounts are active at the relay and the rest are
// throttled. `relay status` finds N without asking about every account: it asks about the
// newest active account, and when that one is throttled, bisects — first over the first
// active account of each listRepos page (kept while the PDS's repos were counted: one DID
// per 1000 accounts), then within the page where the switch happens (fetched again by its
// cursor): about log2(accounts) getRepoStatus requests in all.
import type { PdsClient } from '../pds/xrpcClient.js'
import { fetchPage, type RepoListing } from './repoPages.js'
import { RelayLane } from './relayAccounts.js'

/** What counting the PDS's repos kept for the bisection: per page, where it starts. */
export interface ActiveIndex {
  /** Active accounts in all. */
  active: number
  /** The newest active account (last in listRepos order). */
  newest: string | null
  pages: Array<{ cursor: string | undefined; activeBefore: number; firstActive: string | null }>
  pageSize: number
}

export function emptyIndex(pageSize: number): ActiveIndex {
  return { active: 0, newest: null, pages: [], pageSize }
}

/** Add one listRepos page (in order) to the index. */
export function indexPage(index: ActiveIndex, cursor: string | undefined, repos: RepoListing[]): void {
  const actives = repos.filter((r) => r.active)
  index.pages.push({ cursor, activeBefore: index.active, firstActive: actives[0]?.did ?? null })
  index.active += actives.length
  if (actives.length) index.newest = actives.at(-1)!.did
}

/** `relays[].accountLimit` of `relay status --json`. */
export interface AccountLimit {
  /** The PDS's active accounts, in creation order, that are active at the relay before the first throttled one. */
  accounts: number
  /** Active accounts here from the first throttled one on (the newest ones). */
  throttled: number
  /** getRepoStatus requests it took. */
  probes: number
}

/**
 * null when the newest active account is not throttled at the relay (no limit reached);
 * throws a one-line Error text when the relay did not answer a probe.
 */
export async function findAccountLimit(pds: PdsClient, relay: PdsClient, index: ActiveIndex, signal?: AbortSignal): Promise<AccountLimit | null> {
  if (!index.active || !index.newest) return null
  const lane = new RelayLane(relay, { concurrency: 1, graceMs: 0, pageSize: index.pageSize, stopAfterFailures: 1, maxWaitMs: 30_000, maxRateLimitWaits: 3, signal })
  let probes = 0
  const throttled = async (did: string): Promise<boolean> => {
    probes++
    const look = await lane.lookup(did)
    if (look.kind === 'error') throw new Error(look.error)
    return look.kind === 'found' && !look.active && look.status === 'throttled'
  }
  if (!(await throttled(index.newest))) return null
  const result = (accounts: number): AccountLimit => ({ accounts, throttled: index.active - accounts, probes })
  // Pages whose first active account is known: find the last one that is not throttled.
  const starts = index.pages.map((p, i) => ({ ...p, i })).filter((p) => p.firstActive !== null)
  let lo = -1 // starts[lo] is not throttled (-1: none known)
  let hi = starts.length // starts[hi] is throttled (length: none known)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (await throttled(starts[mid].firstActive!)) hi = mid
    else lo = mid
  }
  if (lo === -1) return result(0) // the very first active account is throttled
  // The switch is inside starts[lo]'s page (or at the start of the next page with actives).
  const page = starts[lo]
  const repos = (await fetchPage(pds, index.pageSize, page.cursor)).repos.filter((r) => r.active)
  if (repos[0]?.did !== page.firstActive) throw new Error("the PDS's listing changed while it was being read; try again")
  let a = 0 // repos[a] not throttled
  let b = repos.length // repos[b] throttled (length: the next page's first)
  while (b - a > 1) {
    const mid = (a + b) >> 1
    if (await throttled(repos[mid].did)) b = mid
    else a = mid
  }
  return result(page.activeBefore + b)
}
