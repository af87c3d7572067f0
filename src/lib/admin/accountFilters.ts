// Triage filters for `pdsctl account list`: status, email confirmation, no email, signup
// date, handle/email globs, who invited the account. The PDS has no server-side search
// (admin.searchAccounts is not implemented), so these wrap the listing's stream of
// enriched rows and pass on only the matches: nothing is held but the current page.
import { NotFoundError, UsageError } from '../errors.js'
// identifiers.js (and @atproto/syntax, ~5 ms to load) only when --invited-by names an account.
import type { AccountRef } from '../pds/identifiers.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import type { AccountSummary } from './accounts.js'
import { resolveDid } from './accounts.js'
// A static import (inviteTree.js is pdsctl's own code, no npm package): in a command's bundle
// it is a few KB more to parse, where a dynamic import made accounts.js and urls.js shared
// chunks that every listing loaded as modules of their own (~0.5 ms before its first request).
import { inviteCodePages } from './inviteTree.js'

/** Status values listRepos reports (its lexicon's knownValues), plus active and pdsctl's `inactive`. */
export const ACCOUNT_STATUSES = ['active', 'takendown', 'suspended', 'deleted', 'deactivated', 'desynchronized', 'throttled', 'inactive'] as const

/** Who invited an account: an invite code, an account (the code's owner), or the admin's own pool. */
export type InvitedByRef = { kind: 'code'; code: string } | { kind: 'account'; ref: AccountRef; input: string } | { kind: 'admin' }

export interface AccountFilter {
  statuses?: Set<string>
  /** true: confirmed email only; false: has no confirmed email. */
  confirmed?: boolean
  noEmail?: boolean
  createdAfter?: Date
  createdBefore?: Date
  handle?: RegExp
  email?: RegExp
  invitedBy?: InvitedByRef
}

/** The flags as the command hands them over (raw strings, checked here). */
export interface AccountFilterInput {
  status?: string[]
  confirmed?: boolean
  unconfirmed?: boolean
  noEmail?: boolean
  createdAfter?: string
  createdBefore?: string
  handle?: string
  email?: string
  invitedBy?: string
}

/** Check every filter flag before any request; UsageError (exit 2) on bad input. */
export async function parseAccountFilter(input: AccountFilterInput, now: number = Date.now()): Promise<AccountFilter> {
  const f: AccountFilter = {}
  if (input.status?.length) {
    for (const s of input.status) {
      if (!(ACCOUNT_STATUSES as readonly string[]).includes(s)) {
        throw new UsageError(`--status "${s}" is not a status`, { hint: `Use one of ${ACCOUNT_STATUSES.join(', ')}` })
      }
    }
    f.statuses = new Set(input.status)
  }
  if (input.confirmed && input.unconfirmed) throw new UsageError('--confirmed and --unconfirmed cannot be used together')
  if (input.confirmed) f.confirmed = true
  if (input.unconfirmed) f.confirmed = false
  if (input.noEmail) {
    if (input.confirmed) throw new UsageError('--no-email and --confirmed cannot be used together (an account without an email has none confirmed)')
    if (input.email !== undefined) throw new UsageError('--no-email and --email cannot be used together')
    f.noEmail = true
  }
  if (input.createdAfter !== undefined) f.createdAfter = parseDateArg(input.createdAfter, '--created-after', now)
  if (input.createdBefore !== undefined) f.createdBefore = parseDateArg(input.createdBefore, '--created-before', now)
  if (f.createdAfter && f.createdBefore && f.createdAfter >= f.createdBefore) {
    throw new UsageError(`--created-after (${f.createdAfter.toISOString()}) must be before --created-before (${f.createdBefore.toISOString()})`)
  }
  if (input.handle !== undefined) f.handle = globToRegExp(input.handle, '--handle')
  if (input.email !== undefined) f.email = globToRegExp(input.email, '--email')
  if (input.invitedBy !== undefined) f.invitedBy = await parseInvitedBy(input.invitedBy)
  return f
}

export function isEmptyFilter(f: AccountFilter): boolean {
  return Object.values(f).every((v) => v === undefined)
}

const RELATIVE_RE = /^(\d+)(m|h|d|w)$/
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/

/**
 * A point in time: an ISO date (`2026-11-01`, midnight UTC), an ISO datetime with a zone
 * (`2026-11-01T12:00:00Z`, `…+02:00`), or an age relative to now (`30m`, `12h`, `7d`, `2w`).
 */
export function parseDateArg(input: string, flag: string, now: number = Date.now()): Date {
  const s = input.trim()
  const hint = 'Give an ISO date (2026-11-01), an ISO datetime with a zone (2026-11-01T12:00:00Z), or an age like 30m, 12h, 7d, 2w'
  const rel = RELATIVE_RE.exec(s)
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS])
  const d = DATE_RE.exec(s)
  if (d && validYmd(s)) return new Date(Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3])))
  if (DATETIME_RE.test(s) && validYmd(s.slice(0, 10))) {
    const [hh, mm] = s.slice(11, 16).split(':').map(Number)
    const t = Date.parse(s)
    if (!Number.isNaN(t) && hh <= 23 && mm <= 59) return new Date(t)
  }
  throw new UsageError(`${flag} "${input}" is not a date`, { hint })
}

/**
 * A shell-style glob as a case-insensitive whole-string RegExp: `*` any run of characters
 * (dots included), `?` one character, `[abc]`, `[a-z]`, `[!abc]` / `[^abc]` a class,
 * `\x` a literal x. An unclosed `[` is a literal, as in the shell.
 */
export function globToRegExp(glob: string, flag = 'glob'): RegExp {
  if (glob === '') throw new UsageError(`${flag} needs a pattern`, { hint: "e.g. '*@mailinator.com' or '*.pds.example.com'" })
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*') re += '.*'
    else if (c === '?') re += '.'
    else if (c === '\\' && i + 1 < glob.length) re += escapeRe(glob[++i])
    else if (c === '[') {
      const close = findClassEnd(glob, i)
      if (close < 0) {
        re += '\\['
        continue
      }
      let body = glob.slice(i + 1, close)
      let negate = false
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true
        body = body.slice(1)
      }
      // Inside a class only `\`, `]` and `^` are special to RegExp; `-` keeps its range meaning.
      const cls = body.replace(/[\\\]^]/g, (m) => '\\' + m)
      re += `[${negate ? '^' : ''}${cls}]`
      i = close
    } else re += escapeRe(c)
  }
  try {
    return new RegExp(`^${re}$`, 'is')
  } catch (err) {
    throw new UsageError(`${flag} "${glob}" is not a valid pattern (${(err as Error).message})`)
  }
}

/** Reject what Date.UTC would silently roll over (2026-02-31, month 13). */
function validYmd(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number)
  const date = new Date(Date.UTC(y, m - 1, d))
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d
}

/** Index of the `]` closing the class opened at `open`; a `]` right after `[` or `[!` is a member. */
function findClassEnd(glob: string, open: number): number {
  let j = open + 1
  if (glob[j] === '!' || glob[j] === '^') j++
  if (glob[j] === ']') j++
  for (; j < glob.length; j++) if (glob[j] === ']') return j
  return -1
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}

/** `admin`, a DID or handle (has `did:` or a dot), or else an invite code. */
export async function parseInvitedBy(input: string): Promise<InvitedByRef> {
  const s = input.trim()
  if (s.toLowerCase() === 'admin') return { kind: 'admin' }
  if (s.startsWith('did:') || s.startsWith('@') || s.includes('.')) {
    const { parseAccountRef } = await import('../pds/identifiers.js')
    try {
      return { kind: 'account', ref: parseAccountRef(s), input: s }
    } catch (err) {
      throw new UsageError(`--invited-by "${input}" is neither an account nor an invite code`, {
        hint: 'Give a handle, a DID, an invite code, or admin (the admin\'s own codes)',
        cause: err,
      })
    }
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{3,}$/.test(s)) {
    throw new UsageError(`--invited-by "${input}" is neither an account nor an invite code`, {
      hint: 'Give a handle, a DID, an invite code, or admin (the admin\'s own codes)',
    })
  }
  return { kind: 'code', code: s }
}

/**
 * The DIDs that signed up with a code matching `by`: that code; the codes an account owns
 * (made for it, `forAccount`, or by it, `createdBy`); or the admin's own pool (`forAccount`
 * admin). One streaming pass over getInviteCodes; holds only the matching DIDs.
 */
export async function resolveInvitedBy(client: PdsClient, by: InvitedByRef, opts: { pageSize?: number } = {}): Promise<Set<string>> {
  const did = by.kind === 'account' ? await resolveDid(client, by.ref, { admin: true }) : undefined
  const out = new Set<string>()
  let codeSeen = false
  for await (const page of inviteCodePages(client, opts.pageSize)) {
    for (const c of page) {
      let hit = false
      if (by.kind === 'code') hit = c.code === by.code
      else if (by.kind === 'admin') hit = c.forAccount === 'admin'
      else hit = c.forAccount === did || c.createdBy === did
      if (!hit) continue
      codeSeen = true
      for (const u of c.uses) out.add(u.usedBy)
    }
  }
  if (by.kind === 'code' && !codeSeen) {
    throw new NotFoundError(`no invite code ${by.code} on this PDS`, { hint: '`pdsctl invite list` shows them all' })
  }
  return out
}

/** Does one row pass every filter (AND)? `invited` is resolveInvitedBy's answer when --invited-by is set. */
export function matchesAccount(row: AccountSummary, f: AccountFilter, invited?: Set<string>): boolean {
  if (f.statuses && !f.statuses.has(row.status)) return false
  if (f.confirmed === true && !row.emailConfirmed) return false
  if (f.confirmed === false && row.emailConfirmed) return false
  if (f.noEmail && row.email) return false
  if (f.createdAfter || f.createdBefore) {
    const t = row.createdAt ? Date.parse(row.createdAt) : NaN
    if (Number.isNaN(t)) return false
    if (f.createdAfter && t < f.createdAfter.getTime()) return false
    if (f.createdBefore && t >= f.createdBefore.getTime()) return false
  }
  if (f.handle && !(row.handle && f.handle.test(row.handle))) return false
  if (f.email && !(row.email && f.email.test(row.email))) return false
  if (f.invitedBy && !invited?.has(row.did)) return false
  return true
}

export interface FilterProgress {
  scanned: number
  matched: number
}

/**
 * Wrap the listing's pages: yield only matching rows, page by page, and stop the listing
 * (return() on the source) once `limit` matches have been yielded. `progress` is updated
 * as rows go by so the caller can report "N of M".
 */
export async function* filterAccounts(
  pages: AsyncIterable<AccountSummary[]>,
  f: AccountFilter,
  opts: { limit?: number; invited?: Set<string>; progress?: FilterProgress } = {},
): AsyncGenerator<AccountSummary[]> {
  const limit = opts.limit ?? Infinity
  const progress = opts.progress ?? { scanned: 0, matched: 0 }
  if (limit <= 0) return
  for await (const page of pages) {
    const hits: AccountSummary[] = []
    for (const row of page) {
      progress.scanned++
      if (!matchesAccount(row, f, opts.invited)) continue
      hits.push(row)
      progress.matched++
      if (progress.matched >= limit) break
    }
    if (hits.length) yield hits
    if (progress.matched >= limit) return
  }
}
