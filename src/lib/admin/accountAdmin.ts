// The admin verbs on one account: info, create, delete, takedown, deactivate, password,
// email/handle, invites. Each takes an account by handle or DID (resolved through the PDS)
// and returns what it did, in the shape the command prints as JSON.
import { getAccountInfo } from './accounts.js'
import { ExitCode, UsageError, XrpcError } from '../errors.js'
import { parseEmail, parseHandle, type AccountRef } from '../pds/identifiers.js'
import type { AdminDefs } from '../pds/lexicon.js'
import { generatePassword } from './passwords.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** `pdsctl account info --json`. */
export interface AccountInfo {
  did: string
  handle: string
  email: string | null
  emailConfirmedAt: string | null
  createdAt: string | null
  invitedBy: string | null
  invitesDisabled: boolean
  invites: Array<{ code: string; available: number; disabled: boolean; uses: number }>
  deactivatedAt: string | null
  takendown: boolean
  takedownRef: string | null
  /** From sync.getRepoStatus: active, or why not (takendown, deactivated, …). */
  repoStatus: string
  repoRev: string | null
}

export async function accountInfo(client: PdsClient, ref: AccountRef): Promise<AccountInfo> {
  const info = await getAccountInfo(client, ref)
  const [subject, repo] = await Promise.all([
    client.query('com.atproto.admin.getSubjectStatus', { did: info.did }, 'admin').catch(() => undefined),
    client.query('com.atproto.sync.getRepoStatus', { did: info.did }, 'none').catch(() => undefined),
  ])
  return {
    did: info.did,
    handle: info.handle,
    email: info.email ?? null,
    emailConfirmedAt: info.emailConfirmedAt ?? null,
    createdAt: info.indexedAt ?? null,
    invitedBy: info.invitedBy?.code ?? null,
    invitesDisabled: info.invitesDisabled ?? false,
    invites: (info.invites ?? []).map((i) => ({ code: i.code, available: i.available, disabled: i.disabled, uses: i.uses.length })),
    deactivatedAt: info.deactivatedAt ?? null,
    takendown: subject?.takedown?.applied ?? false,
    takedownRef: subject?.takedown?.ref ?? null,
    repoStatus: repo ? (repo.active ? 'active' : (repo.status ?? 'inactive')) : 'unknown',
    repoRev: repo?.rev ?? null,
  }
}

/** `pdsctl account create --json`. The password is present only when it was generated. */
export interface CreatedAccount {
  did: string
  handle: string
  email: string
  inviteCode: string | null
  password?: string
}

export async function createAccount(
  client: PdsClient,
  input: { handle: string; email: string; password?: string },
): Promise<CreatedAccount> {
  const handle = parseHandle(input.handle)
  const email = parseEmail(input.email)
  if (input.password !== undefined && input.password.length < 8) throw new UsageError('the password must be at least 8 characters')
  const server = await client.query('com.atproto.server.describeServer', {}, 'none')
  const domain = (server.availableUserDomains ?? []).find((d) => handle.endsWith(d.startsWith('.') ? d : `.${d}`))
  if (domain) {
    const label = handle.slice(0, handle.length - (domain.startsWith('.') ? domain.length : domain.length + 1))
    if (label.includes('.') || label.length < 3 || label.length > 18) {
      throw new UsageError(`"${handle}": the name before ${domain} must be one label of 3 to 18 characters`, { hint: 'Pick a shorter or longer name' })
    }
  }
  let inviteCode: string | null = null
  if (server.inviteCodeRequired) {
    inviteCode = (await client.procedure('com.atproto.server.createInviteCode', { useCount: 1 }, 'admin')).code
  }
  const generated = input.password === undefined
  const password = input.password ?? generatePassword()
  try {
    const res = await client.procedure('com.atproto.server.createAccount', { handle, email, password, inviteCode: inviteCode ?? undefined }, 'none')
    return { did: res.did, handle: res.handle, email, inviteCode, ...(generated ? { password } : {}) }
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400) {
      const hints: Record<string, string> = {
        HandleNotAvailable: 'That handle is taken or reserved; pick another (an admin can still give a reserved handle with `account update --handle`)',
        InvalidHandle: 'Check the handle, and that its domain is one of the PDS user domains (`pdsctl health`)',
        InvalidEmail: 'Check the email address (disposable addresses are refused)',
        InvalidPassword: 'Choose a longer password',
        InvalidInviteCode: 'The invite code was not accepted',
      }
      throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, {
        summary: `cannot create ${handle}`,
        hint: hints[err.xrpcName ?? ''],
        exitCode: ExitCode.USAGE,
      })
    }
    throw err
  }
}

/** What a one-account verb did (the JSON shape of delete, takedown, deactivate, …). */
export interface AccountActionResult {
  did: string
  handle: string | null
  action: string
  /** true when nothing was changed because of --dry-run. */
  dryRun: boolean
}

/** Resolve the account and check it exists (also the whole of a --dry-run). */
export async function resolveExisting(client: PdsClient, ref: AccountRef): Promise<{ did: string; handle: string | null; info: AdminDefs.AccountView }> {
  const info = await getAccountInfo(client, ref)
  return { did: info.did, handle: info.handle ?? null, info }
}

export type AccountAction =
  | { kind: 'delete' }
  | { kind: 'takedown'; ref?: string }
  | { kind: 'untakedown' }
  | { kind: 'deactivate' }
  | { kind: 'activate' }
  | { kind: 'invites'; enabled: boolean; note?: string }

export function actionName(a: AccountAction): string {
  return a.kind === 'invites' ? (a.enabled ? 'invites-enabled' : 'invites-disabled') : a.kind
}

export async function applyAccountAction(client: PdsClient, ref: AccountRef, action: AccountAction, opts: { dryRun?: boolean } = {}): Promise<AccountActionResult> {
  const { did, handle } = await resolveExisting(client, ref)
  const result = { did, handle, action: actionName(action), dryRun: Boolean(opts.dryRun) }
  if (opts.dryRun) return result
  const repoRef = { $type: 'com.atproto.admin.defs#repoRef' as const, did }
  switch (action.kind) {
    case 'delete':
      await client.procedure('com.atproto.admin.deleteAccount', { did }, 'admin')
      break
    case 'takedown':
      await client.procedure('com.atproto.admin.updateSubjectStatus', { subject: repoRef, takedown: { applied: true, ref: action.ref } }, 'admin')
      break
    case 'untakedown':
      await client.procedure('com.atproto.admin.updateSubjectStatus', { subject: repoRef, takedown: { applied: false } }, 'admin')
      break
    case 'deactivate':
    case 'activate':
      await client.procedure('com.atproto.admin.updateSubjectStatus', { subject: repoRef, deactivated: { applied: action.kind === 'deactivate' } }, 'admin')
      break
    case 'invites':
      await client.procedure(action.enabled ? 'com.atproto.admin.enableAccountInvites' : 'com.atproto.admin.disableAccountInvites', { account: did, note: action.note }, 'admin')
      break
  }
  return result
}

/** `pdsctl account reset-password --json`: the password only when generated. */
export interface PasswordResetResult extends AccountActionResult {
  password?: string
}

export async function resetPassword(client: PdsClient, ref: AccountRef, input: { password?: string; dryRun?: boolean }): Promise<PasswordResetResult> {
  if (input.password !== undefined && input.password.length < 8) throw new UsageError('the password must be at least 8 characters')
  const { did, handle } = await resolveExisting(client, ref)
  const base = { did, handle, action: 'reset-password', dryRun: Boolean(input.dryRun) }
  if (input.dryRun) return base
  const password = input.password ?? generatePassword()
  await client.procedure('com.atproto.admin.updateAccountPassword', { did, password }, 'admin')
  return input.password === undefined ? { ...base, password } : base
}

/** `pdsctl account update --json`. */
export interface AccountUpdateResult {
  did: string
  handle: string
  email: string | null
  changed: Array<'email' | 'handle'>
  /** A new email is unconfirmed until `pdsctl email confirm`. */
  emailNeedsConfirmation: boolean
  dryRun: boolean
}

export async function updateAccount(client: PdsClient, ref: AccountRef, input: { email?: string; handle?: string; dryRun?: boolean }): Promise<AccountUpdateResult> {
  const email = input.email === undefined ? undefined : parseEmail(input.email)
  const handle = input.handle === undefined ? undefined : parseHandle(input.handle)
  if (email === undefined && handle === undefined) throw new UsageError('nothing to update', { hint: 'Pass --email and/or --handle' })
  const { did, info } = await resolveExisting(client, ref)
  const changed: AccountUpdateResult['changed'] = []
  if (!input.dryRun) {
    if (handle !== undefined && handle !== info.handle) {
      try {
        await client.procedure('com.atproto.admin.updateAccountHandle', { did, handle }, 'admin')
      } catch (err) {
        if (err instanceof XrpcError && err.status === 400) {
          throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, { summary: `cannot change the handle to ${handle}`, exitCode: ExitCode.USAGE })
        }
        throw err
      }
      changed.push('handle')
    }
    if (email !== undefined && email !== info.email) {
      await client.procedure('com.atproto.admin.updateAccountEmail', { account: did, email }, 'admin')
      changed.push('email')
    }
  } else {
    if (handle !== undefined && handle !== info.handle) changed.push('handle')
    if (email !== undefined && email !== info.email) changed.push('email')
  }
  return {
    did,
    handle: changed.includes('handle') ? handle! : info.handle,
    email: changed.includes('email') ? email! : (info.email ?? null),
    changed,
    emailNeedsConfirmation: changed.includes('email'),
    dryRun: Boolean(input.dryRun),
  }
}

