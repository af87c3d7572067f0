import * as Flags from '../../base/flags.js'
import { PdsCommand } from '../../base/base-command.js'
import { resolveDid } from '../../lib/admin/accounts.js'
import { listInvites, type InviteFilter, type InviteSummary } from '../../lib/admin/invites.js'
import type { ListResult } from '../account/list.js'

export default class InviteList extends PdsCommand<typeof InviteList> {
  static override summary = 'List invite codes (every page), optionally only available, used or disabled ones'
  static override description = `Pages through com.atproto.admin.getInviteCodes with cursors (500 a page), newest first.
Columns: code, uses left, used, disabled, for account, created by, created. Piped: tab-separated, streamed.
JSON: an array of {code, available (uses granted), used, disabled, forAccount, createdBy, createdAt, usedBy[]}.`
  static override examples = ['<%= config.bin %> invite list --available', '<%= config.bin %> invite list --for alice.example.com --json']
  static override flags = {
    available: Flags.boolean({ description: 'Only codes with uses left and not disabled.', exclusive: ['used', 'disabled'] }),
    used: Flags.boolean({ description: 'Only codes used at least once.', exclusive: ['available', 'disabled'] }),
    disabled: Flags.boolean({ description: 'Only disabled codes.', exclusive: ['available', 'used'] }),
    for: Flags.string({ description: 'Only codes made for this account (handle or DID).' }),
    'page-size': Flags.integer({ description: 'Codes per getInviteCodes page (1-500).', min: 1, max: 500, default: 500, hidden: true }),
  }

  /** Streams the rows without keeping them: returns the count (rows with PDSCTL_KEEP_ROWS=1). */
  async run(): Promise<ListResult<InviteSummary>> {
    // identifiers.js (and @atproto/syntax, ~5 ms to load) only when an account is named.
    const ref = this.flags.for ? (await import('../../lib/pds/identifiers.js')).parseAccountRef(this.flags.for) : undefined
    const filter: InviteFilter = this.flags.available ? 'available' : this.flags.used ? 'used' : this.flags.disabled ? 'disabled' : 'all'
    const client = await this.client()
    const forDid = ref ? await resolveDid(client, ref, { admin: true }) : undefined
    const keep = process.env.PDSCTL_KEEP_ROWS === '1' ? ([] as InviteSummary[]) : undefined
    let count = 0
    const pages = (async function* (it: AsyncIterable<InviteSummary[]>) {
      for await (const page of it) {
        count += page.length
        keep?.push(...page)
        yield page
      }
    })(listInvites(client, { filter, forDid, pageSize: this.flags['page-size'] }))
    if (this.out.json) await this.out.printJsonArray(pages)
    else {
      await this.out.printRows(pages, [
        { header: 'CODE', value: (i) => i.code },
        { header: 'LEFT', value: (i) => Math.max(0, i.available - i.used) },
        { header: 'USED', value: (i) => i.used },
        { header: 'DISABLED', value: (i) => i.disabled },
        { header: 'FOR', value: (i) => i.forAccount },
        { header: 'CREATED BY', value: (i) => i.createdBy },
        { header: 'CREATED', value: (i) => i.createdAt },
      ])
      if (count) this.out.status(`${count} invite code${count === 1 ? '' : 's'}`)
    }
    if (!count) {
      const which = [filter === 'all' ? '' : filter, 'invite codes', forDid ? `for ${this.flags.for}` : ''].filter(Boolean).join(' ')
      this.out.status(`no ${which}${filter === 'all' && !forDid ? ' yet' : ''}: ${this.config.bin} invite create${forDid ? ` --for ${this.flags.for}` : ''}`)
    }
    return keep ? { count, rows: keep } : { count }
  }
}
