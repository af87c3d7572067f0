// Email confirmation and status. No admin call can mark an email confirmed: only the
// account's own session plus the token the PDS mails (com.atproto.server.confirmEmail).
// pdsctl therefore logs in as the account, asks the PDS to send the mail, and confirms
// with the code — from the operator's laptop, around a tunnel that breaks the request.
import { AuthError, NotFoundError, UsageError, XrpcError } from '../errors.js'
import { getAccountInfo, resolveDid } from './accounts.js'
import type { AccountRef } from '../pds/identifiers.js'
import type { PdsClient } from '../pds/xrpcClient.js'

/** `pdsctl email status` JSON shape. */
export interface EmailStatus {
  did: string
  handle: string
  email: string | null
  emailConfirmed: boolean
  emailConfirmedAt: string | null
}

export async function emailStatus(client: PdsClient, ref: AccountRef | string): Promise<EmailStatus> {
  const info = await getAccountInfo(client, ref)
  return {
    did: info.did,
    handle: info.handle,
    email: info.email ?? null,
    emailConfirmed: Boolean(info.emailConfirmedAt),
    emailConfirmedAt: info.emailConfirmedAt ?? null,
  }
}

export interface AccountSession {
  did: string
  handle: string
  email: string | null
  emailConfirmed: boolean
  /** The access token; kept in memory only, never printed or logged. */
  accessJwt: string
}

/** Log in as the account (createSession) with its own password. */
export async function loginAsAccount(client: PdsClient, ref: AccountRef | string, password: string): Promise<AccountSession> {
  const did = await resolveDid(client, ref)
  try {
    const s = await client.procedure('com.atproto.server.createSession', { identifier: did, password }, 'none')
    return { did: s.did, handle: s.handle, email: s.email ?? null, emailConfirmed: Boolean(s.emailConfirmed), accessJwt: s.accessJwt }
  } catch (err) {
    if (err instanceof XrpcError && err.status === 401) {
      const label = typeof ref === 'string' ? ref : ref.kind === 'handle' ? ref.handle : ref.did
      throw new AuthError(`the PDS rejected the password for ${label} (${err.xrpcName}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, {
        hint: "Give the account's own password (not the admin password), with --password-stdin or at the prompt",
      })
    }
    if (err instanceof XrpcError && /AccountTakedown|AccountDeactivated/.test(err.xrpcName ?? '')) {
      throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, { summary: `cannot log in as ${did}`, hint: 'The account must be active to confirm its email' })
    }
    throw err
  }
}

/** Ask the PDS to mail a confirmation code (a body-less POST: empty body, Content-Length 0). */
export async function requestEmailConfirmation(client: PdsClient, session: AccountSession): Promise<void> {
  if (!session.email) throw new NotFoundError(`account ${session.handle} has no email address`, { hint: 'Set one with `pdsctl account update --email`' })
  try {
    await client.procedure('com.atproto.server.requestEmailConfirmation', undefined, { bearer: session.accessJwt })
  } catch (err) {
    if (err instanceof XrpcError && /A request body was provided when none was expected/i.test(err.xrpcMessage ?? '')) {
      throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, {
        summary: 'the PDS saw a body on a body-less request',
        hint: 'A proxy in front of the PDS re-frames empty POSTs as chunked (the Cloudflare tunnel problem): reach the pod with --kube-*, or set disableChunkedEncoding in cloudflared',
      })
    }
    throw err
  }
}

export function parseConfirmationCode(input: string): string {
  const code = input.trim().toUpperCase()
  if (!/^[A-Z0-9]{5}-[A-Z0-9]{5}$/.test(code)) {
    throw new UsageError(`"${input}" does not look like a confirmation code`, { hint: 'The code in the mail looks like ABCDE-12345' })
  }
  return code
}

/** Confirm with the mailed code; returns the account's email status afterwards. */
export async function confirmEmail(client: PdsClient, session: AccountSession, code: string): Promise<{ email: string; emailConfirmed: boolean }> {
  if (!session.email) throw new NotFoundError(`account ${session.handle} has no email address`)
  try {
    await client.procedure('com.atproto.server.confirmEmail', { email: session.email, token: code }, { bearer: session.accessJwt })
  } catch (err) {
    if (err instanceof XrpcError && err.status === 400 && /Token/i.test(err.xrpcName ?? '')) {
      throw new AuthError(`the PDS rejected the confirmation code (${err.xrpcName}${err.xrpcMessage ? `: ${err.xrpcMessage}` : ''})`, {
        hint: 'Codes expire after 15 minutes; run `pdsctl email confirm` without --token to get a new one',
      })
    }
    throw err
  }
  const after = await client.query('com.atproto.server.getSession', {}, { bearer: session.accessJwt })
  return { email: after.email ?? session.email, emailConfirmed: Boolean(after.emailConfirmed) }
}

/** `pdsctl email send --json`. */
export interface SentEmail {
  did: string
  handle: string
  email: string | null
  subject: string
  sent: boolean
}

/** admin.sendEmail: through the PDS's moderation mailer (PDS_MODERATION_EMAIL_SMTP_URL). */
export async function sendEmail(client: PdsClient, ref: AccountRef, input: { subject: string; body: string; comment?: string }): Promise<SentEmail> {
  if (!input.subject.trim()) throw new UsageError('the subject is empty')
  if (!input.body.trim()) throw new UsageError('the message body is empty', { hint: 'Give it with --body, --body-file FILE, or --body-file - (stdin)' })
  const info = await getAccountInfo(client, ref)
  const server = await client.query('com.atproto.server.describeServer', {}, 'none')
  try {
    const res = await client.procedure(
      'com.atproto.admin.sendEmail',
      { recipientDid: info.did, senderDid: server.did, subject: input.subject, content: input.body, comment: input.comment },
      'admin',
    )
    return { did: info.did, handle: info.handle, email: info.email ?? null, subject: input.subject, sent: res.sent }
  } catch (err) {
    if (err instanceof XrpcError && /moderation|mailer|smtp/i.test(err.xrpcMessage ?? '')) {
      throw new XrpcError(err.nsid, err.status, err.xrpcName, err.xrpcMessage, { summary: 'the PDS could not send the mail', hint: 'Set PDS_MODERATION_EMAIL_SMTP_URL and PDS_MODERATION_EMAIL_ADDRESS on the PDS' })
    }
    throw err
  }
}
