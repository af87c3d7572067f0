// Relays: asking them to crawl this PDS, and what they know of it beside what the PDS
// has. Relay clients are built with no credential of any kind: nothing of the admin's
// ever goes to a relay.
import { InterruptedError, NetworkError, NotFoundError, UsageError, XrpcError, PdsctlError } from '../errors.js'
import { parsePdsUrl } from '../pds/urls.js'
import { parseRetryAfter, type PdsClient, type RawResponse } from '../pds/xrpcClient.js'
import { compareTids, tidTimestampMs } from './tid.js'
import { probeLatestSeq } from './firehoseSeq.js'
import { listRepoPages } from './repoPages.js'
import { emptyIndex, findAccountLimit, indexPage, type AccountLimit, type ActiveIndex } from './hostLimit.js'

export const DEFAULT_RELAY = 'https://bsky.network'

/** Every relay failed; the per-relay report is already printed (exit 1, no second JSON document). */
export class AllRelaysFailedError extends NetworkError {
  override readonly reported = true
}

export function parseRelayUrl(input: string): string {
  return parsePdsUrl(input, { what: 'relay URL', readOnly: true })
}

export function parseHostname(input: string): string {
  const h = input.trim().toLowerCase()
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/.test(h)) {
    throw new UsageError(`"${input}" is not a hostname`, { hint: 'Give the PDS hostname without https://, e.g. pds.example.com' })
  }
  return h
}

/** The relays to use: the ones named, else PDS_CRAWLERS, else the default; each checked, duplicates dropped. */
export function pickRelays(named: string[] | undefined, crawlers: string[]): string[] {
  const list = named?.length ? named : crawlers.length ? crawlers : [DEFAULT_RELAY]
  return [...new Set(list.map(parseRelayUrl))]
}

/** The one-line text of an error answer (XRPC name and message, else the HTTP status). */
function answerError(res: RawResponse): { name?: string; line: string } {
  const body = res.body as { error?: unknown; message?: unknown } | undefined
  if (body && typeof body === 'object' && typeof body.error === 'string') {
    return { name: body.error, line: `${body.error}${typeof body.message === 'string' && body.message ? `: ${body.message}` : ''} (HTTP ${res.status})` }
  }
  return { line: `HTTP ${res.status} without an XRPC error body` }
}

function errLine(err: unknown): string {
  return err instanceof PdsctlError ? err.message : String(err)
}

// ---------------------------------------------------------------------------------------
// requestCrawl, retried with exponential backoff

export interface CrawlOptions {
  /** Attempts per relay, the first included (default 4). */
  attempts?: number
  /** Give up on a relay once this much time has gone by (default 60 s). */
  maxTimeMs?: number
  /** The first backoff delay; it doubles each retry (default 1 s). */
  baseDelayMs?: number
  /** For tests and status lines: called before each wait. */
  onRetry?: (relay: string, attempt: number, delayMs: number, why: string) => void
  sleep?: (ms: number) => Promise<void>
}

/** One relay's answer (`pdsctl request-crawl --json` is an array of these). */
export interface CrawlResult {
  relay: string
  hostname: string
  ok: boolean
  /** Requests sent to this relay. */
  attempts: number
  /** The last error, when ok is false. */
  error?: string
  /** The XRPC error name of the last answer, when there was one (e.g. HostBanned). */
  xrpcError?: string
}

/**
 * POST {hostname} to each relay, in parallel. A refused/reset connection, a timeout, a 5xx
 * or a 429 is retried (429: after its Retry-After when that fits the time budget); any
 * other 4xx (HostBanned, InvalidRequest) is final. Never throws for a relay's failure.
 */
export async function requestCrawl(relays: PdsClient[], hostname: string, opts: CrawlOptions = {}): Promise<CrawlResult[]> {
  return Promise.all(relays.map((relay) => crawlOne(relay, hostname, opts)))
}

async function crawlOne(relay: PdsClient, hostname: string, opts: CrawlOptions): Promise<CrawlResult> {
  const attempts = Math.max(1, opts.attempts ?? 4)
  const maxTimeMs = opts.maxTimeMs ?? 60_000
  const base = opts.baseDelayMs ?? 1000
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  const started = Date.now()
  let last: { error: string; xrpcError?: string } = { error: 'not attempted' }
  for (let n = 1; ; n++) {
    let retryable: boolean
    let retryAfterMs: number | undefined
    try {
      const res = await relay.send({ method: 'POST', path: '/xrpc/com.atproto.sync.requestCrawl', body: { hostname }, auth: 'none', name: 'com.atproto.sync.requestCrawl' })
      if (res.status >= 200 && res.status < 300 && (res.body === undefined || res.json) && !res.contentType.includes('html')) {
        return { relay: relay.url, hostname, ok: true, attempts: n }
      }
      if (res.status >= 200 && res.status < 300) {
        // A login page or a proxy's stub answered: the relay never got the request.
        last = { error: `the relay answered HTTP ${res.status} with ${res.contentType || 'no content type'} instead of its JSON: a login page or proxy answered, the crawl was not requested` }
        retryable = false
      } else {
        const e = answerError(res)
        last = { error: e.line, xrpcError: e.name }
        retryable = res.status === 429 || res.status >= 500
      }
      if (res.status === 429) retryAfterMs = parseRetryAfter(res.headers['retry-after'])
    } catch (err) {
      last = { error: errLine(err) }
      retryable = true
    }
    const elapsed = Date.now() - started
    const delay = retryAfterMs ?? base * 2 ** (n - 1)
    if (!retryable || n >= attempts || elapsed + delay > maxTimeMs) {
      const why =
        retryable && n < attempts ? ` (gave up: the next try, in ${Math.ceil(delay / 1000)} s, would pass the ${Math.round(maxTimeMs / 1000)} s limit)` : ''
      return { relay: relay.url, hostname, ok: false, attempts: n, error: last.error + why, ...(last.xrpcError ? { xrpcError: last.xrpcError } : {}) }
    }
    opts.onRetry?.(relay.url, n, delay, last.error)
    await sleep(delay)
  }
}

/** Retry-After: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export { parseRetryAfter }

// ---------------------------------------------------------------------------------------
// getHostStatus per relay, beside the PDS's own account count

export const HOST_STATUSES = ['active', 'idle', 'offline', 'throttled', 'banned'] as const

/** One relay's view of this host (`relays[]` of `pdsctl relay status --json`). */
export interface RelayHostStatus {
  relay: string
  /** The relay answered (known or not); false when it failed (then `error`). */
  ok: boolean
  /** The relay knows this host (false on HostNotFound). */
  known: boolean
  status: string | null
  accountCount: number | null
  seq: number | null
  /** The PDS's latest seq minus the relay's (events the relay has not recorded); negative: the relay's cursor is past the PDS's. */
  seqBehind: number | null
  /**
   * The relay's per-host account limit as seen from here (hostLimit.ts): the first
   * `accounts` active accounts (creation order) are active there, the `throttled` after them
   * are throttled. null when the newest active account is not throttled (or it was not checked).
   */
  accountLimit: AccountLimit | null
  /** Why the limit could not be checked (the relay did not answer a probe), else null. */
  accountLimitError: string | null
  error: string | null
}

export async function relayHostStatus(relay: PdsClient, hostname: string): Promise<RelayHostStatus> {
  const none = { relay: relay.url, known: false, status: null, accountCount: null, seq: null, seqBehind: null, accountLimit: null, accountLimitError: null }
  try {
    const res = await relay.send({ method: 'GET', path: '/xrpc/com.atproto.sync.getHostStatus', query: { hostname }, auth: 'none', name: 'com.atproto.sync.getHostStatus' })
    if (res.status === 200) {
      const b = res.body as { hostname?: unknown; seq?: unknown; accountCount?: unknown; status?: unknown } | undefined
      if (!b || typeof b !== 'object' || typeof b.hostname !== 'string') {
        return { ...none, ok: false, error: 'getHostStatus answered 200 without the lexicon\'s {hostname, …} body' }
      }
      return {
        relay: relay.url,
        ok: true,
        known: true,
        status: typeof b.status === 'string' ? b.status : null,
        accountCount: typeof b.accountCount === 'number' ? b.accountCount : null,
        seq: typeof b.seq === 'number' ? b.seq : null,
        seqBehind: null,
        accountLimit: null,
        accountLimitError: null,
        error: null,
      }
    }
    const e = answerError(res)
    if (e.name === 'HostNotFound') return { ...none, ok: true, error: null }
    return { ...none, ok: false, error: `getHostStatus: ${e.line}` }
  } catch (err) {
    return { ...none, ok: false, error: errLine(err) }
  }
}

/** What the PDS itself says (`pds` of `pdsctl relay status --json`). */
export interface PdsHostSide {
  /** Repos listed by com.atproto.sync.listRepos (taken-down and deactivated included). */
  accounts: number | null
  /** Of those, the ones with active: true (what a relay should count). */
  activeAccounts: number | null
  /**
   * The PDS's latest firehose seq. The PDS publishes it only inside the
   * com.atproto.sync.subscribeRepos stream: pdsctl finds it by probing cursors there
   * (see firehoseSeq.ts); null when that failed (seqSource says why).
   */
  seq: number | null
  seqSource: string
  error: string | null
}

/** Count the PDS's repos page by page (memory flat in the number of accounts). */
export async function pdsHostSide(client: PdsClient): Promise<PdsHostSide> {
  return (await countRepos(client)).side
}

/** The count, and what the account-limit bisection needs (one DID per listRepos page). */
async function countRepos(client: PdsClient, pageSize = 1000): Promise<{ side: PdsHostSide; index: ActiveIndex | null }> {
  const seqSource = 'not probed'
  try {
    let accounts = 0
    const index = emptyIndex(pageSize)
    for await (const page of listRepoPages(client, { pageSize })) {
      accounts += page.repos.length
      indexPage(index, page.cursor, page.repos)
    }
    return { side: { accounts, activeAccounts: index.active, seq: null, seqSource, error: null }, index }
  } catch (err) {
    if (err instanceof InterruptedError) throw err
    return { side: { accounts: null, activeAccounts: null, seq: null, seqSource, error: err instanceof PdsctlError ? err.line : String(err) }, index: null }
  }
}

/** `pdsctl relay status --json`. */
export interface HostStatusReport {
  hostname: string
  pds: PdsHostSide
  relays: RelayHostStatus[]
}

export async function hostStatusReport(
  pds: PdsClient | undefined,
  relays: PdsClient[],
  hostname: string,
  opts: { probeSeq?: boolean; checkLimit?: boolean; debug?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<HostStatusReport> {
  const [counted, ...rs] = await Promise.all([
    pds ? countRepos(pds) : Promise.resolve({ side: { accounts: null, activeAccounts: null, seq: null, seqSource: 'no PDS URL given', error: 'no PDS URL given' } as PdsHostSide, index: null }),
    ...relays.map((r) => relayHostStatus(r, hostname)),
  ])
  const { side, index } = counted as { side: PdsHostSide; index: ActiveIndex | null }
  const relayRows = rs as RelayHostStatus[]
  if (pds && index && opts.checkLimit !== false) {
    // Is the newest account throttled at a relay that follows this host? Then find where the limit cut in.
    await Promise.all(
      relays.map(async (client, k) => {
        const r = relayRows[k]
        if (!r.ok || !r.known || r.status === 'banned') return
        try {
          r.accountLimit = await findAccountLimit(pds, client, index, opts.signal)
        } catch (err) {
          if (err instanceof InterruptedError) throw err
          r.accountLimitError = err instanceof Error ? err.message : String(err)
          opts.debug?.(`${r.relay}: account limit not checked: ${r.accountLimitError}`)
        }
      }),
    )
  }
  if (pds && opts.probeSeq !== false) {
    // Start from the lowest seq a relay reports: the search then costs ~2·log2(gap) probes.
    const seqs = relayRows.map((r) => r.seq).filter((x): x is number => x !== null)
    const p = await probeLatestSeq(pds.url, { from: seqs.length ? Math.min(...seqs) : 0, onProbe: (c, a) => opts.debug?.(`subscribeRepos?cursor=${c}: ${a}`), debug: opts.debug })
    side.seq = p.seq
    side.seqSource = p.seq === null ? `subscribeRepos cursor probe failed: ${p.error}` : `subscribeRepos cursor probe (${p.probes} connection${p.probes === 1 ? '' : 's'})`
    if (p.seq !== null) for (const r of relayRows) if (r.seq !== null) r.seqBehind = p.seq - r.seq
  }
  return { hostname, pds: side, relays: relayRows }
}

export interface HostAdvice {
  severity: 'warn' | 'fail'
  problem: string
  fix: string
}

/** A relay run by Bluesky (bsky.network and its relay1.….bsky.network hosts). */
export function isBlueskyRelay(relayUrl: string): boolean {
  const h = new URL(relayUrl).hostname
  return h === 'bsky.network' || h.endsWith('.bsky.network')
}

/** What to do about one relay's view of the host (most pressing first): empty when nothing is needed. */
export function hostAdvice(r: RelayHostStatus, hostname: string, bin = 'pdsctl'): HostAdvice[] {
  const crawl = `\`${bin} request-crawl ${r.relay}\``
  if (!r.ok) return [{ severity: 'warn', problem: `could not ask ${r.relay}: ${r.error}`, fix: 'Check the relay URL (PDS_CRAWLERS / --relay) and try again later' }]
  if (!r.known) return [{ severity: 'fail', problem: `${r.relay} does not know ${hostname} (HostNotFound): it is not following this PDS`, fix: `Ask it to with ${crawl}` }]
  const out: HostAdvice[] = []
  if (r.seqBehind !== null && r.seqBehind < 0 && r.seq !== null) {
    const pdsSeq = r.seq + r.seqBehind
    out.push({
      severity: 'fail',
      problem: `${r.relay}'s cursor for ${hostname} is seq ${r.seq}, past the PDS's latest seq ${pdsSeq} (by ${-r.seqBehind}): the PDS's event sequence went back (a recreated or restored database), and the relay ignores its new events until they are numbered above ${r.seq}`,
      fix: `Stop the PDS, run \`${bin} relay fix-desync --data-dir /pds --to-seq ${r.seq}\` on its host (with --kube-* it prints the steps for Kubernetes), start the PDS, then ${crawl}`,
    })
  }
  if (r.accountLimit) {
    const { accounts, throttled } = r.accountLimit
    const list = `\`${bin} relay accounts --relay ${r.relay} --problem throttled --output did\``
    out.push({
      severity: 'fail',
      problem: `${r.relay} limits ${hostname} to ${accounts} account${accounts === 1 ? '' : 's'}: the ${throttled} newest active account${throttled === 1 ? ' is' : 's are'} throttled there (created after the first ${accounts}${r.accountCount === null ? '' : `; the relay counts ${r.accountCount} accounts for this host`}), so nothing they post reaches the network`,
      fix: isBlueskyRelay(r.relay)
        ? `Ask Bluesky to raise it: bsky.network allows 100 accounts per new host and raises the limit for growing PDSes on request (docs.bsky.app, "Rate Limits"). Operators ask in an issue at https://github.com/bluesky-social/pds/issues titled "Relay throttle reset request: ${hostname}", saying why the accounts are real (invite-only or verified sign-ups, spam removed) and listing the throttled DIDs: ${list}`
        : `Ask the relay's operator to raise it (on a relay you run: \`RELAY_HOST=${r.relay} goat relay admin host config --account-limit N ${hostname}\`), with the throttled DIDs: ${list}`,
    })
  }
  if (r.accountLimitError) {
    // Said, not only in --json and --debug: a silent failure here reads as "no limit".
    out.push({
      severity: 'warn',
      problem: `could not check whether ${r.relay} limits ${hostname}'s accounts: ${r.accountLimitError}`,
      fix: `Try again later, or list the throttled accounts one by one: \`${bin} relay accounts --relay ${r.relay} --problem throttled\``,
    })
  }
  switch (r.status) {
    case 'active':
      break
    case 'idle':
    case 'offline':
      out.push({
        severity: 'fail',
        problem: `${r.relay} has ${hostname} as ${r.status}: it stopped following this PDS and will not retry on its own`,
        fix: `Check that the firehose is reachable (doctor's websocket check), then ask again with ${crawl}`,
      })
      break
    case 'throttled':
    case 'banned':
      out.push({
        severity: 'fail',
        problem: `${r.relay} has ${hostname} as ${r.status}`,
        fix: `A ${r.status} host needs the relay's operator (for bsky.network, Bluesky support); a requestCrawl does not lift it`,
      })
      break
    default:
      out.push({ severity: 'warn', problem: `${r.relay} reports ${hostname} with status ${r.status ?? '(none)'}`, fix: `Ask again with ${crawl}` })
  }
  return out
}

// ---------------------------------------------------------------------------------------
// One account: the relay's getRepoStatus rev against the PDS's getLatestCommit rev

/** The PDS's side of `pdsctl relay account --json`. */
export interface PdsRepoSide {
  rev: string | null
  cid: string | null
  /** getLatestCommit's error name when the repo is taken down, deactivated or unknown. */
  error: string | null
}

export interface RelayRepoStatus {
  relay: string
  ok: boolean
  /** The relay knows this repo (false on RepoNotFound). */
  known: boolean
  active: boolean | null
  status: string | null
  rev: string | null
  /** in-sync | behind | ahead | unknown (no rev to compare). */
  sync: 'in-sync' | 'behind' | 'ahead' | 'unknown'
  /** How far the relay's rev is behind the PDS's, by the revs' TID clocks (ms), when behind. */
  behindMs: number | null
  error: string | null
}

export interface AccountSyncReport {
  did: string
  pds: PdsRepoSide
  relays: RelayRepoStatus[]
}

export async function pdsLatestCommit(pds: PdsClient, did: string): Promise<PdsRepoSide> {
  try {
    const res = await pds.call({ method: 'GET', path: '/xrpc/com.atproto.sync.getLatestCommit', query: { did }, auth: 'none', name: 'com.atproto.sync.getLatestCommit' })
    const b = res.body as { cid?: unknown; rev?: unknown } | undefined
    if (!b || typeof b.rev !== 'string' || typeof b.cid !== 'string') throw new PdsctlError('getLatestCommit answered without {cid, rev}')
    return { rev: b.rev, cid: b.cid, error: null }
  } catch (err) {
    if (err instanceof XrpcError && err.xrpcName === 'RepoNotFound') {
      throw new NotFoundError(`this PDS does not host ${did} (RepoNotFound${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, { hint: 'Check the account; `pdsctl account list` shows them all' })
    }
    if (err instanceof XrpcError && err.xrpcName && err.status < 500) return { rev: null, cid: null, error: err.xrpcName + (err.xrpcMessage ? `: ${err.xrpcMessage}` : '') }
    throw err
  }
}

export async function relayRepoStatus(relay: PdsClient, did: string, pdsRev: string | null): Promise<RelayRepoStatus> {
  const none = { relay: relay.url, known: false, active: null, status: null, rev: null, sync: 'unknown' as const, behindMs: null }
  try {
    const res = await relay.send({ method: 'GET', path: '/xrpc/com.atproto.sync.getRepoStatus', query: { did }, auth: 'none', name: 'com.atproto.sync.getRepoStatus' })
    if (res.status === 200) {
      const b = res.body as { did?: unknown; active?: unknown; status?: unknown; rev?: unknown } | undefined
      if (!b || typeof b !== 'object' || b.did !== did || typeof b.active !== 'boolean') {
        return { ...none, ok: false, error: "getRepoStatus answered 200 without the lexicon's {did, active} body for this DID" }
      }
      const rev = typeof b.rev === 'string' ? b.rev : null
      let sync: RelayRepoStatus['sync'] = 'unknown'
      let behindMs: number | null = null
      if (rev && pdsRev) {
        const c = compareTids(rev, pdsRev)
        sync = c === 0 ? 'in-sync' : c < 0 ? 'behind' : 'ahead'
        if (c < 0) behindMs = Math.round(tidTimestampMs(pdsRev) - tidTimestampMs(rev))
      }
      return { relay: relay.url, ok: true, known: true, active: b.active, status: typeof b.status === 'string' ? b.status : null, rev, sync, behindMs, error: null }
    }
    const e = answerError(res)
    if (e.name === 'RepoNotFound') return { ...none, ok: true, error: null }
    return { ...none, ok: false, error: `getRepoStatus: ${e.line}` }
  } catch (err) {
    return { ...none, ok: false, error: errLine(err) }
  }
}

export async function accountSyncReport(pds: PdsClient, relays: PdsClient[], did: string): Promise<AccountSyncReport> {
  const side = await pdsLatestCommit(pds, did)
  const rs = await Promise.all(relays.map((r) => relayRepoStatus(r, did, side.rev)))
  return { did, pds: side, relays: rs }
}
