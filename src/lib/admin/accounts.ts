// Accounts: resolving a handle or DID to an account, and listing every account with
// handle and email. Listing pages through sync.listRepos with cursors (1000 a page) and
// enriches each page with batched admin.getAccountInfos (100 DIDs a call, a few in
// flight), prefetching the next page while the current one is enriched.
import { NotFoundError, XrpcError } from '../errors.js'
import { parseAccountRef, type AccountRef } from '../pds/identifiers.js'
import type { AdminDefs, Queries } from '../pds/lexicon.js'
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

export interface ListOptions {
  /** listRepos page size, 1–1000. */
  pageSize?: number
  /** DIDs per getAccountInfos call. */
  batchSize?: number
  /** getAccountInfos calls in flight. */
  concurrency?: number
  /** Stop after this many accounts. */
  limit?: number
}

type RepoEntry = { did: string; active?: boolean; status?: string }

/** Yields pages of accounts, in listRepos order, until every account has been seen. */
export async function* listAccounts(client: PdsClient, opts: ListOptions = {}): AsyncGenerator<AccountSummary[]> {
  const pageSize = opts.pageSize ?? 1000
  const limit = opts.limit ?? Infinity
  let seen = 0
  const fetchPage = (cursor?: string): Promise<Queries['com.atproto.sync.listRepos']['output']> =>
    client.query('com.atproto.sync.listRepos', { limit: Math.min(pageSize, limit), cursor }, 'none')

  let next: ReturnType<typeof fetchPage> | undefined = fetchPage(undefined)
  while (next) {
    const page: Awaited<ReturnType<typeof fetchPage>> = await next
    const repos = page.repos.slice(0, Math.max(0, limit - seen))
    seen += repos.length
    // Prefetch the next page while this one is being enriched.
    next = page.cursor && page.repos.length > 0 && seen < limit ? fetchPage(page.cursor) : undefined
    // Its failure is reported when it is awaited; until then it must not count as unhandled.
    next?.catch(() => {})
    if (repos.length === 0) continue
    const infos = await getAccountInfos(client, repos.map((r) => r.did), opts)
    yield repos.map((r) => toSummary(r, infos.get(r.did)))
  }
}

/** admin.getAccountInfos in batches; unknown DIDs are simply absent from the map. */
export async function getAccountInfos(
  client: PdsClient,
  dids: string[],
  opts: { batchSize?: number; concurrency?: number } = {},
): Promise<Map<string, AdminDefs.AccountView>> {
  const batchSize = opts.batchSize ?? 100
  const concurrency = opts.concurrency ?? 4
  const batches: string[][] = []
  for (let i = 0; i < dids.length; i += batchSize) batches.push(dids.slice(i, i + batchSize))
  const out = new Map<string, AdminDefs.AccountView>()
  let nextBatch = 0
  const worker = async () => {
    while (nextBatch < batches.length) {
      const batch = batches[nextBatch++]
      const res = await client.query('com.atproto.admin.getAccountInfos', { dids: batch }, 'admin')
      for (const info of res.infos) out.set(info.did, info)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker))
  return out
}

function toSummary(repo: RepoEntry, info: AdminDefs.AccountView | undefined): AccountSummary {
  return {
    did: repo.did,
    handle: info?.handle ?? null,
    email: info?.email ?? null,
    emailConfirmed: Boolean(info?.emailConfirmedAt),
    emailConfirmedAt: info?.emailConfirmedAt ?? null,
    status: repo.active === false ? (repo.status ?? 'inactive') : 'active',
    createdAt: info?.indexedAt ?? null,
    deactivatedAt: info?.deactivatedAt ?? null,
    invitesDisabled: info?.invitesDisabled ?? false,
  }
}

/**
 * Resolve a handle (through the PDS itself, not public DNS) or check a DID's syntax.
 * The PDS does not resolve the handles of taken-down or deactivated accounts; with
 * `admin`, those are found in the admin view of every account instead.
 */
export async function resolveDid(client: PdsClient, ref: AccountRef | string, opts: { admin?: boolean } = {}): Promise<string> {
  const r = typeof ref === 'string' ? parseAccountRef(ref) : ref
  if (r.kind === 'did') return r.did
  try {
    const res = await client.query('com.atproto.identity.resolveHandle', { handle: r.handle }, 'none')
    return res.did
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400 && opts.admin) {
      for await (const page of listAccounts(client)) {
        const hit = page.find((a) => a.handle === r.handle)
        if (hit) return hit.did
      }
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
  try {
    return await client.query('com.atproto.admin.getAccountInfo', { did }, 'admin')
  } catch (err) {
    if (err instanceof XrpcError && (err.exitCode === 4 || /not found/i.test(err.xrpcMessage ?? ''))) {
      throw new NotFoundError(`no account ${did} on this PDS`, { hint: '`pdsctl account list` shows them all' })
    }
    throw err
  }
}
