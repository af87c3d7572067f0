// Invite codes: creating them in one createInviteCodes call.
import { BadResponseError, NotFoundError, UsageError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import type { Queries } from '../pds/lexicon.js'

/** One created code (the documented JSON shape of `invite create`). */
export interface CreatedInvite {
  code: string
  uses: number
  /** The DID the code was made for, or null for the admin's own pool. */
  forAccount: string | null
}

export async function createInvites(
  client: PdsClient,
  input: { count: number; uses: number; forAccounts?: string[] },
): Promise<CreatedInvite[]> {
  if (input.count < 1 || input.uses < 1) throw new UsageError('--count and --uses must be at least 1')
  const res = await client.procedure(
    'com.atproto.server.createInviteCodes',
    { codeCount: input.count, useCount: input.uses, forAccounts: input.forAccounts },
    'admin',
  )
  const out: CreatedInvite[] = []
  for (const group of res.codes) {
    for (const code of group.codes) {
      out.push({ code, uses: input.uses, forAccount: group.account.startsWith('did:') ? group.account : null })
    }
  }
  return out
}

/** One row of `pdsctl invite list` (its JSON shape). */
export interface InviteSummary {
  code: string
  /** Uses left. */
  available: number
  used: number
  disabled: boolean
  forAccount: string
  createdBy: string
  createdAt: string
  usedBy: string[]
}

export type InviteFilter = 'all' | 'available' | 'used' | 'disabled'

function matches(i: InviteSummary, filter: InviteFilter, forDid?: string): boolean {
  if (forDid && i.forAccount !== forDid) return false
  switch (filter) {
    case 'available':
      return !i.disabled && i.available - i.used > 0
    case 'used':
      return i.used > 0
    case 'disabled':
      return i.disabled
    default:
      return true
  }
}

/**
 * Every invite code, newest first, paged with cursors (500 a page), filtered here. A PDS (or
 * something in front of it) that repeats a cursor, or answers without `codes`, ends the
 * listing with an error instead of looping or printing nonsense.
 */
export async function* listInvites(client: PdsClient, opts: { filter?: InviteFilter; forDid?: string; pageSize?: number } = {}): AsyncGenerator<InviteSummary[]> {
  const nsid = 'com.atproto.admin.getInviteCodes'
  const seenCursors = new Set<string>()
  // The previous page's codes only (flat memory): a page with nothing new is a loop too.
  let previous = new Set<string>()
  let cursor: string | undefined
  do {
    // Typed as what the lexicon promises, checked as what may really come.
    const page = (await client.query(nsid, { sort: 'recent', limit: opts.pageSize ?? 500, cursor }, 'admin')) as Partial<Queries[typeof nsid]['output']> | undefined
    if (!page || !Array.isArray(page.codes)) {
      throw new BadResponseError(`the PDS answered ${nsid} without codes`, { hint: 'Is --url really a PDS? A proxy in front of it may be answering instead' })
    }
    if (page.codes.length && page.codes.every((c) => previous.has(c?.code))) {
      throw new BadResponseError(`the PDS answered ${nsid} with a page of codes it had already sent (cursor "${cursor}"); stopped to avoid listing the same codes forever`, {
        hint: 'A proxy or cache in front of the PDS may be ignoring the cursor parameter',
      })
    }
    previous = new Set(page.codes.map((c) => c?.code))
    const rows = page.codes.map((c) => {
      if (typeof c?.code !== 'string' || !Array.isArray(c.uses)) throw new BadResponseError(`the PDS answered ${nsid} with an invite code without code or uses`)
      return {
        code: c.code,
        available: c.available,
        used: c.uses.length,
        disabled: c.disabled,
        forAccount: c.forAccount,
        createdBy: c.createdBy,
        createdAt: c.createdAt,
        usedBy: c.uses.map((u) => u.usedBy),
      }
    })
    yield rows.filter((r) => matches(r, opts.filter ?? 'all', opts.forDid))
    cursor = page.codes.length && typeof page.cursor === 'string' ? page.cursor : undefined
    if (cursor !== undefined) {
      if (seenCursors.has(cursor)) {
        throw new BadResponseError(`the PDS answered ${nsid} with the cursor "${cursor}" a second time; stopped to avoid listing the same codes forever`, {
          hint: 'A proxy or cache in front of the PDS may be ignoring the cursor parameter',
        })
      }
      seenCursors.add(cursor)
    }
  } while (cursor)
}

export async function disableInvites(client: PdsClient, input: { codes?: string[]; accounts?: string[] }): Promise<void> {
  if (!input.codes?.length && !input.accounts?.length) throw new UsageError('name the codes to disable, or --for ACCOUNT')
  await client.procedure('com.atproto.admin.disableInviteCodes', { codes: input.codes, accounts: input.accounts }, 'admin')
}

/**
 * The PDS disables unknown codes silently (200, nothing happens), so check first that every
 * code exists: one pass over getInviteCodes (newest first), stopping as soon as all are
 * seen; only the codes asked about are kept. NotFoundError (exit 4) names the unknown ones.
 */
export async function ensureInvitesExist(client: PdsClient, codes: string[]): Promise<void> {
  const missing = new Set(codes)
  if (!missing.size) return
  for await (const page of listInvites(client)) {
    for (const row of page) missing.delete(row.code)
    if (!missing.size) return
  }
  const unknown = [...missing]
  throw new NotFoundError(`no invite code ${unknown.join(', ')} on this PDS${unknown.length < codes.length ? ` (${codes.length - unknown.length} of ${codes.length} exist; nothing was disabled)` : ''}`, {
    hint: 'Check the spelling; `pdsctl invite list` shows every code',
  })
}
