// Input checks that run before any network call: DIDs, handles, emails, URLs.
import { isValidHandle, ensureValidDid, normalizeHandle } from '@atproto/syntax'
import { UsageError } from '../errors.js'

/** An account as the user named it: by DID, or by handle (to be resolved through the PDS). */
export type AccountRef = { kind: 'did'; did: string } | { kind: 'handle'; handle: string }

export function parseAccountRef(input: string): AccountRef {
  const value = input.trim().replace(/^@/, '')
  if (value.startsWith('did:')) {
    try {
      ensureValidDid(value)
    } catch (err) {
      throw new UsageError(`"${input}" is not a valid DID (${(err as Error).message})`, {
        hint: 'A DID looks like did:plc:abcd… or did:web:example.com',
      })
    }
    return { kind: 'did', did: parseHostedDid(value, input) }
  }
  const handle = normalizeHandle(value)
  if (!isValidHandle(handle)) {
    throw new UsageError(`"${input}" is neither a valid handle nor a DID`, {
      hint: 'Name the account by handle (alice.example.com) or DID (did:plc:…)',
    })
  }
  return { kind: 'handle', handle }
}

/**
 * A PDS hosts did:plc and did:web accounts only: any other method (did:foo:bar, did:key)
 * can name no account here, so it is bad input (exit 2), found before any network call.
 */
function parseHostedDid(did: string, input: string): string {
  const method = did.split(':')[1]
  if (method === 'plc') {
    // did:plc: + 24 characters of base32 (lower case, digits 2-7).
    if (!/^did:plc:[a-z2-7]{24}$/.test(did)) {
      throw new UsageError(`"${input}" is not a valid did:plc (did:plc: and 24 characters a-z, 2-7)`, { hint: 'Copy the DID from `pdsctl account list`' })
    }
    return did
  }
  if (method === 'web') {
    if (!/^did:web:[a-z0-9.-]+(%3[aA]\d+)?$/i.test(did)) {
      throw new UsageError(`"${input}" is not a valid did:web (did:web:HOSTNAME)`, { hint: 'e.g. did:web:alice.example.com' })
    }
    return did
  }
  throw new UsageError(`"${input}" uses the DID method "${method}", which a PDS does not host`, {
    hint: 'Accounts on a PDS are did:plc:… or did:web:…; or name the account by handle',
  })
}

export function parseHandle(input: string): string {
  const handle = normalizeHandle(input.trim().replace(/^@/, ''))
  if (!isValidHandle(handle)) {
    throw new UsageError(`"${input}" is not a valid handle`, { hint: 'A handle looks like alice.example.com' })
  }
  return handle
}

// Deliberately simple: one @, no spaces, a dot in the domain. The PDS does the full check.
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/
export function parseEmail(input: string): string {
  const email = input.trim()
  if (!EMAIL_RE.test(email)) {
    throw new UsageError(`"${input}" is not a valid email address`, { hint: 'Give an address like alice@example.com' })
  }
  return email
}

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

export function parsePositiveInt(input: string | number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof input === 'number' ? input : Number(input)
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what} must be a whole number from 1 to ${max} (got ${input})`)
  }
  return n
}
