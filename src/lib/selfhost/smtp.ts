// The PDS's mail settings as an operator writes them (an SMTP URL with the password
// inside), checked as text before anything is sent, and a real test message through
// nodemailer, the library the PDS itself sends with. The password never leaves this
// module: every URL shown is redacted to user:****@host, and nodemailer's own logger is off.
import { UsageError } from '../errors.js'
import { redact, registerUrlPassword } from '../redaction.js'

export interface SmtpUrlProblem {
  severity: 'warn' | 'fail'
  message: string
  fix: string
}

export interface SmtpUrlInfo {
  /** smtp (plain, STARTTLS when offered) or smtps (TLS from the first byte); null when not a URL. */
  scheme: 'smtp' | 'smtps' | null
  host: string | null
  /** The port used: the URL's, else nodemailer's default (465 for smtps, 587 for smtp). */
  port: number | null
  user: string | null
  hasPassword: boolean
  /** Safe to print: the password replaced by ****. */
  redacted: string
  problems: SmtpUrlProblem[]
}

/** The URL with its password (whatever its encoding) replaced by ****; never throws. */
export function redactSmtpUrl(raw: string): string {
  const s = raw.trim()
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(.*)$/s.exec(s)
  if (!m) return s.includes('@') ? '****@' + s.slice(s.lastIndexOf('@') + 1) : s
  const rest = m[2]
  const at = rest.lastIndexOf('@')
  if (at < 0) return s
  const userinfo = rest.slice(0, at)
  const colon = userinfo.indexOf(':')
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon)
  return `${m[1]}${user}${colon < 0 ? '' : ':****'}@${rest.slice(at + 1)}`
}

const ENCODED: Record<string, string> = { '@': '%40', ':': '%3A', '/': '%2F', '?': '%3F', '#': '%23', '%': '%25' }

/** Read an SMTP URL the way an operator wrote it and name what is wrong with it. */
export function inspectSmtpUrl(raw: string, key = 'PDS_EMAIL_SMTP_URL'): SmtpUrlInfo {
  const s = raw.trim()
  // Its password (and the AUTH forms a server may quote back) is never shown from now on.
  registerUrlPassword(s)
  const redacted = redactSmtpUrl(s)
  const problems: SmtpUrlProblem[] = []
  const info: SmtpUrlInfo = { scheme: null, host: null, port: null, user: null, hasPassword: false, redacted, problems }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(s)
  if (!m) {
    problems.push({
      severity: 'fail',
      message: `${key} (${redacted}) is not a URL`,
      fix: 'Write it as smtps://USER:PASSWORD@HOST:465 (TLS) or smtp://USER:PASSWORD@HOST:587 (STARTTLS)',
    })
    return info
  }
  const scheme = m[1].toLowerCase()
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    problems.push({ severity: 'fail', message: `${key} uses ${scheme}://, which the PDS's mailer does not speak`, fix: 'Use smtps://…:465 or smtp://…:587' })
    return info
  }
  info.scheme = scheme
  // The raw userinfo: everything before the LAST '@' (what the PDS's nodemailer takes).
  const rest = m[2]
  const at = rest.lastIndexOf('@')
  if (at >= 0) {
    const userinfo = rest.slice(0, at)
    const colon = userinfo.indexOf(':')
    const password = colon < 0 ? '' : userinfo.slice(colon + 1)
    info.hasPassword = colon >= 0
    const breaking = [...new Set(password.match(/[/?#]/g) ?? [])]
    if (breaking.length) {
      problems.push({
        severity: 'fail',
        message: `the password in ${key} contains ${breaking.map((c) => `'${c}'`).join(', ')} unencoded, which ends the host part of the URL early: the PDS would connect to the wrong host`,
        fix: `Percent-encode it in the URL (${breaking.map((c) => `${c} → ${ENCODED[c]}`).join(', ')})`,
      })
    }
    if (/%(?![0-9a-fA-F]{2})/.test(password)) {
      problems.push({ severity: 'fail', message: `the password in ${key} has a '%' that is not a %XX escape`, fix: "Write a literal '%' as %25" })
    }
    const risky = [...new Set(password.match(/[@:]/g) ?? [])]
    if (risky.length && !breaking.length) {
      problems.push({
        severity: 'warn',
        message: `the password in ${key} contains ${risky.map((c) => `'${c}'`).join(', ')} unencoded; the PDS's nodemailer happens to read it, other URL parsers do not`,
        fix: `Percent-encode it (${risky.map((c) => `${c} → ${ENCODED[c]}`).join(', ')})`,
      })
    }
  }
  if (problems.some((p) => p.severity === 'fail')) return info
  let url: URL
  try {
    url = new URL(s)
  } catch {
    problems.push({ severity: 'fail', message: `${key} (${redacted}) is not a valid URL`, fix: 'Write it as smtps://USER:PASSWORD@HOST:465; percent-encode special characters in the user and password' })
    return info
  }
  info.host = url.hostname || null
  info.user = url.username ? safeDecode(url.username) : null
  info.port = url.port ? Number(url.port) : scheme === 'smtps' ? 465 : 587
  if (!info.host) problems.push({ severity: 'fail', message: `${key} names no host`, fix: 'smtps://USER:PASSWORD@HOST:465' })
  if (scheme === 'smtp' && info.port === 465) {
    problems.push({ severity: 'fail', message: `${key} is smtp:// on port 465, which speaks TLS from the first byte: the PDS would wait for a greeting that never comes`, fix: 'Use smtps:// for port 465' })
  }
  if (scheme === 'smtps' && (info.port === 587 || info.port === 25)) {
    problems.push({ severity: 'fail', message: `${key} is smtps:// on port ${info.port}, which starts in plain text and upgrades with STARTTLS`, fix: `Use smtp:// for port ${info.port} (nodemailer upgrades with STARTTLS), or smtps:// with port 465` })
  }
  for (const [k, v] of url.searchParams) {
    if (/rejectUnauthorized$/i.test(k) && v === 'false') {
      problems.push({ severity: 'warn', message: `${key} turns off TLS certificate checks (${k}=false)`, fix: 'Remove it and fix the server certificate, or trust its CA' })
    }
  }
  return info
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** One mailer's test (`checks[]` of `pdsctl email test --json`). */
export interface MailerTest {
  /** email: PDS_EMAIL_SMTP_URL (confirmation, password reset); moderation: PDS_MODERATION_EMAIL_SMTP_URL (admin.sendEmail). */
  mailer: 'email' | 'moderation'
  /** Where the settings came from (an env file path, a Secret, the environment, stdin). */
  source: string | null
  configured: boolean
  /** Redacted. */
  smtpUrl: string | null
  from: string | null
  to: string | null
  /** A message was handed to the server and accepted for this recipient. */
  sent: boolean
  /** The server's final reply (e.g. "250 OK: queued as …"). */
  response: string | null
  messageId: string | null
  ms: number | null
  error: { kind: SmtpFailureKind; message: string; fix: string } | null
  warnings: string[]
}

export type SmtpFailureKind =
  | 'bad-url'
  | 'connection-refused'
  | 'timeout'
  | 'dns'
  | 'tls-mismatch'
  | 'tls-certificate'
  | 'auth'
  | 'sender-rejected'
  | 'recipient-rejected'
  | 'not-configured'
  | 'other'

export interface SendTestOptions {
  smtpUrl: string
  from: string
  to: string
  /** Connection, greeting and socket timeout (default 15 s). */
  timeoutMs?: number
  subject?: string
  text?: string
}

export interface SendTestResult {
  response: string
  messageId: string
  accepted: string[]
  rejected: string[]
  ms: number
}

/** Send one message. Throws SmtpTestError with the failure in plain words. */
export async function sendTestMail(opts: SendTestOptions): Promise<SendTestResult> {
  const info = inspectSmtpUrl(opts.smtpUrl)
  const fatal = info.problems.find((p) => p.severity === 'fail')
  if (fatal) throw new SmtpTestError('bad-url', fatal.message, fatal.fix)
  const nodemailer = await import('nodemailer')
  const timeout = opts.timeoutMs ?? 15_000
  const transport = nodemailer.createTransport({
    url: opts.smtpUrl.trim(),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    // Longer than the greeting wait, so that a server that never greets is named as such.
    socketTimeout: timeout + 5000,
    logger: false,
    debug: false,
  } as Parameters<typeof nodemailer.createTransport>[0])
  const started = performance.now()
  try {
    const res = (await transport.sendMail({
      from: opts.from,
      to: opts.to,
      subject: opts.subject ?? 'pdsctl email test',
      text: opts.text ?? 'This is a test message from pdsctl, sent through the SMTP server your PDS is configured with. If you can read it, the PDS can send mail.',
    })) as { response?: string; messageId?: string; accepted?: Array<string | { address: string }>; rejected?: Array<string | { address: string }> }
    const addr = (a: string | { address: string }) => (typeof a === 'string' ? a : a.address)
    const accepted = (res.accepted ?? []).map(addr)
    const rejected = (res.rejected ?? []).map(addr)
    if (!accepted.includes(opts.to) || typeof res.response !== 'string') {
      throw new SmtpTestError('recipient-rejected', `the server did not accept ${opts.to} (${res.response ?? 'no reply'})`, 'Check the address; some providers only relay to verified recipients')
    }
    return { response: res.response, messageId: res.messageId ?? '', accepted, rejected, ms: Math.round(performance.now() - started) }
  } catch (err) {
    if (err instanceof SmtpTestError) throw err
    throw explainSmtpError(err as SmtpLibError, info, opts)
  } finally {
    transport.close()
  }
}

interface SmtpLibError extends Error {
  code?: string
  command?: string
  responseCode?: number
  response?: string
  reason?: string
}

export class SmtpTestError extends Error {
  constructor(
    readonly kind: SmtpFailureKind,
    message: string,
    readonly fix: string,
  ) {
    // The server's words may quote the AUTH it got.
    super(redact(message))
  }
}

/** Turn nodemailer's error into what went wrong, in words, and what to do. */
export function explainSmtpError(err: SmtpLibError, info: SmtpUrlInfo, opts: { from: string; to: string }): SmtpTestError {
  const where = `${info.host}:${info.port}`
  const text = `${err.message ?? ''} ${err.code ?? ''} ${err.reason ?? ''}`
  const server = err.response ? ` (the server said: ${err.response.trim()})` : ''
  if (/ECONNREFUSED/.test(text)) {
    return new SmtpTestError('connection-refused', `the connection to ${where} was refused`, 'Nothing listens there: check the host and port in the URL (465 for smtps://, 587 for smtp://)')
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(text) || err.code === 'EDNS') {
    return new SmtpTestError('dns', `the SMTP host ${info.host} does not resolve`, 'Check the host name in the URL')
  }
  if (/wrong version number|packet length too long|unknown protocol|ssl3_get_record|record layer failure/i.test(text)) {
    return new SmtpTestError(
      'tls-mismatch',
      `TLS mismatch: pdsctl spoke TLS from the first byte (smtps://) but ${where} starts in plain text`,
      info.port === 465 ? 'The server on 465 does not speak implicit TLS; check the port' : `Use smtp:// for port ${info.port} (STARTTLS), or smtps:// with port 465`,
    )
  }
  if (/certificate|self[- ]signed|CERT_|unable to verify|altnames|Hostname\/IP does not match/i.test(text)) {
    return new SmtpTestError(
      'tls-certificate',
      `the TLS certificate of ${where} is not trusted (${err.reason ?? err.message})`,
      'Use the host name the certificate is issued for; a private CA can be trusted with NODE_EXTRA_CA_CERTS=/path/ca.pem (the PDS needs it too)',
    )
  }
  if (err.code === 'ETIMEDOUT' || /Greeting never received|timed? ?out/i.test(text)) {
    const greeting = /Greeting/i.test(text)
    return new SmtpTestError(
      'timeout',
      greeting
        ? `${where} accepted the connection but sent no SMTP greeting${info.scheme === 'smtp' ? ': it probably expects TLS from the first byte' : ''}`
        : `the connection to ${where} timed out`,
      greeting && info.scheme === 'smtp'
        ? 'Use smtps:// (port 465 needs smtps://; 587 uses smtp:// with STARTTLS)'
        : 'Check the host and port; many clouds and ISPs block outbound SMTP (25, often 465/587 too) — ask the provider, or use a mail API provider\'s SMTP on 2525/587',
    )
  }
  if (err.code === 'EAUTH' || err.responseCode === 535 || err.responseCode === 534) {
    return new SmtpTestError(
      'auth',
      `the SMTP server refused the user name or password${server}`,
      'Check them; Gmail, Outlook and others need an app password, not the account password; characters like @ : / ? # % in the password must be percent-encoded in the URL',
    )
  }
  if (err.code === 'ENOAUTH' || /530/.test(String(err.responseCode))) {
    return new SmtpTestError('auth', `the SMTP server requires authentication${server}`, 'Put the user and password in the URL: smtps://USER:PASSWORD@HOST:465')
  }
  if (err.command === 'MAIL FROM' || (err.code === 'EENVELOPE' && /MAIL FROM|sender/i.test(text))) {
    return new SmtpTestError('sender-rejected', `the server refused the sender ${opts.from}${server}`, 'Set PDS_EMAIL_FROM_ADDRESS to an address (or domain) the SMTP account may send as')
  }
  if (err.command === 'RCPT TO' || err.code === 'EENVELOPE') {
    return new SmtpTestError('recipient-rejected', `the server refused the recipient ${opts.to}${server}`, 'Check the address; a provider in sandbox mode only sends to verified recipients')
  }
  if (err.code === 'ETLS') {
    return new SmtpTestError('tls-mismatch', `STARTTLS failed on ${where} (${err.message})`, 'Check the port: 465 needs smtps://, 587 uses smtp:// with STARTTLS')
  }
  if (err.code === 'ESOCKET' || err.code === 'ECONNECTION') {
    return new SmtpTestError('other', `the connection to ${where} failed: ${err.message}`, 'Check the host and port (465 for smtps://, 587 for smtp://)')
  }
  return new SmtpTestError('other', `sending failed: ${err.message}${server}`, 'Re-run with --debug')
}

/** The settings one mailer needs, from wherever they were found. */
export interface MailerSettings {
  source: string | null
  smtpUrl?: string
  from?: string
}

/** Run the test for one mailer: inspect, then send when configured and `send` is on. */
export async function testMailer(mailer: MailerTest['mailer'], cfg: MailerSettings, to: string | null, send: boolean, timeoutMs?: number): Promise<MailerTest> {
  const key = mailer === 'email' ? 'PDS_EMAIL_SMTP_URL' : 'PDS_MODERATION_EMAIL_SMTP_URL'
  const fromKey = mailer === 'email' ? 'PDS_EMAIL_FROM_ADDRESS' : 'PDS_MODERATION_EMAIL_ADDRESS'
  const base: MailerTest = { mailer, source: cfg.source, configured: false, smtpUrl: null, from: cfg.from ?? null, to, sent: false, response: null, messageId: null, ms: null, error: null, warnings: [] }
  if (!cfg.smtpUrl) {
    const message =
      mailer === 'email'
        ? `${key} is not set${cfg.source ? ` in ${cfg.source}` : ''}: the PDS sends no confirmation or password-reset mail`
        : `${key} is not set${cfg.source ? ` in ${cfg.source}` : ''}: admin.sendEmail (\`pdsctl email send\`) answers sent: true and sends nothing`
    return { ...base, error: { kind: 'not-configured', message, fix: `Set ${key} and ${fromKey}` } }
  }
  const info = inspectSmtpUrl(cfg.smtpUrl, key)
  const out: MailerTest = { ...base, configured: true, smtpUrl: info.redacted, warnings: info.problems.filter((p) => p.severity === 'warn').map((p) => `${p.message}. Fix: ${p.fix}`) }
  const fatal = info.problems.find((p) => p.severity === 'fail')
  if (fatal) return { ...out, error: { kind: 'bad-url', message: fatal.message, fix: fatal.fix } }
  if (!cfg.from) return { ...out, error: { kind: 'sender-rejected', message: `${fromKey} is not set: the PDS has no from-address`, fix: `Set ${fromKey}` } }
  if (!send || !to) return out
  try {
    const r = await sendTestMail({ smtpUrl: cfg.smtpUrl, from: cfg.from, to, timeoutMs, subject: `pdsctl email test (${mailer} mailer)` })
    return { ...out, sent: true, response: r.response === null || r.response === undefined ? r.response : redact(r.response), messageId: r.messageId, ms: r.ms }
  } catch (err) {
    if (err instanceof SmtpTestError) return { ...out, error: { kind: err.kind, message: err.message, fix: err.fix } }
    throw err
  }
}

/** Refuse an SMTP URL given as a flag's value before anything else happens. */
export function assertNotSecretInArgv(argv: string[]): void {
  for (const a of argv) {
    if (/smtps?:\/\/[^@\s/]*:[^\s]*@/i.test(a)) {
      throw new UsageError('an SMTP URL with a password was given on the command line (it would show in ps and shell history)', {
        hint: 'Pass it on stdin with --smtp-url-stdin, or let pdsctl read it from --env-file / --kube-secret',
      })
    }
  }
}

/** The four mail settings the PDS reads, and the Secret keys installers use for them. */
export const MAIL_KEYS = {
  smtpUrl: { env: 'PDS_EMAIL_SMTP_URL', secret: ['PDS_EMAIL_SMTP_URL', 'smtpServer'] },
  from: { env: 'PDS_EMAIL_FROM_ADDRESS', secret: ['PDS_EMAIL_FROM_ADDRESS', 'smtpFromAddress'] },
  modSmtpUrl: { env: 'PDS_MODERATION_EMAIL_SMTP_URL', secret: ['PDS_MODERATION_EMAIL_SMTP_URL', 'moderationSmtpServer'] },
  modFrom: { env: 'PDS_MODERATION_EMAIL_ADDRESS', secret: ['PDS_MODERATION_EMAIL_ADDRESS', 'moderationFromAddress'] },
} as const

export interface MailSources {
  /** This process's environment (only the PDS_* mail keys are read). */
  env?: Record<string, string | undefined>
  envFile?: { path: string; values: Record<string, string> }
  /** Reads one key of the Secret; undefined when the key is absent. */
  secret?: { name: string; read: (key: string) => Promise<string | undefined> }
}

/**
 * The email and moderation mailers' settings from the first source that has the SMTP URL:
 * the environment, then the env file, then the Secret. The from-address is taken from
 * the same source as its URL.
 */
export async function findMailSettings(src: MailSources): Promise<{ email: MailerSettings; moderation: MailerSettings; looked: string[] }> {
  const looked: string[] = []
  const layers: Array<{ name: string; get: (k: keyof typeof MAIL_KEYS) => Promise<string | undefined> }> = []
  const nonEmpty = (v: string | undefined) => (v && v.trim() ? v.trim() : undefined)
  if (src.env) layers.push({ name: 'the environment', get: async (k) => nonEmpty(src.env![MAIL_KEYS[k].env]) })
  if (src.envFile) layers.push({ name: src.envFile.path, get: async (k) => nonEmpty(src.envFile!.values[MAIL_KEYS[k].env]) })
  if (src.secret) {
    const s = src.secret
    layers.push({
      name: `Secret ${s.name}`,
      get: async (k) => {
        for (const key of MAIL_KEYS[k].secret) {
          const v = nonEmpty(await s.read(key))
          if (v) return v
        }
        return undefined
      },
    })
  }
  const pick = async (urlKey: 'smtpUrl' | 'modSmtpUrl', fromKey: 'from' | 'modFrom'): Promise<MailerSettings> => {
    for (const l of layers) {
      const url = await l.get(urlKey)
      if (url) return { source: l.name, smtpUrl: url, from: await l.get(fromKey) }
    }
    // Not set anywhere: report the most specific place looked (the file or Secret, not the shell).
    const where = layers.filter((l) => l.name !== 'the environment').at(-1)?.name ?? layers.at(-1)?.name ?? null
    let from: string | undefined
    for (const l of layers) from ??= await l.get(fromKey)
    return { source: where, from }
  }
  for (const l of layers) looked.push(l.name)
  return { email: await pick('smtpUrl', 'from'), moderation: await pick('modSmtpUrl', 'modFrom'), looked }
}
