// Input checks that run before any network call: DIDs, handles, emails, URLs.
import { isValidHandle, ensureValidDid, normalizeHandle } from '@atproto/syntax'
import { BadResponseError, UsageError } from '../errors.js'

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
 * A DID a server answered (resolveHandle) before it names a request, a row or a file: a
 * did:plc or did:web that parses, else the server's answer is broken (exit 1, not the usage
 * error a user's typo gets).
 */
export function parseServerDid(value: unknown, what: string): string {
  const did = typeof value === 'string' ? value : ''
  try {
    ensureValidDid(did)
    return parseHostedDid(did, did)
  } catch {
    throw new BadResponseError(`${what} answered "${String(value).slice(0, 200)}", which is not a did:plc or did:web DID`)
  }
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
// Control and format characters (an ESC, a bidi override, a zero-width joiner) are refused
// here too: the address is shown back on terminals and in mail headers, and no mail system
// takes one, so it must not reach the PDS or a prompt's echo.
const EMAIL_RE = /^[^\s@\p{Cc}\p{Cf}]+@[^\s@\p{Cc}\p{Cf}]+\.[^\s@.\p{Cc}\p{Cf}]+$/u
const INVISIBLE_RE = /[\p{Cc}\p{Cf}]/u
export function parseEmail(input: string): string {
  const email = input.trim()
  if (!EMAIL_RE.test(email)) {
    const why = INVISIBLE_RE.test(email) ? ': it holds a control or invisible character' : ''
    throw new UsageError(`"${input}" is not a valid email address${why}`, { hint: 'Give an address like alice@example.com' })
  }
  return email
}

// URLs live in urls.ts (no @atproto/syntax there: settings load it on every start); import
// them from there, so a command's bundle does not share urls.ts with this lazy module.

export function parsePositiveInt(input: string | number, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof input === 'number' ? input : Number(input)
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what} must be a whole number from 1 to ${max} (got ${input})`)
  }
  return n
}
