// The secrets pdsctl holds in this process, and the one function that takes them out of any
// text on its way to a person: error lines and their --json objects, body snippets, --debug
// and status lines. A secret is registered where pdsctl comes to hold it (the admin
// password when it is resolved or used, an account password the client sends, a token it
// receives, a secret PDS_* value read from the environment or an env file), so no command
// has to remember to hide anything.
// Redaction comes first, before anything else touches the text (truncation, whitespace
// folding, escaping), or a cut or a folded tab would let a piece of the secret through.
// A server may echo the Authorization header back on purpose: every `Basic …` and
// `Bearer …` credential is hidden whatever it holds, as well as every known form of each
// secret (as is, as JSON writes it, percent-encoded, with its whitespace folded; for
// Basic auth, `user:password` and its base64 with and without padding).

const MASK = '****'

/** Registered forms: the text to find, and whether it must stand alone (short secrets). */
const forms = new Map<string, boolean>()
let ordered: Array<[string, boolean]> | undefined
const values = new Set<string>()

/**
 * Below this length a bare secret is hidden only where it stands alone (not inside a longer
 * word or number): a two-letter password must not turn every "ab" in a message into ****.
 * Its Basic-auth forms, which a server echoing the header sends, are hidden everywhere.
 */
const STANDALONE_BELOW = 8

function addForm(text: string, anywhere: boolean): void {
  if (!text) return
  const standalone = !anywhere && text.length < STANDALONE_BELOW
  // A form registered to match anywhere stays so.
  if (forms.get(text) === false) return
  forms.set(text, standalone)
  ordered = undefined
}

function variants(secret: string): string[] {
  const out = new Set<string>([secret])
  out.add(JSON.stringify(secret).slice(1, -1))
  try {
    out.add(encodeURIComponent(secret))
  } catch {
    // a lone surrogate: no percent-encoded form
  }
  const folded = secret.replace(/\s+/g, ' ').trim()
  if (folded) out.add(folded)
  return [...out]
}

/** Hide `secret` (and its JSON-escaped, percent-encoded and whitespace-folded forms) from now on. */
export function registerSecret(secret: string | undefined | null): void {
  if (!secret) return
  values.add(secret)
  for (const v of variants(secret)) addForm(v, v.length >= STANDALONE_BELOW)
}

/** A credential sent as HTTP Basic auth: the password, `user:password`, its base64, the whole header value. */
export function registerBasicAuth(user: string, password: string | undefined | null): void {
  if (!password) return
  registerSecret(password)
  const pair = `${user}:${password}`
  for (const v of variants(pair)) addForm(v, true)
  const b64 = Buffer.from(pair, 'utf8').toString('base64')
  addForm(b64, true)
  addForm(b64.replace(/=+$/, ''), true)
  addForm(Buffer.from(pair, 'utf8').toString('base64url'), true)
}

/** Every secret registered so far, as registered (to keep them out of a child's environment). */
export function registeredSecrets(): string[] {
  return [...values]
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

const ALNUM = /[\p{L}\p{N}]/u
// Credentials in a header a server echoed: the scheme stays, the value goes. A value is a
// token of 8 or more base64/JWT characters that is not a plain lower-case word ("basic
// authentication" stays as it is).
const AUTH_VALUE = /\b(Basic|Bearer)(\s+)([A-Za-z0-9+/=._~-]{8,})/gi

function standaloneMatch(text: string, form: string): string {
  if (!text.includes(form)) return text
  let out = ''
  let from = 0
  for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + form.length)) {
    const before = at > 0 ? text[at - 1] : ''
    const after = text[at + form.length] ?? ''
    const edgeStart = ALNUM.test(form[0]) && before !== '' && ALNUM.test(before)
    const edgeEnd = ALNUM.test(form[form.length - 1]) && after !== '' && ALNUM.test(after)
    if (edgeStart || edgeEnd) continue
    out += text.slice(from, at) + MASK
    from = at + form.length
  }
  return out + text.slice(from)
}

/** `text` with every registered secret, and every Basic or Bearer credential, replaced by ****. */
export function redact(text: string): string {
  let out = text
  if (/basic|bearer/i.test(out)) out = out.replace(AUTH_VALUE, (m, scheme: string, space: string, token: string) => (/^[a-z]+$/.test(token) ? m : `${scheme}${space}${MASK}`))
  if (forms.size === 0) return out
  ordered ??= [...forms].sort((a, b) => b[0].length - a[0].length)
  for (const [form, standalone] of ordered) {
    if (!out.includes(form)) continue
    out = standalone ? standaloneMatch(out, form) : out.split(form).join(MASK)
  }
  return out
}

/** A JSON-shaped value with redact() applied to every string in it (keys included). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T
  if (Array.isArray(value)) return value.map(redactDeep) as T
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v)])) as T
  }
  return value
}

/**
 * A few words of a server's answer for a message: redacted first, then whitespace folded,
 * then cut to `max` characters. In that order, so no cut or fold can let a piece of a secret
 * through. Control characters are left for the output's own escaping.
 */
export function snippet(text: string, max: number): string {
  const folded = redact(text).replace(/\s+/g, ' ').trim()
  if (folded.length <= max) return folded
  return folded.slice(0, max) + '…'
}

/** An environment variable whose value is a secret (PDS_ADMIN_PASSWORD, PDS_JWT_SECRET, …). */
export function isSecretEnvName(name: string): boolean {
  return /PASSWORD|SECRET|PRIVATE|TOKEN|SALT|BYPASS_KEY|SMTP_URL|_KEY_HEX$/i.test(name) && !/PUBLIC_KEY/i.test(name)
}

/** Register the secret values of an environment (or an env file). SMTP URLs: their password. */
export function registerEnvSecrets(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (!v || !k.startsWith('PDS_') || !isSecretEnvName(k)) continue
    if (/SMTP_URL$/i.test(k)) registerUrlPassword(v)
    else if (k === 'PDS_ADMIN_PASSWORD') registerBasicAuth('admin', v)
    else registerSecret(v)
  }
}

/**
 * The password inside a URL's userinfo (`smtps://user:pass@host`, or `user:pass@host`
 * without a scheme), raw and decoded. Userinfo runs to the last '@' (as nodemailer reads
 * it) or the first (as URL parsers do): both are registered.
 */
export function registerUrlPassword(url: string): void {
  const rest = url.trim().replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '')
  const first = rest.indexOf('@')
  const last = rest.lastIndexOf('@')
  if (first < 0) return
  for (const at of new Set([first, last])) {
    const userinfo = rest.slice(0, at)
    const colon = userinfo.indexOf(':')
    if (colon < 0) continue
    const raw = userinfo.slice(colon + 1)
    registerSecret(raw)
    try {
      const decoded = decodeURIComponent(raw)
      registerSecret(decoded)
      // SMTP AUTH PLAIN and LOGIN send these, and a server may quote them back.
      const user = decodeURIComponent(userinfo.slice(0, colon))
      if (decoded) {
        addForm(Buffer.from(`\0${user}\0${decoded}`, 'utf8').toString('base64'), true)
        addForm(Buffer.from(decoded, 'utf8').toString('base64'), true)
        for (const v of variants(`${user}:${decoded}`)) addForm(v, true)
      }
    } catch {
      // not percent-encoding: the raw form is registered
    }
  }
}

/**
 * The environment for a child process (kubectl): the caller's, without any variable that
 * holds one of pdsctl's secrets (the secret PDS_* variables by name, and any variable whose
 * value is or holds a registered secret).
 */
export function envWithoutSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Held inside a longer value only when long enough not to be there by chance (a PATH).
  const secrets = [...values].filter((s) => s.length >= 12)
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue
    if (/^PDS_/i.test(k) && isSecretEnvName(k)) continue
    if (values.has(v) || secrets.some((s) => v.includes(s))) continue
    out[k] = v
  }
  return out
}
