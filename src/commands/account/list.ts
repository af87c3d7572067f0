import * as Flags from '@oclif/core/flags'
import { PdsCommand } from '../../base/base-command.js'
import { listAccounts, type AccountSummary } from '../../lib/admin/accounts.js'
import type { Column } from '../../lib/cli/output.js'

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
Piped output is tab-separated (same column order, no header) and streams; --json streams an array.`
  static override examples = [
    '<%= config.bin %> account list',
    "<%= config.bin %> account list | awk -F'\\t' '$3 == \"false\" {print $1}'   # handles with unconfirmed email",
    '<%= config.bin %> account list --json | jq -r \'.[] | select(.status != "active") | .handle\'',
  ]
  static override flags = {
    limit: Flags.integer({ description: 'Stop after this many accounts.', min: 1 }),
    'page-size': Flags.integer({ description: 'Accounts per listRepos page (1-1000).', min: 1, max: 1000, default: 1000, hidden: true }),
  }

  async run(): Promise<AccountSummary[]> {
    const client = await this.client()
    const all: AccountSummary[] = []
    const pages = (async function* (it: AsyncIterable<AccountSummary[]>) {
      for await (const page of it) {
        all.push(...page)
        yield page
      }
    })(listAccounts(client, { limit: this.flags.limit, pageSize: this.flags['page-size'] }))
    if (this.out.json) await this.out.printJsonArray(pages)
    else await this.out.printRows(pages, ACCOUNT_COLUMNS)
    if (!all.length) this.out.status(`no accounts on this PDS yet: ${this.config.bin} account create --handle HANDLE --email EMAIL`)
    else if (!this.out.json) this.out.status(`${all.length} account${all.length === 1 ? '' : 's'}`)
    return all
  }
}
