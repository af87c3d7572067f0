// Invite codes: creating them in one createInviteCodes call.
import { PdsctlError, UsageError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'

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
 * Every invite code, newest first, paged with cursors (500 a page), filtered here; one
 * page at a time is held. A repeated cursor, or a page with no code the previous page did
 * not have, ends the listing with an error (a broken server would loop forever).
 */
export async function* listInvites(client: PdsClient, opts: { filter?: InviteFilter; forDid?: string; pageSize?: number } = {}): AsyncGenerator<InviteSummary[]> {
  const CALL = 'com.atproto.admin.getInviteCodes'
  const hint = 'The PDS or a proxy in front of it is paging wrongly; report it to whoever runs it'
  const cursors = new Set<string>()
  let previous = new Set<string>()
  let cursor: string | undefined
  do {
    const page = await client.query(CALL, { sort: 'recent', limit: opts.pageSize ?? 500, cursor }, 'admin')
    if (!page || !Array.isArray(page.codes)) throw new PdsctlError(`the PDS answered ${CALL} without codes`, { hint: 'Is --url really a PDS?' })
    if (page.codes.length && page.codes.every((c) => previous.has(c.code))) {
      throw new PdsctlError(`${CALL} sent a page with no new codes (cursor ${cursor ?? 'none'}); stopped the listing instead of looping`, { hint })
    }
    previous = new Set(page.codes.map((c) => c.code))
    const rows = page.codes.map((c) => ({
      code: c.code,
      available: c.available,
      used: c.uses.length,
      disabled: c.disabled,
      forAccount: c.forAccount,
      createdBy: c.createdBy,
      createdAt: c.createdAt,
      usedBy: c.uses.map((u) => u.usedBy),
    }))
    yield rows.filter((r) => matches(r, opts.filter ?? 'all', opts.forDid))
    cursor = page.codes.length ? page.cursor : undefined
    if (cursor !== undefined) {
      if (cursors.has(cursor)) throw new PdsctlError(`${CALL} repeated the cursor ${cursor}; stopped the listing instead of looping`, { hint })
      cursors.add(cursor)
    }
  } while (cursor)
}

export async function disableInvites(client: PdsClient, input: { codes?: string[]; accounts?: string[] }): Promise<void> {
  if (!input.codes?.length && !input.accounts?.length) throw new UsageError('name the codes to disable, or --for ACCOUNT')
  await client.procedure('com.atproto.admin.disableInviteCodes', { codes: input.codes, accounts: input.accounts }, 'admin')
}
