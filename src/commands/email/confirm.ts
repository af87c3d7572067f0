import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { UsageError } from '../../lib/errors.js'
import {
  confirmEmail,
  loginAsAccount,
  parseConfirmationCode,
  requestEmailConfirmation,
} from '../../lib/admin/email.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'

/** `pdsctl email confirm --json` shape. */
export interface EmailConfirmResult {
  did: string
  handle: string
  email: string | null
  /** sent: the code was mailed (finish with --token); confirmed: done now; already-confirmed: nothing to do. */
  status: 'sent' | 'confirmed' | 'already-confirmed'
  emailConfirmed: boolean
}

export default class EmailConfirm extends PdsCommand<typeof EmailConfirm> {
  static override summary = "Confirm an account's email: log in as it, have the PDS mail a code, confirm with the code"
  static override description = `No admin call can mark an email confirmed: the PDS sets emailConfirmedAt only through com.atproto.server.confirmEmail, called with the account's own session and the code the PDS mails to it. So this command needs the ACCOUNT'S password (not the admin password): from --password-stdin, or a hidden prompt on a terminal.

It logs in as the account, asks the PDS to mail a confirmation code (a body-less request that fails behind a Cloudflare tunnel, which is why running it from here helps: point pdsctl at the pod with --kube-* or at a URL that bypasses the tunnel), then asks for the code and confirms.

Two steps for scripts: without --token and not on a terminal, it sends the mail and exits 0 saying how to finish; run it again with --token CODE to confirm.

Alternatives when this is not possible: the user confirms from their own app (Settings → verify email) once the tunnel passes body-less POSTs (cloudflared disableChunkedEncoding); or, with no SMTP configured, the PDS logs the mail (code included) at debug level, and that code works with --token. Editing the PDS's account database by hand is unsupported.`
  static override examples = [
    '<%= config.bin %> email confirm alice.example.com',
    "printf '%s' \"$ALICE_PASSWORD\" | <%= config.bin %> email confirm alice.example.com --password-stdin        # mails the code",
    "printf '%s' \"$ALICE_PASSWORD\" | <%= config.bin %> email confirm alice.example.com --password-stdin --token ABCDE-12345",
  ]
  static override args = {
    account: Args.string({ description: 'The account: handle or DID.', required: true }),
  }
  static override flags = {
    token: Flags.string({ description: 'The code from the confirmation mail: only confirm, do not send a new mail.' }),
    'password-stdin': Flags.boolean({ description: "Read the account's password from stdin." }),
  }

  async run(): Promise<EmailConfirmResult> {
    const ref = parseAccountRef(this.args.account)
    const token = this.flags.token === undefined ? undefined : parseConfirmationCode(this.flags.token)
    if (this.flags['password-stdin'] && this.flags['admin-password-stdin']) {
      throw new UsageError('--password-stdin and --admin-password-stdin cannot both read stdin', { hint: 'email confirm needs only the account password' })
    }
    const password = this.flags['password-stdin']
      ? await this.readStdin("the account's password")
      : await this.promptSecret(`Password for ${this.args.account}:`, "Pass the account's password with --password-stdin")
    if (!password) throw new UsageError("the account's password is empty")

    const client = await this.client()
    const session = await loginAsAccount(client, ref, password)
    const base = { did: session.did, handle: session.handle, email: session.email }
    let result: EmailConfirmResult

    if (token) {
      const after = await confirmEmail(client, session, token)
      result = { ...base, status: 'confirmed', emailConfirmed: after.emailConfirmed }
      this.out.status(`Confirmed ${after.email} for ${session.handle}.`)
    } else if (session.emailConfirmed) {
      result = { ...base, status: 'already-confirmed', emailConfirmed: true }
      this.out.status(`${session.email} is already confirmed for ${session.handle}; nothing to do.`)
    } else {
      await requestEmailConfirmation(client, session)
      this.out.status(`Sent a confirmation code to ${session.email}.`)
      if (this.interactive) {
        const code = parseConfirmationCode(await this.promptText('Code from the mail (ABCDE-12345):', 'Pass --token CODE'))
        const after = await confirmEmail(client, session, code)
        result = { ...base, status: 'confirmed', emailConfirmed: after.emailConfirmed }
        this.out.status(`Confirmed ${after.email} for ${session.handle}.`)
      } else {
        result = { ...base, status: 'sent', emailConfirmed: false }
        this.out.status(
          `When it arrives (it is valid for 15 minutes), finish with: ${this.config.bin} email confirm ${this.args.account} --token CODE --password-stdin`,
        )
      }
    }
    if (this.out.json) await this.out.printJson(result)
    else if (this.out.mode === 'tsv') await this.out.tsvRows([[result.handle, result.email, result.status]])
    return result
  }
}
