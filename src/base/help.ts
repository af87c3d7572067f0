// pdsctl's help (package.json oclif.helpClass). Two changes to oclif's:
// - USAGE shows the command's own arguments and flags, then one `[GLOBAL FLAGS]`: the ~17
//   flags every command shares (output, connection, Kubernetes: those with a helpGroup)
//   keep their own sections below instead of burying the command's flags in the line;
// - every example line keeps its `$ ` prompt (oclif drops it unless the line starts with
//   `pdsctl`, so `printf … | pdsctl …` and `eval "$(pdsctl …)"` lost theirs).
import { CommandHelp, Help } from '@oclif/core/help'
import type { Command } from '@oclif/core/command'

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
}
