import * as Flags from '../base/flags.js'
import { PdsCommand } from '../base/base-command.js'
import { collectStats, renderSignupChart, type Stats } from '../lib/admin/stats.js'

export default class StatsCommand extends PdsCommand<typeof StatsCommand> {
  static override summary = 'Accounts by status and email confirmation, sign-ups per day, invite codes: the numbers to look at before a spam clean-up'
  static override description = `One streaming pass over the accounts (sync.listRepos + admin.getAccountInfos) and one over the invite codes (admin.getInviteCodes); only counters are kept, so memory stays flat however many accounts there are.
On a terminal: the totals and a bar chart of sign-ups per day (UTC) over the last --days days, so a spike of bots stands out. Piped: tab-separated lines (section, key, value…). 
JSON: {accounts: {total, byStatus, emailConfirmed, emailUnconfirmed, noEmail, newest: {did, handle, createdAt}|null, oldest}, signupsByDay: [{date, count}], invites: {total, available, used, disabled}}.`
  static override examples = ['<%= config.bin %> stats', '<%= config.bin %> stats --days 7 --json', "<%= config.bin %> stats | awk -F'\\t' '$1 == \"signups\" && $3 > 50'"]
  static override flags = {
    days: Flags.integer({ description: 'Sign-ups per day over this many days, up to today (UTC).', default: 30, min: 1, max: 3660 }),
    'page-size': Flags.integer({ description: 'Accounts per listRepos page (1-1000, default 100).', min: 1, max: 1000, hidden: true }),
  }

  async run(): Promise<Stats> {
    const client = await this.client()
    const stats = await collectStats(client, { days: this.flags.days, pageSize: this.flags['page-size'] })
    const a = stats.accounts
    if (this.out.json) await this.out.printJson(stats)
    else if (this.out.mode === 'tsv') {
      const rows: unknown[][] = [
        ['accounts', 'total', a.total],
        ...Object.entries(a.byStatus).map(([k, v]) => ['status', k, v]),
        ['email', 'confirmed', a.emailConfirmed],
        ['email', 'unconfirmed', a.emailUnconfirmed],
        ['email', 'none', a.noEmail],
        ['newest', a.newest?.did, a.newest?.handle, a.newest?.createdAt],
        ['oldest', a.oldest?.did, a.oldest?.handle, a.oldest?.createdAt],
        ...stats.signupsByDay.map((d) => ['signups', d.date, d.count]),
        ['invites', 'total', stats.invites.total],
        ['invites', 'available', stats.invites.available],
        ['invites', 'used', stats.invites.used],
        ['invites', 'disabled', stats.invites.disabled],
      ]
      await this.out.tsvRows(rows)
    } else {
      const ref = (r: Stats['accounts']['newest']) => (r ? `${r.handle ?? r.did}  ${r.createdAt}` : null)
      await this.out.printFields([
        ['Accounts', a.total],
        ['By status', Object.entries(a.byStatus).map(([k, v]) => `${k} ${v}`).join(', ') || null],
        ['Email', `${a.emailConfirmed} confirmed, ${a.emailUnconfirmed} unconfirmed, ${a.noEmail} none`],
        ['Newest', ref(a.newest)],
        ['Oldest', ref(a.oldest)],
        ['Invite codes', `${stats.invites.total} total, ${stats.invites.available} available, ${stats.invites.used} used, ${stats.invites.disabled} disabled`],
      ])
      const total = stats.signupsByDay.reduce((n, d) => n + d.count, 0)
      await this.out.line(`\nSign-ups per day (UTC), last ${this.flags.days} day${this.flags.days === 1 ? '' : 's'}: ${total}`)
      const width = Math.min(process.stdout.columns || 80, 120)
      await this.out.printLines(renderSignupChart(stats.signupsByDay, width))
    }
    return stats
  }
}
