import * as Args from '../../base/args.js'
import { BaseCommand } from '../../base/base-command.js'
import { useContext } from '../../lib/cli/contexts.js'

export default class ContextUse extends BaseCommand<typeof ContextUse> {
  static override summary = 'Make a saved context the current one'
  static override examples = ['<%= config.bin %> context use home']
  static override args = { name: Args.string({ description: 'The context.', required: true }) }

  async run(): Promise<{ current: string }> {
    await useContext(this.config.configDir, this.args.name)
    if (this.out.json) await this.out.printJson({ current: this.args.name })
    else this.out.status(`Current context: ${this.args.name}`)
    return { current: this.args.name }
  }
}
