import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { CheckFailedError, UsageError } from '../../lib/errors.js'
import { parseEmail } from '../../lib/pds/identifiers.js'
import { assertNotSecretInArgv, findMailSettings, inspectSmtpUrl, testMailer, type MailerSettings, type MailerTest } from '../../lib/selfhost/smtp.js'

/** `pdsctl email test --json`. */
export interface EmailTestReport {
  to: string
  checks: MailerTest[]
}

export default class EmailTest extends PdsCommand<typeof EmailTest> {
  static override summary = 'Send a real test message through the SMTP server the PDS is configured with'
  static override description = `Reads PDS_EMAIL_SMTP_URL and PDS_EMAIL_FROM_ADDRESS from the environment, else the env file (--env-file), else the Kubernetes Secret (--kube-secret NAME; keys PDS_EMAIL_SMTP_URL or smtpServer, PDS_EMAIL_FROM_ADDRESS or smtpFromAddress), or takes the SMTP URL from stdin (--smtp-url-stdin; never as a flag value: it holds a password). Sends with nodemailer, as the PDS does, and verifies TLS (trust a private CA with NODE_EXTRA_CA_CERTS).
Failures are named in plain words: connection refused or timed out, TLS mismatch (465 needs smtps://, 587 uses smtp:// with STARTTLS), an untrusted certificate, authentication failed (app passwords; percent-encoding), sender or recipient rejected. An unencoded / ? # in the password is caught before connecting.
Also reports PDS_MODERATION_EMAIL_SMTP_URL, the mailer admin.sendEmail (\`pdsctl email send\`) uses: when it is unset the PDS answers sent: true and sends nothing. --moderation sends through it too.
The password is never printed (user:****@host). Exits 6 when a mailer that was tested failed, 2 for bad input.
JSON: {to, checks: [{mailer: "email"|"moderation", source, configured, smtpUrl, from, to, sent, response, messageId, ms, error: {kind, message, fix} | null, warnings}]}.`
  static override examples = [
    '<%= config.bin %> email test --to me@example.com --env-file /pds/pds.env',
    '<%= config.bin %> email test --to me@example.com --moderation --kube-namespace pds --kube-service pds --kube-secret pds-secrets',
    "printf '%s' \"$SMTP_URL\" | <%= config.bin %> email test --to me@example.com --smtp-url-stdin --from pds@example.com",
  ]
  static override flags = {
    to: Flags.string({ description: 'Where to send the test message.', required: true }),
    from: Flags.string({ description: 'The sender (default PDS_EMAIL_FROM_ADDRESS).' }),
    'smtp-url-stdin': Flags.boolean({ description: 'Read the SMTP URL (smtps://user:pass@host:465) from stdin instead of the PDS settings.' }),
    moderation: Flags.boolean({ description: 'Also send through PDS_MODERATION_EMAIL_SMTP_URL (the mailer of `email send`).' }),
    'smtp-timeout': Flags.integer({ description: 'Seconds to wait for the SMTP server at each step.', default: 15, min: 1, max: 300 }),
  }

  override async init(): Promise<void> {
    // Before oclif parses: an unknown flag's value would otherwise be echoed in its error.
    assertNotSecretInArgv(this.argv)
    await super.init()
  }

  async run(): Promise<EmailTestReport> {
    const to = parseEmail(this.flags.to)
    const from = this.flags.from === undefined ? undefined : parseEmail(this.flags.from)
    if (this.flags['smtp-url-stdin'] && this.flags['admin-password-stdin']) throw new UsageError('--smtp-url-stdin and --admin-password-stdin cannot both read stdin')
    let email: MailerSettings
    let moderation: MailerSettings
    if (this.flags['smtp-url-stdin']) {
      const url = (await this.readStdin('the SMTP URL')).trim()
      if (!url) throw new UsageError('--smtp-url-stdin was given but stdin was empty')
      const fatal = inspectSmtpUrl(url, 'the SMTP URL').problems.find((p) => p.severity === 'fail')
      if (fatal) throw new UsageError(fatal.message, { hint: fatal.fix })
      const found = await this.mailSettings()
      email = { source: 'stdin', smtpUrl: url, from: from ?? found.email.from }
      moderation = found.moderation
    } else {
      const found = await this.mailSettings()
      email = { ...found.email, from: from ?? found.email.from }
      moderation = found.moderation
      if (!email.smtpUrl && found.looked.every((l) => l === 'the environment')) {
        throw new UsageError('no PDS settings to read the SMTP URL from (PDS_EMAIL_SMTP_URL is not in the environment)', {
          hint: 'Pass --env-file /pds/pds.env, --kube-secret NAME, or --smtp-url-stdin',
        })
      }
    }
    if (email.smtpUrl && !email.from) throw new UsageError(`no from-address: PDS_EMAIL_FROM_ADDRESS is not set${email.source ? ` in ${email.source}` : ''}`, { hint: 'Pass --from pds@your.domain' })
    const timeoutMs = this.flags['smtp-timeout'] * 1000
    const checks: MailerTest[] = []
    this.out.status(`Sending a test message to ${to}${email.smtpUrl ? ` through ${inspectSmtpUrl(email.smtpUrl).redacted}` : ''}…`)
    checks.push(await testMailer('email', email, to, true, timeoutMs))
    checks.push(await testMailer('moderation', { ...moderation, from: moderation.from }, to, this.flags.moderation, timeoutMs))

    if (this.out.json) await this.out.printJson({ to, checks })
    else {
      await this.out.printTable(checks, [
        { header: 'MAILER', value: (c) => c.mailer },
        { header: 'RESULT', value: (c) => (c.sent ? 'sent' : c.error ? (c.error.kind === 'not-configured' ? 'not configured' : 'failed') : 'not tested') },
        { header: 'SMTP', value: (c) => c.smtpUrl },
        { header: 'FROM', value: (c) => c.from },
        { header: 'DETAIL', value: (c) => (c.error ? `${c.error.message}. Fix: ${c.error.fix}` : c.sent ? c.response : 'configured; pass --moderation to send through it') },
      ])
    }
    for (const c of checks) for (const w of c.warnings) this.out.warn(`${c.mailer} mailer: ${w}`)
    const modCheck = checks[1]
    if (!this.flags.moderation && modCheck.error?.kind === 'not-configured') this.out.warn(modCheck.error.message)
    const failed = checks.filter((c) => c.error && (c.mailer === 'email' || this.flags.moderation || c.error.kind !== 'not-configured'))
    if (failed.length) throw new CheckFailedError(failed.map((c) => `${c.mailer} mailer: ${c.error!.message}. ${c.error!.fix}`).join('; '))
    if (checks[0].sent) this.out.status(`The SMTP server accepted the message for ${to}; check that it arrives (and its spam folder).`)
    return { to, checks }
  }

  private async mailSettings() {
    const settings = await this.settings()
    const src = settings.adminPassword
    const secret =
      this.flags['kube-secret'] && src.kind === 'kube-secret'
        ? {
            name: src.name,
            read: (key: string) =>
              // A key the Secret lacks is "not set"; any other kubectl failure is reported.
              this.readSecretKey(src.name, key).catch(
                (err: Error) => {
                  if (/has no key|is empty/.test(err.message)) return undefined
                  throw err
                },
              ),
          }
        : undefined
    return findMailSettings({ env: process.env, envFile: settings.envFile, secret })
  }
}
