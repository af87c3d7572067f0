// The PDS's repos page by page (com.atproto.sync.listRepos, anonymous): did, rev, active and
// status of every account, in the PDS's creation order (createdAt, then DID), without
// holding more than a page. A server that pages wrongly (a repeated cursor, a page of
// nothing new) ends the listing with an error instead of a loop.
import { PdsctlError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** One listRepos entry, as pdsctl reads it. */
export interface RepoListing {
  did: string
  /** The repo's current rev (a TID); null when the PDS gave none (or an empty one). */
  rev: string | null
  active: boolean
  /** Why it is not active (takendown, deactivated, suspended, …); null when active. */
  status: string | null
}

export interface RepoPage {
  repos: RepoListing[]
  /** The cursor this page was asked for with (undefined: the first page): asking again gives it again. */
  cursor: string | undefined
}

const LIST_REPOS = 'com.atproto.sync.listRepos'

export async function* listRepoPages(client: PdsClient, opts: { pageSize?: number; cursor?: string } = {}): AsyncGenerator<RepoPage> {
  const pageSize = opts.pageSize ?? 1000
  let cursor = opts.cursor
  const seen = new Set<string>()
  let previous = new Set<string>()
  // One page ahead: the next listRepos is in flight while the caller works on this one.
  let next: Promise<RepoPage & { next?: string }> | undefined = fetchPage(client, pageSize, cursor)
  while (next) {
    const page = await next
    next = undefined
    if (page.repos.length === 0) return
    if (page.repos.every((r) => previous.has(r.did))) {
      throw new PdsctlError(`${LIST_REPOS} sent a page with no new accounts (cursor ${page.cursor ?? 'none'}); stopped the listing instead of looping`, {
        hint: 'The PDS or a proxy in front of it is paging wrongly; report it to whoever runs it',
      })
    }
    previous = new Set(page.repos.map((r) => r.did))
    if (page.next) {
      if (seen.has(page.next)) {
        throw new PdsctlError(`${LIST_REPOS} repeated the cursor ${page.next}; stopped the listing instead of looping`, {
          hint: 'The PDS or a proxy in front of it is paging wrongly; report it to whoever runs it',
        })
      }
      seen.add(page.next)
      next = fetchPage(client, pageSize, page.next)
      next.catch(() => {}) // observed on the next turn (or dropped when the caller stops)
    }
    yield { repos: page.repos, cursor: page.cursor }
  }
}

/** One page; `next` is the cursor of the page after it (absent on the last). */
export async function fetchPage(client: PdsClient, pageSize: number, cursor: string | undefined): Promise<RepoPage & { next?: string }> {
  const page = await client.query(LIST_REPOS, { limit: pageSize, cursor }, 'none')
  if (!page || !Array.isArray(page.repos)) throw new PdsctlError(`the PDS answered ${LIST_REPOS} without repos`, { hint: 'Is --url really a PDS?' })
  const repos: RepoListing[] = []
  for (const r of page.repos as Array<{ did?: unknown; rev?: unknown; active?: unknown; status?: unknown }>) {
    if (!r || typeof r.did !== 'string' || !r.did.startsWith('did:')) throw new PdsctlError(`the PDS answered ${LIST_REPOS} with an entry without a DID`, { hint: 'Is --url really a PDS?' })
    const active = r.active !== false
    repos.push({
      did: r.did,
      rev: typeof r.rev === 'string' && r.rev ? r.rev : null,
      active,
      status: active ? null : typeof r.status === 'string' && r.status ? r.status : 'inactive',
    })
  }
  return { repos, cursor, next: typeof page.cursor === 'string' && page.cursor ? page.cursor : undefined }
}
