import * as Flags from '@oclif/core/flags'
import { PdsCommand } from '../../base/base-command.js'
import { listAccounts, type AccountSummary } from '../../lib/admin/accounts.js'
import type { Column } from '../../lib/cli/output.js'

export const ACCOUNT_COLUMNS: Column<AccountSummary>[] = [
  { header: 'HANDLE', value: (a) => a.handle },
  { header: 'EMAIL', value: (a) => a.email },
  { header: 'CONFIRMED', value: (a) => a.emailConfirmed },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'DID', value: (a) => a.did },
  { header: 'CREATED', value: (a) => a.createdAt },
]

export default class AccountList extends PdsCommand<typeof AccountList> {
  static override summary = 'List every account with handle, email, confirmation and status'
  static override description = `Pages through com.atproto.sync.listRepos with cursors (1000 a page) and enriches each page with batched com.atproto.admin.getAccountInfos calls, so every account is listed however many there are.
Columns: handle, email, email confirmed, status (active, takendown, deactivated, …), DID, created.
Piped output is tab-separated (same column order, no header) and streams; --json streams an array.`
  static override examples = [
    '<%= config.bin %> account list',
    "<%= config.bin %> account list | awk -F'\\t' '$3 == \"false\" {print $1}'   # handles with unconfirmed email",
    '<%= config.bin %> account list --json | jq -r \'.[] | select(.status != "active") | .handle\'',
  ]
  static override flags = {
    limit: Flags.integer({ description: 'Stop after this many accounts.', min: 1 }),
    'page-size': Flags.integer({ description: 'Accounts per listRepos page (1-1000).', min: 1, max: 1000, default: 1000, hidden: true }),
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
    const client = await this.client()
    const keep = process.env.PDSCTL_KEEP_ROWS === '1' ? ([] as AccountSummary[]) : undefined
    let count = 0
    const chunks = (async function* (it: AsyncIterable<AccountSummary[]>) {
      for await (const chunk of it) {
        count += chunk.length
        keep?.push(...chunk)
        yield chunk
      }
    })(listAccounts(client, { limit: this.flags.limit, pageSize: this.flags['page-size'], batchSize: this.flags['batch-size'], concurrency: this.flags.concurrency }))
    if (this.out.json) await this.out.printJsonArray(chunks)
    else await this.out.printRows(chunks, ACCOUNT_COLUMNS)
    if (!this.out.json) this.out.status(`${count} account${count === 1 ? '' : 's'}`)
    return keep ? { count, rows: keep } : { count }
  }
}

/** What a listing's run() returns: the count; the rows only when PDSCTL_KEEP_ROWS=1. */
export interface ListResult<T> {
  count: number
  rows?: T[]
}
