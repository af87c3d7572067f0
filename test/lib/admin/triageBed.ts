// Planting what spam triage looks for on the real test-bed PDS: invite chains, confirmed
// and unconfirmed emails (through the real confirm-email flow), no email, taken-down and
// deactivated accounts, and old sign-ups.
import type { SeededAccount, TestBed } from '../../bed/pds.js'
import { xrpc } from '../../bed/pds.js'

const CODE_RE = /[A-Z0-9]{5}-[A-Z0-9]{5}/

/** Codes for an account, made by the admin (`createInviteCodes` with forAccounts). */
export async function giveCodes(bed: TestBed, did: string, count = 1, uses = 1): Promise<string[]> {
  const res = await xrpc(bed.url, 'com.atproto.server.createInviteCodes', { codeCount: count, useCount: uses, forAccounts: [did] }, bed.adminPassword)
  return res.codes[0].codes
}

/** A code from the admin's own pool. */
export async function adminCode(bed: TestBed, uses = 1): Promise<string> {
  return (await xrpc(bed.url, 'com.atproto.server.createInviteCode', { useCount: uses }, bed.adminPassword)).code
}

/** Sign up with an invite code, as a user would (no admin credential). */
export async function signUp(bed: TestBed, name: string, inviteCode: string, email = `${name}@example.com`): Promise<SeededAccount> {
  const handle = `${name}${bed.handleDomain}`
  const password = `pw-${name}-123456`
  const res = await xrpc(bed.url, 'com.atproto.server.createAccount', { handle, email, password, inviteCode })
  return { did: res.did, handle: res.handle, email, password }
}

/** The real flow: log in as the account, have the PDS mail a code, confirm with it. */
export async function confirmEmail(bed: TestBed, a: SeededAccount): Promise<void> {
  const session = await xrpc(bed.url, 'com.atproto.server.createSession', { identifier: a.did, password: a.password })
  const since = bed.mail.messages.length
  const auth = { authorization: `Bearer ${session.accessJwt}` }
  const sent = await fetch(`${bed.url}/xrpc/com.atproto.server.requestEmailConfirmation`, { method: 'POST', headers: auth })
  if (!sent.ok) throw new Error(`requestEmailConfirmation: ${sent.status} ${await sent.text()}`)
  const mail = await bed.mail.waitFor(a.email, { since })
  const token = CODE_RE.exec(mail.text)?.[0]
  if (!token) throw new Error('no code in the confirmation mail')
  const res = await fetch(`${bed.url}/xrpc/com.atproto.server.confirmEmail`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ email: a.email, token }),
  })
  if (!res.ok) throw new Error(`confirmEmail: ${res.status} ${await res.text()}`)
}

export async function setEmail(bed: TestBed, did: string, email: string): Promise<void> {
  await xrpc(bed.url, 'com.atproto.admin.updateAccountEmail', { account: did, email }, bed.adminPassword)
}

export async function takedown(bed: TestBed, did: string): Promise<void> {
  await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did }, takedown: { applied: true } }, bed.adminPassword)
}

export async function deactivate(bed: TestBed, did: string): Promise<void> {
  await xrpc(bed.url, 'com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did }, deactivated: { applied: true } }, bed.adminPassword)
}

/**
 * Move an account's sign-up time (the accountView's indexedAt, the actor row's createdAt)
 * into the past. No API can; this writes the real PDS's own account database, so every
 * read path (listRepos, getAccountInfos) sees it as a server would.
 */
export async function backdate(bed: TestBed, did: string, when: Date): Promise<void> {
  const db = (bed.pds.ctx.accountManager as unknown as { db: { db: any } }).db.db
  await db.updateTable('actor').set({ createdAt: when.toISOString() }).where('did', '=', did).execute()
}

/** The admin's view of one account. */
export async function adminView(bed: TestBed, did: string): Promise<any> {
  const res = await fetch(`${bed.url}/xrpc/com.atproto.admin.getAccountInfo?did=${encodeURIComponent(did)}`, {
    headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
  })
  if (!res.ok) throw new Error(`getAccountInfo: ${res.status}`)
  return res.json()
}

export async function subjectStatus(bed: TestBed, did: string): Promise<any> {
  const res = await fetch(`${bed.url}/xrpc/com.atproto.admin.getSubjectStatus?did=${encodeURIComponent(did)}`, {
    headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
  })
  if (!res.ok) throw new Error(`getSubjectStatus: ${res.status}`)
  return res.json()
}

/** Every invite code as the PDS lists it. */
export async function allCodes(bed: TestBed): Promise<any[]> {
  const out: any[] = []
  let cursor: string | undefined
  do {
    const q = new URLSearchParams({ sort: 'recent', limit: '500', ...(cursor ? { cursor } : {}) })
    const res = await fetch(`${bed.url}/xrpc/com.atproto.admin.getInviteCodes?${q}`, {
      headers: { authorization: 'Basic ' + Buffer.from(`admin:${bed.adminPassword}`).toString('base64') },
    })
    const body: any = await res.json()
    out.push(...body.codes)
    cursor = body.codes.length ? body.cursor : undefined
  } while (cursor)
  return out
}
