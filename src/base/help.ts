// pdsctl's help (package.json oclif.helpClass). Two changes to oclif's:
// - USAGE shows the command's own arguments and flags, then one `[GLOBAL FLAGS]`: the ~17
//   flags every command shares (output, connection, Kubernetes: those with a helpGroup)
//   keep their own sections below instead of burying the command's flags in the line;
// - `help` for a command that does not exist gets the did-you-mean of not-found.ts;
// - every example line keeps its `$ ` prompt (oclif drops it unless the line starts with
//   `pdsctl`, so `printf … | pdsctl …` and `eval "$(pdsctl …)"` lost theirs).
import { CommandHelp, Help } from '@oclif/core/help'
import type { Command } from '@oclif/core/command'
import { exit } from '@oclif/core/errors'

/** The flags every command shares carry a helpGroup (OUTPUT, CONNECTION, KUBERNETES); a command's own do not. */
export const isGlobalFlag = (flag: { helpGroup?: string }): boolean => Boolean(flag.helpGroup)

export class PdsctlCommandHelp extends CommandHelp {
  protected override defaultUsage(): string {
    const all = this.command
    const own = Object.fromEntries(Object.entries(all.flags ?? {}).filter(([, f]) => !isGlobalFlag(f)))
    const hasGlobal = Object.values(all.flags ?? {}).some((f) => isGlobalFlag(f) && !f.hidden)
    this.command = { ...all, flags: own } as Command.Loadable
    try {
      return super.defaultUsage() + (hasGlobal ? ' [GLOBAL FLAGS]' : '')
    } finally {
      this.command = all
    }
  }

  /** The shared flags' sections read GLOBAL OUTPUT FLAGS, GLOBAL CONNECTION FLAGS…, matching `[GLOBAL FLAGS]`. */
  protected override groupFlags(flags: Command.Flag.Any[]): ReturnType<CommandHelp['groupFlags']> {
    const { flagGroups, mainFlags } = super.groupFlags(flags)
    return { mainFlags, flagGroups: Object.fromEntries(Object.entries(flagGroups).map(([k, v]) => [`GLOBAL ${k}`, v])) }
  }

  protected override examples(examples: Command.Example[] | string | undefined): string | undefined {
    if (!examples) return super.examples(examples)
    const withPrompt = (line: string) => (/^\s*(\$ |<%= config\.bin %>)/.test(line) || !line.trim() ? line : `$ ${line}`)
    const list = (Array.isArray(examples) ? examples : [examples]).map((e) =>
      typeof e === 'string' ? e.split('\n').map(withPrompt).join('\n') : e,
    )
    return super.examples(list)
  }
}

export default class PdsctlHelp extends Help {
  override CommandHelpClass = PdsctlCommandHelp

  /** `pdsctl help acount`: the same did-you-mean line as `pdsctl acount`, exit 2 (not oclif's "› Error: Command acount not found."). */
  override async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (err) {
      const m = /^Command (.+) not found\.?$/.exec((err as Error).message ?? '')
      if (!m) throw err
      const { notFoundLine } = await import('./not-found.js')
      const { terminalLine } = await import('../lib/cli/terminalText.js')
      process.stderr.write(`Error: ${terminalLine(notFoundLine(this.config, m[1].split(/[: ]/)))}\n`)
      exit(2)
    }
  }
}
