import * as Args from '../../base/args.js'
import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import { removeContext } from '../../lib/cli/contexts.js'

export default class ContextRemove extends BaseCommand<typeof ContextRemove> {
  static override summary = 'Remove a saved context'
  static override examples = ['<%= config.bin %> context remove lab --yes']
  static override args = { name: Args.string({ description: 'The context.', required: true }) }
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' }) }

  async run(): Promise<{ removed: string }> {
    await this.confirmOrYes(`Remove the saved context "${this.args.name}"?`, this.flags.yes)
    await removeContext(this.config.configDir, this.args.name)
    if (this.out.json) await this.out.printJson({ removed: this.args.name })
    else this.out.status(`Removed context ${this.args.name}`)
    return { removed: this.args.name }
  }
}
