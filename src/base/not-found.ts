// The command_not_found hook (package.json oclif.hooks): a mistyped command gets a
// did-you-mean on stderr and exit 2 (bad input), on a terminal and in a pipe alike, and
// never a prompt (oclif's plugin-not-found asks on a terminal only, and exits 127).
import type { Config } from '@oclif/core/interfaces'
import type { Hook } from '@oclif/core/hooks'
import { suggestCommand } from '../lib/cli/suggest.js'
import { jsonSafe, terminalLine } from '../lib/cli/terminalText.js'

/** The one line for a command that does not exist, with the nearest one if any. */
export function notFoundLine(config: Config, words: string[]): string {
  const sep = config.topicSeparator
  const visible = config.commands.filter((c) => !c.hidden)
  const ids = [
    ...visible.map((c) => c.id.split(':')),
    ...visible.flatMap((c) => c.aliases.map((a) => a.split(':'))),
    ...config.topics.filter((t) => !t.hidden).map((t) => t.name.split(':')),
  ]
  const suggestion = suggestCommand(words, ids)
  const typed = words.join(sep)
  return suggestion
    ? `"${typed}" is not a ${config.bin} command. Did you mean: ${config.bin} ${suggestion.join(sep)}?`
    : `"${typed}" is not a ${config.bin} command. Run ${config.bin} help for the list`
}

const hook: Hook.CommandNotFound = async function (opts) {
  const line = notFoundLine(opts.config, opts.id.split(':'))
  // The words typed are echoed: escaped like every other error line.
  process.stderr.write(`Error: ${terminalLine(line)}\n`)
  if (opts.argv?.includes('--json')) {
    process.stdout.write(jsonSafe(JSON.stringify({ error: { name: 'UsageError', message: line, exitCode: 2 } }, null, 2)) + '\n')
  }
  this.exit(2)
}

export default hook
