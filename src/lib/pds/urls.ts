// PDS and relay URLs: parsed and checked before any request. Kept apart from
// identifiers.ts so that resolving settings does not load @atproto/syntax.
import { UsageError } from '../errors.js'
import { registerUrlPassword } from '../redaction.js'

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1'])
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/**
 * A URL as given, for a message: any userinfo (`user:password@`) replaced by `***@`, whether
 * or not the rest parses (`ftp://admin:pw@…`, `https://admin:pw@[::1`, `admin:pw@host:3000`).
 */
export function withoutUserinfo(input: string): string {
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(input)?.[0] ?? ''
  const rest = input.slice(scheme.length)
  // The authority ends at the first / ? # (or a backslash, which WHATWG URLs treat as /).
  const end = rest.search(/[/?#\\]/)
  const authority = end < 0 ? rest : rest.slice(0, end)
  const at = authority.lastIndexOf('@')
  if (at < 0) return input
  return scheme + '***@' + authority.slice(at + 1) + (end < 0 ? '' : rest.slice(end))
}

/**
 * Parse a PDS URL. Plain http:// is allowed only to loopback unless `allowHttp`
 * (so an admin password never crosses a network in clear by accident). No message ever
 * repeats a password given inside the URL. `readOnly`: a server pdsctl sends no secret to
 * (a PLC directory, a relay, a public URL), refused over plain http:// because what it
 * answers (keys, DID documents) could be changed on the way.
 */
export function parsePdsUrl(input: string, opts: { allowHttp?: boolean; what?: string; readOnly?: boolean } = {}): string {
  const what = opts.what ?? 'PDS URL'
  const shown = withoutUserinfo(input)
  const credentials = shown !== input
  // A password given in the URL is a secret like any other: never shown again, anywhere.
  if (credentials) registerUrlPassword(input)
  let url: URL
  try {
    url = new URL(input.includes('://') ? input : `https://${input}`)
  } catch {
    throw new UsageError(`"${shown}" is not a valid ${what}`, {
      hint: credentials ? 'Give a URL like https://pds.example.com, without user:password@' : 'Give a URL like https://pds.example.com',
    })
  }
  if (credentials || url.username || url.password) {
    throw new UsageError(`${what} must not carry credentials`, { hint: 'Give the admin password with PDS_ADMIN_PASSWORD or --admin-password-stdin' })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${what} "${shown}" must use https:// (or http:// to a loopback address)`)
  }
  if (!input.includes('://') && isLoopbackHost(url.hostname)) {
    // https:// would be assumed, and the failure would read as a certificate problem.
    throw new UsageError(`${what} "${shown}" has no scheme`, {
      hint: `A PDS on a loopback address usually speaks plain HTTP: try http://${shown.replace(/\/+$/, '')} (or https://${shown.replace(/\/+$/, '')} if it really has TLS)`,
    })
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !opts.allowHttp) {
    const why = opts.readOnly ? `what the ${what} answers could be changed on the way` : 'the admin password would cross the network unencrypted'
    throw new UsageError(`refusing plain http:// to ${url.hostname}: ${why}`, {
      hint: opts.readOnly ? 'Use https:// (plain http:// only to a loopback address)' : 'Use https://, or pass --allow-insecure-http if you really mean it',
    })
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new UsageError(`${what} "${shown}" must be just the origin (no path or query)`, {
      hint: `Try ${url.origin}`,
    })
  }
  return url.origin
}

/**
 * The PLC directory's URL as every command reads it: `--plc-url`, else PDS_DID_PLC_URL (the
 * environment, then the PDS's env file: `fromSettings`, with where it came from), else
 * plc.directory; checked like any read-only server's URL, its error naming the source.
 */
export function plcDirectoryUrl(flag: string | undefined, fromSettings: { value: string; origin: string } | undefined): string {
  const [value, origin] = flag !== undefined ? [flag, '--plc-url'] : fromSettings ? [fromSettings.value, fromSettings.origin] : ['https://plc.directory', 'the default']
  return parsePdsUrl(value, { what: `PLC directory URL (from ${origin})`, readOnly: true })
}
