// PDS and relay URLs: parsed and checked before any request. Kept apart from
// identifiers.ts so that resolving settings does not load @atproto/syntax.
import { UsageError } from '../errors.js'

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1'])
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}

/**
 * Parse a PDS URL. Plain http:// is allowed only to loopback unless `allowHttp`
 * (so an admin password never crosses a network in clear by accident).
 */
export function parsePdsUrl(input: string, opts: { allowHttp?: boolean; what?: string } = {}): string {
  const what = opts.what ?? 'PDS URL'
  let url: URL
  try {
    url = new URL(input.includes('://') ? input : `https://${input}`)
  } catch {
    throw new UsageError(`"${input}" is not a valid ${what}`, { hint: 'Give a URL like https://pds.example.com' })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${what} "${input}" must use https:// (or http:// to a loopback address)`)
  }
  if (!input.includes('://') && isLoopbackHost(url.hostname)) {
    // https:// would be assumed, and the failure would read as a certificate problem.
    throw new UsageError(`${what} "${input}" has no scheme`, {
      hint: `A PDS on a loopback address usually speaks plain HTTP: try http://${input.replace(/\/+$/, '')} (or https://${input.replace(/\/+$/, '')} if it really has TLS)`,
    })
  }
  if (url.username || url.password) {
    throw new UsageError(`${what} must not carry credentials`, { hint: 'Give the admin password with PDS_ADMIN_PASSWORD or --admin-password-stdin' })
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !opts.allowHttp) {
    throw new UsageError(`refusing plain http:// to ${url.hostname}: the admin password would cross the network unencrypted`, {
      hint: 'Use https://, or pass --allow-insecure-http if you really mean it',
    })
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new UsageError(`${what} "${input}" must be just the origin (no path or query)`, {
      hint: `Try ${url.origin}`,
    })
  }
  return url.origin
}
