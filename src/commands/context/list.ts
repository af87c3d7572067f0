import { BaseCommand } from '../../base/base-command.js'
import { readContexts, summarizeContext, type ContextSummary } from '../../lib/cli/contexts.js'

export default class ContextList extends BaseCommand<typeof ContextList> {
  static override summary = 'List the saved contexts'
  static override description = 'With none saved, says so on stderr (exit 0).\nJSON: an array of {name, current, target, adminPassword} (where the password comes from; never the password).'
  static override examples = ['<%= config.bin %> context list', '<%= config.bin %> context list --json']

  async run(): Promise<ContextSummary[]> {
    const file = await readContexts(this.config.configDir)
    const rows = Object.entries(file.contexts).map(([name, ctx]) => summarizeContext(name, ctx, name === file.current))
    if (this.out.json) await this.out.printJson(rows)
    else {
      await this.out.printTable(rows, [
        { header: 'CURRENT', value: (r) => (r.current ? '*' : '') },
        { header: 'NAME', value: (r) => r.name },
        { header: 'TARGET', value: (r) => r.target },
        { header: 'ADMIN PASSWORD', value: (r) => r.adminPassword },
      ])
    }
    if (!rows.length) this.out.status(`no contexts yet: ${this.config.bin} context add NAME --url https://pds.example.com (or --kube-namespace NS --kube-service NAME)`)
    return rows
  }
}
