// Invite codes: creating them in one createInviteCodes call.
import { UsageError } from './errors.js'
import type { PdsClient } from './xrpcClient.js'

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
