import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { listAccounts, type AccountSummary } from '../../lib/admin/accounts.js'
import type { Column } from '../../lib/cli/output.js'
import { ACCOUNT_STATUSES, filterAccounts, isEmptyFilter, parseAccountFilter, resolveInvitedBy } from '../../lib/admin/accountFilters.js'

export const ACCOUNT_COLUMNS: Column<AccountSummary>[] = [
  { header: 'HANDLE', value: (a) => a.handle },
  { header: 'EMAIL', value: (a) => a.email },
  { header: 'CONFIRMED', value: (a) => a.emailConfirmed },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'DID', value: (a) => a.did, optional: true },
  { header: 'CREATED', value: (a) => a.createdAt },
]

export default class AccountList extends PdsCommand<typeof AccountList> {
  static override summary = 'List every account with handle, email, confirmation and status'
  static override description = `Pages through com.atproto.sync.listRepos with cursors (1000 a page) and enriches each page with batched com.atproto.admin.getAccountInfos calls, so every account is listed however many there are.
Columns: handle, email, email confirmed, status (active, takendown, deactivated, …), DID, created.
Piped output is tab-separated (same column order, no header) and streams; --json streams an array.
Filters (the FILTER flags) combine with AND and run on the rows as they stream by (the PDS has no server-side search); --limit then counts matches. --output did|handle prints just that column, one per line, to pipe into a bulk verb (account takedown -, …).`
  static override examples = [
    '<%= config.bin %> account list',
    "<%= config.bin %> account list | awk -F'\\t' '$3 == \"false\" {print $1}'   # handles with unconfirmed email",
    '<%= config.bin %> account list --json | jq -r \'.[] | select(.status != "active") | .handle\'',
    '<%= config.bin %> account list --unconfirmed --created-after 7d --output did | <%= config.bin %> account takedown - --dry-run',
    "<%= config.bin %> account list --email '*@mailinator.com' --status active",
  ]
  static override flags = {
    limit: Flags.integer({ description: 'Stop after this many accounts (with filters: this many matches).', min: 1 }),
    // Triage filters (src/lib/admin/accountFilters.ts): combined with AND, applied as rows stream by.
    status: Flags.string({ description: 'Only accounts with this status (repeatable).', options: [...ACCOUNT_STATUSES], multiple: true, helpGroup: 'FILTER' }),
    confirmed: Flags.boolean({ description: 'Only accounts whose email is confirmed.', exclusive: ['unconfirmed', 'no-email'], helpGroup: 'FILTER' }),
    unconfirmed: Flags.boolean({ description: 'Only accounts without a confirmed email.', exclusive: ['confirmed'], helpGroup: 'FILTER' }),
    'no-email': Flags.boolean({ description: 'Only accounts with no email at all.', exclusive: ['confirmed', 'email'], helpGroup: 'FILTER' }),
    'created-after': Flags.string({ description: 'Only accounts created at or after DATE: 2026-11-01, 2026-11-01T12:00:00Z, or an age (30m, 12h, 7d, 2w).', helpGroup: 'FILTER' }),
    'created-before': Flags.string({ description: 'Only accounts created before DATE (same forms).', helpGroup: 'FILTER' }),
    handle: Flags.string({ description: "Only handles matching this glob (*, ?, [...]; case-insensitive), e.g. '*.pds.example.com'.", helpGroup: 'FILTER' }),
    email: Flags.string({ description: "Only emails matching this glob, e.g. '*@mailinator.com'.", helpGroup: 'FILTER' }),
    'invited-by': Flags.string({ description: 'Only accounts that signed up with this invite code, or with a code owned by this account (handle or DID), or admin (the admin pool).', helpGroup: 'FILTER' }),
    output: Flags.string({ description: 'Print only this column, one per line (no header, also on a terminal): for piping into a bulk verb.', options: ['did', 'handle'], exclusive: ['json'] }),
    'page-size': Flags.integer({ description: 'Accounts per listRepos page (1-1000, default 100).', min: 1, max: 1000, hidden: true }),
    // Tuning knobs for the bench's sweep (bench/bench.ts --only sweep); the defaults are its result.
    'batch-size': Flags.integer({ description: 'DIDs per getAccountInfos call (1-100).', min: 1, max: 100, hidden: true }),
    concurrency: Flags.integer({ description: 'getAccountInfos calls in flight (1-7).', min: 1, max: 7, hidden: true }),
  }

  /**
   * The rows stream to stdout and are not kept, so memory stays flat however many accounts
   * there are: run() returns the count. In-process callers that want the rows set
   * PDSCTL_KEEP_ROWS=1 (they then hold them all).
   */
  async run(): Promise<ListResult<AccountSummary>> {
    // Filters are checked before any request (exit 2 on bad input).
    const filter = await parseAccountFilter({
      status: this.flags.status,
      confirmed: this.flags.confirmed,
      unconfirmed: this.flags.unconfirmed,
      noEmail: this.flags['no-email'],
      createdAfter: this.flags['created-after'],
      createdBefore: this.flags['created-before'],
      handle: this.flags.handle,
      email: this.flags.email,
      invitedBy: this.flags['invited-by'],
    })
    const filtered = !isEmptyFilter(filter)
    const client = await this.client()
    const invited = filter.invitedBy ? await resolveInvitedBy(client, filter.invitedBy) : undefined
    const progress = { scanned: 0, matched: 0 }
    const listing = listAccounts(client, {
      limit: filtered ? undefined : this.flags.limit,
      pageSize: this.flags['page-size'],
      batchSize: this.flags['batch-size'],
      concurrency: this.flags.concurrency,
    })
    const source = filtered ? filterAccounts(listing, filter, { limit: this.flags.limit, invited, progress }) : listing
    const keep = process.env.PDSCTL_KEEP_ROWS === '1' ? ([] as AccountSummary[]) : undefined
    let count = 0
    const pages = (async function* (it: AsyncIterable<AccountSummary[]>) {
      for await (const page of it) {
        count += page.length
        keep?.push(...page)
        yield page
      }
    })(source)
    const column = this.flags.output as 'did' | 'handle' | undefined
    if (column) {
      // Just the column, one per line, streamed (also on a terminal): `| pdsctl account takedown -`.
      let skipped = 0
      for await (const page of pages) {
        // One value a line, escaped as a TSV field: a newline in a server's value can never
        // become a second line (a second account for the verb it is piped into).
        const values = page.map((a) => a[column]).filter((v): v is string => (v ? true : (skipped++, false)))
        await this.out.tsvRows(values.map((v) => [v]))
      }
      if (skipped) this.out.warn(`${skipped} matching account${skipped === 1 ? ' has' : 's have'} no ${column} and ${skipped === 1 ? 'was' : 'were'} left out`)
    } else if (this.out.json) await this.out.printJsonArray(pages)
    else await this.out.printRows(pages, ACCOUNT_COLUMNS)
    if (!count && !filtered) this.out.status(`no accounts on this PDS yet: ${this.config.bin} account create --handle HANDLE --email EMAIL`)
    else if (!count) this.out.status(`no matching accounts (${progress.scanned} scanned)`)
    else if (!this.out.json) {
      const n = count
      this.out.status(filtered ? `${n} matching account${n === 1 ? '' : 's'} (${progress.scanned} scanned)` : `${n} account${n === 1 ? '' : 's'}`)
    }
    return keep ? { count, rows: keep } : { count }
  }
}

/** What a listing's run() returns: the count; the rows only when PDSCTL_KEEP_ROWS=1. */
export interface ListResult<T> {
  count: number
  rows?: T[]
}
