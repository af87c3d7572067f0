// `pdsctl stats`: what an operator looks at before a spam clean-up. One streaming pass over
// the accounts (listRepos + getAccountInfos, as `account list`) and one over the invite
// codes (getInviteCodes), one after the other; only counters are kept, so memory stays flat
// however many accounts there are.
import { UsageError } from '../errors.js'
import type { PdsClient } from '../pds/xrpcClient.js'
import { listAccounts, type AccountSummary } from './accounts.js'
import { inviteCodePages } from './inviteTree.js'

export interface AccountRefStat {
  did: string
  handle: string | null
  createdAt: string
}

/** `pdsctl stats --json`. */
export interface Stats {
  accounts: {
    total: number
    /** Counts by listRepos status: active, takendown, deactivated, … (only statuses seen; most common first). */
    byStatus: Record<string, number>
    emailConfirmed: number
    /** Has an email that is not confirmed. */
    emailUnconfirmed: number
    noEmail: number
    newest: AccountRefStat | null
    oldest: AccountRefStat | null
  }
  /** One entry per UTC day, oldest first, the last `days` days up to today; days with no sign-up included. */
  signupsByDay: Array<{ date: string; count: number }>
  invites: {
    total: number
    /** Not disabled and with uses left. */
    available: number
    /** Used at least once. */
    used: number
    disabled: number
  }
}

const DAY_MS = 86_400_000

export async function collectStats(client: PdsClient, opts: { days?: number; now?: number; pageSize?: number } = {}): Promise<Stats> {
  const days = opts.days ?? 30
  if (!Number.isInteger(days) || days < 1 || days > 3660) throw new UsageError('--days must be a whole number from 1 to 3660')
  const now = opts.now ?? Date.now()
  const today = Math.floor(now / DAY_MS)
  const first = today - days + 1
  const perDay = new Array<number>(days).fill(0)

  const accounts: Stats['accounts'] = { total: 0, byStatus: {}, emailConfirmed: 0, emailUnconfirmed: 0, noEmail: 0, newest: null, oldest: null }
  const countAccount = (a: AccountSummary) => {
    accounts.total++
    accounts.byStatus[a.status] = (accounts.byStatus[a.status] ?? 0) + 1
    if (!a.email) accounts.noEmail++
    else if (a.emailConfirmed) accounts.emailConfirmed++
    else accounts.emailUnconfirmed++
    const t = a.createdAt ? Date.parse(a.createdAt) : NaN
    if (Number.isNaN(t)) return
    const ref = { did: a.did, handle: a.handle, createdAt: a.createdAt! }
    if (!accounts.newest || t > Date.parse(accounts.newest.createdAt)) accounts.newest = ref
    if (!accounts.oldest || t < Date.parse(accounts.oldest.createdAt)) accounts.oldest = ref
    const day = Math.floor(t / DAY_MS)
    if (day >= first && day <= today) perDay[day - first]++
  }

  const invites: Stats['invites'] = { total: 0, available: 0, used: 0, disabled: 0 }
  // One pass after the other, invites first: it is short and fails fast on a rejected
  // password, and an error never leaves the other pass's requests in flight at exit.
  for await (const page of inviteCodePages(client)) {
    for (const c of page) {
      invites.total++
      if (c.disabled) invites.disabled++
      else if (c.uses.length < c.available) invites.available++
      if (c.uses.length > 0) invites.used++
    }
  }
  for await (const page of listAccounts(client, { pageSize: opts.pageSize })) for (const a of page) countAccount(a)
  // Stable order whatever the listing order: most common first, then by name.
  accounts.byStatus = Object.fromEntries(Object.entries(accounts.byStatus).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)))
  const signupsByDay = perDay.map((count, i) => ({ date: new Date((first + i) * DAY_MS).toISOString().slice(0, 10), count }))
  return { accounts, signupsByDay, invites }
}

const BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/**
 * Sign-ups per day as horizontal bars of unicode blocks (eighths), scaled to the busiest
 * day so a spike stands out, each line at most `width` columns.
 */
export function renderSignupChart(days: Stats['signupsByDay'], width: number): string[] {
  const max = Math.max(0, ...days.map((d) => d.count))
  const countWidth = String(max).length
  // "2026-11-01 " + bar + " " + count
  const barWidth = Math.max(5, width - 11 - 1 - countWidth)
  return days.map((d) => {
    const eighths = max === 0 ? 0 : Math.round((d.count / max) * barWidth * 8)
    const full = Math.floor(eighths / 8)
    let bar = '█'.repeat(full) + BLOCKS[eighths % 8]
    if (d.count > 0 && bar === '') bar = '▏' // a day with sign-ups never looks empty
    return `${d.date} ${bar.padEnd(barWidth)} ${String(d.count).padStart(countWidth)}`
  })
}
