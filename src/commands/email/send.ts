import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { readFile } from 'node:fs/promises'
import { PdsCommand } from '../../base/base-command.js'
import { sendEmail, type SentEmail } from '../../lib/admin/email.js'
import { UsageError } from '../../lib/errors.js'
import { parseAccountRef } from '../../lib/pds/identifiers.js'

export default class EmailSend extends PdsCommand<typeof EmailSend> {
  static override summary = "Send an email to an account's address, from the PDS"
  static override description = `Calls com.atproto.admin.sendEmail, which goes through the PDS's moderation mailer (PDS_MODERATION_EMAIL_SMTP_URL). The body comes from --body, --body-file FILE, or --body-file - (stdin).
JSON: {did, handle, email, subject, sent}.`
  static override examples = [
    '<%= config.bin %> email send alice.example.com --subject "Maintenance tonight" --body "The PDS restarts at 22:00 UTC."',
    'cat notice.txt | <%= config.bin %> email send alice.example.com --subject "Notice" --body-file -',
  ]
  static override args = { account: Args.string({ description: 'The account: handle or DID.', required: true }) }
  static override flags = {
    subject: Flags.string({ description: 'The subject line.', required: true }),
    body: Flags.string({ description: 'The message text.', exclusive: ['body-file'] }),
    'body-file': Flags.string({ description: 'Read the message text from this file (- for stdin).', exclusive: ['body'] }),
    comment: Flags.string({ description: 'A note for moderators, not sent to the user.' }),
  }

  async run(): Promise<SentEmail> {
    const ref = parseAccountRef(this.args.account)
    let body = this.flags.body
    const file = this.flags['body-file']
    if (file === '-') body = await this.readStdin('the message body')
    else if (file) {
      body = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot read ${file} (${err.code ?? err.message})`)
      })
    }
    if (body === undefined) throw new UsageError('no message body', { hint: 'Give it with --body, --body-file FILE, or --body-file - (stdin)' })
    const client = await this.client()
    await this.warnIfNoModerationMailer()
    const sent = await sendEmail(client, ref, { subject: this.flags.subject, body, comment: this.flags.comment })
    if (this.out.json) await this.out.printJson(sent)
    else await this.out.printFields([['to', sent.email], ['handle', sent.handle], ['subject', sent.subject], ['sent', sent.sent]])
    return sent
  }

  /**
   * admin.sendEmail goes through PDS_MODERATION_EMAIL_SMTP_URL; when that is unset the PDS
   * still answers sent: true and sends nothing. Say so when the env file or Secret shows it.
   */
  private async warnIfNoModerationMailer(): Promise<void> {
    const settings = await this.settings()
    const src = settings.adminPassword
    const secret =
      this.flags['kube-secret'] && src.kind === 'kube-secret'
        ? {
            name: src.name,
            read: (key: string) => this.readSecretKey(src.name, key).catch(() => undefined),
          }
        : undefined
    if (!settings.envFile && !secret) return
    const { findMailSettings } = await import('../../lib/selfhost/smtp.js')
    const { moderation } = await findMailSettings({ envFile: settings.envFile, secret })
    if (!moderation.smtpUrl) {
      this.out.warn(
        `PDS_MODERATION_EMAIL_SMTP_URL is not set in ${moderation.source}: the PDS will answer sent: true and send nothing. Set it and PDS_MODERATION_EMAIL_ADDRESS (\`${this.config.bin} email test --moderation\` checks them)`,
      )
    }
  }
}
