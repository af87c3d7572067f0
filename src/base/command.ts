// The command class pdsctl's commands are built on, without oclif at run time. It keeps
// the static shape oclif reads (id, summary, flags, args, strict, …) so that `oclif
// manifest`, help and completion treat these classes as oclif commands, and the static
// run(argv, config) oclif's Config.runCommand calls (the in-process tests run commands
// that way). bin/run.js calls it with the small CliConfig below, so a command run never
// loads oclif: ~50 ms of start-up (importing @oclif/core/command and Config.load).
import path from 'node:path'
import type { Interfaces } from '@oclif/core'

/** What a command reads of its CLI: a subset of oclif's Config, so either can be passed. */
export interface CliConfig {
  /** The CLI's name as typed (`pdsctl`). */
  bin: string
  version: string
  /** Where saved contexts live: $PDSCTL_CONFIG_DIR, else $XDG_CONFIG_HOME/pdsctl or ~/.config/pdsctl (as oclif). */
  configDir: string
}

interface PackageJson {
  name: string
  version: string
  oclif: { bin?: string; dirname?: string }
}

/**
 * pdsctl's package.json: the nearest one above this module that has an oclif section
 * (this module runs from dist/base/ and, bundled, from dist/run/<topic>/).
 */
function ownPackageJson(): PackageJson {
  const { existsSync, readFileSync } = process.getBuiltinModule('node:fs')
  for (let depth = 0, dir = new URL('.', import.meta.url); depth < 8; depth++, dir = new URL('..', dir)) {
    const file = new URL('package.json', dir)
    // existsSync first: a failed read throws an error with a stack, at each level.
    if (!existsSync(file)) continue
    try {
      const pjson = JSON.parse(readFileSync(file, 'utf8')) as PackageJson
      if (pjson.oclif) return pjson
    } catch {
      // not JSON: look higher
    }
  }
  throw new Error(`pdsctl's package.json was not found above ${import.meta.url}`)
}

/** The CliConfig of this package, computed as oclif's Config computes the same fields. */
export function cliConfig(): CliConfig {
  const pjson = ownPackageJson()
  const name = pjson.oclif.bin ?? pjson.name
  // Started as kubectl's plugin (the package's kubectl-pds, bin/kubectl-pds.js), pdsctl is
  // `kubectl pds` to its user: its messages name it so. Its settings stay pdsctl's.
  const bin = /^kubectl-pds(\.js)?$/.test(path.basename(process.argv[1] ?? '')) ? 'kubectl pds' : name
  const scoped = process.env[`${name.replace(/[/-]/g, '_').toUpperCase()}_CONFIG_DIR`]
  const home = process.env.HOME || process.getBuiltinModule('node:os').homedir()
  const base = process.env.XDG_CONFIG_HOME || (process.platform === 'win32' && process.env.LOCALAPPDATA) || path.join(home, '.config')
  return { bin, version: pjson.version, configDir: scoped || path.join(base, pjson.oclif.dirname ?? pjson.name) }
}

/** A command class as the base commands' generics see it: its own flags and args. */
export interface CommandClass {
  flags?: Interfaces.FlagInput
  args?: Interfaces.ArgInput
}

export abstract class Command {
  // The statics oclif's manifest builder reads (same defaults as oclif's Command).
  static id?: string
  static summary?: string
  static description?: string
  static examples?: Array<string | { command: string; description: string }>
  static usage?: string | string[]
  static hidden?: boolean
  static aliases: string[] = []
  static hiddenAliases: string[] = []
  static flags?: Interfaces.FlagInput
  static baseFlags?: Interfaces.FlagInput
  static args: Interfaces.ArgInput = {}
  static strict = true
  static enableJsonFlag = false
  static hasDynamicHelp = false

  readonly id?: string

  constructor(
    readonly argv: string[],
    readonly config: CliConfig,
  ) {
    this.id = this.ctor.id
  }

  get ctor(): typeof Command {
    return this.constructor as typeof Command
  }

  /** Run the command: bin/run.js passes a CliConfig; oclif's Config.runCommand passes its Config. */
  static async run<T extends Command>(this: new (argv: string[], config: CliConfig) => T, argv: string[] = process.argv.slice(2), config?: CliConfig): Promise<unknown> {
    const cmd = new this(argv, config ?? cliConfig())
    return cmd._run()
  }

  async _run(): Promise<unknown> {
    let err: Error | undefined
    let result: unknown
    try {
      await this.init()
      result = await this.run()
    } catch (error) {
      err = error as Error
      await this.catch(err)
    } finally {
      await this.finally(err)
    }
    return result
  }

  abstract run(): Promise<unknown>
  async init(): Promise<void> {}
  async catch(err: Error): Promise<unknown> {
    throw err
  }
  async finally(_err: Error | undefined): Promise<void> {}
}
