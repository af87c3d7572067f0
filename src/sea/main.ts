// The single executable's entry (`npm run build:binary`, scripts/build-binary.mjs): that
// build bundles this module and the manifests into the executable's main script, and each
// command (and oclif, src/sea/oclif.ts) with what it loads into an asset of its own, which
// the main script compiles only when it is run; Node's single-executable-application
// builder puts them into a node binary. It does what bin/run.js does, without reading a
// file of its own:
// - `--version`: the same line (oclif's userAgent), without oclif;
// - a command: its bundled class, run with the CliConfig of the package.json built in
//   (src/base/command.ts), without oclif;
// - everything else (help, topics, `help`, completion, unknown commands): oclif's Config,
//   given the manifests built in through its `plugins` load option (one plugin object each
//   for pdsctl, @oclif/plugin-help and @oclif/plugin-autocomplete, whose commands load the
//   bundled classes instead of importing files), routed as oclif's run() routes them. Help
//   is pdsctl's Help class and an unknown command gets not-found.ts's did-you-mean: what
//   package.json's helpClass and command_not_found hook name, which oclif would import
//   from files.
// Kept in step with bin/run.js by test/sea/binary.test.ts (the same output for help,
// versions, unknown commands, leading flags and errors).
import type { Command as OclifCommand, Config, Interfaces } from '@oclif/core'
import { cliConfigOf, type PackageJson } from '../base/command.js'
import { SHARED_FLAGS, hoistLeadingFlags, misplacedFlagsLine } from '../base/command-line.js'

type Module = Record<string, unknown>

/** A package built into the executable: its package.json, its oclif manifest and its command modules. */
export interface BundledPackage {
  pjson: Interfaces.PJSON
  manifest: Interfaces.Manifest
  /** Each command id's module (an asset of the executable: loading it reads no file and compiles that command only). */
  commands: Record<string, () => Promise<Module>>
}

export interface SeaContents {
  /** pdsctl itself. */
  root: BundledPackage
  /** The oclif plugins package.json lists (help, autocomplete). */
  plugins: BundledPackage[]
  /** oclif, the Help class and the not-found hook (src/sea/oclif.ts): loaded for help, completion and unknown commands only. */
  oclif: () => Promise<typeof import('./oclif.js')>
}

const commandClass = (mod: Module): (typeof OclifCommand & { id?: string }) | undefined =>
  [mod.default, ...Object.values(mod)].find((c): c is typeof OclifCommand => typeof (c as { run?: unknown })?.run === 'function')

export async function main(contents: SeaContents): Promise<void> {
  // A reader that went away (`pdsctl account list | head`) ends pdsctl quietly (bin/run.js).
  const onStreamError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  }
  process.stdout.on('error', onStreamError)
  process.stderr.on('error', onStreamError)
  let finished = false
  process.once('beforeExit', () => {
    if (!finished) {
      process.stderr.write('Error: interrupted (the input ended)\n')
      process.exit(130)
    }
  })
  const pjson = contents.root.pjson as Interfaces.PJSON & PackageJson
  const argv = process.argv.slice(2)
  if (argv[0] === '--version') {
    const os = process.getBuiltinModule('node:os')
    const wsl = process.platform === 'linux' && os.release().toLowerCase().includes('microsoft')
    const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
    process.stdout.write(`${pjson.name}/${pjson.version} ${wsl ? 'wsl' : process.platform}-${arch} node-${process.version}\n`)
    process.exit(0)
  }
  const args = argv[0]?.startsWith('-') ? hoistLeadingFlags(argv, SHARED_FLAGS) : argv
  const beforeDashDash = args.slice(0, (args.indexOf('--') + 1 || args.length + 1) - 1)
  const wantsHelp = args.length === 0 || beforeDashDash.some((a) => a === '--help' || a === '-h')
  const found = wantsHelp ? undefined : findCommand(args, contents.root.commands)
  // Flags between a command's words: the error bin/run.js gives (exit 2), not the topic's help.
  const deeper = (id: string) => Object.keys(contents.root.commands).some((c) => c.startsWith(`${id}:`))
  if (!wantsHelp && (!found || (found.rest[0]?.startsWith('-') && deeper(found.id)))) {
    const isCommand = (words: string[]) => findCommand(words, contents.root.commands)?.rest.length === 0
    const line = misplacedFlagsLine(args, isCommand, 'pdsctl')
    if (line) {
      process.stderr.write(`Error: ${line}\n`)
      if (args.includes('--json')) process.stdout.write(JSON.stringify({ error: { name: 'UsageError', message: line, exitCode: 2 } }, null, 2) + '\n')
      process.exit(2)
    }
  }
  if (!found) {
    await viaOclif(contents, args)
    finished = true
    return
  }
  let error: (Error & { skipOclifErrorHandling?: boolean; oclif?: { exit?: number } }) | undefined
  try {
    const Command = commandClass(await contents.root.commands[found.id]())!
    Command.id = found.id
    await (Command.run as (argv: string[], config: unknown) => Promise<unknown>)(found.rest, cliConfigOf(pjson))
  } catch (err) {
    error = err as typeof error
  }
  finished = true
  if (error && !error.skipOclifErrorHandling) {
    if (args.includes('--debug') && error?.stack) process.stderr.write(`${error.stack}\n`)
    process.stderr.write(`Error: internal error: ${error?.message ?? error} (run with --debug for details)\n`)
    process.exit(1)
  }
  await new Promise<void>((resolve) => (process.stdout.write('') ? resolve() : process.stdout.once('drain', resolve)))
  if (error) process.exit(error.oclif?.exit ?? 1)
}

/** The command named by the leading words of args (the longest run that is a command id), as bin/run.js finds it. */
function findCommand(args: string[], commands: SeaContents['root']['commands']): { id: string; rest: string[] } | undefined {
  const words: string[] = []
  for (const arg of args) {
    if (words.length === 3 || !/^[a-z][a-z0-9-]*$/.test(arg)) break
    words.push(arg)
  }
  for (let k = words.length; k > 0; k--) {
    const id = words.slice(0, k).join(':')
    if (Object.hasOwn(commands, id)) return { id, rest: args.slice(k) }
  }
  return undefined
}

/**
 * What bin/run.js leaves to oclif's execute(): its run() (version, help, topic, command,
 * else the command_not_found hook), its flush and its error handler, on a Config made from
 * the bundled packages.
 */
async function viaOclif(contents: SeaContents, argv: string[]): Promise<void> {
  const { Config, flush, handle } = await contents.oclif()
  try {
    const root = process.getBuiltinModule('node:path').dirname(process.execPath)
    const plugins = new Map([contents.root, ...contents.plugins].map((p, i) => [p.pjson.name, bundledPlugin(p, root, i === 0)] as const))
    const config = await Config.load({ root, plugins })
    await route(config, argv, contents)
    await flush()
  } catch (error) {
    await handle(error instanceof Error ? error : new Error(String(error)))
  }
}

async function route(config: Config, argv: string[], contents: SeaContents): Promise<void> {
  const { getHelpFlagAdditions, normalizeArgv, PdsctlHelp, notFound, error, exit } = await contents.oclif()
  const showHelp = (args: string[], all?: boolean) => new PdsctlHelp(config, { ...config.pjson.oclif.helpOptions, ...(all === undefined ? {} : { all }) }).showHelp(args)
  // oclif's run(): `--version` first, then help (no arguments, or a help flag before `--`).
  if (argv[0] === '--version') {
    process.stdout.write(`${config.userAgent}\n`)
    return
  }
  const helpFlags = getHelpFlagAdditions(config)
  const dashdash = argv.indexOf('--')
  if (argv.length === 0 || (dashdash === -1 ? argv : argv.slice(0, dashdash)).some((a) => helpFlags.includes(a))) {
    await showHelp(argv)
    return
  }
  const [id, ...rest] = normalizeArgv(config, argv)
  const cmd = config.findCommand(id)
  if (!cmd) {
    if (config.findTopic(id)) {
      await showHelp([id])
      return
    }
    // package.json's command_not_found hook, called as oclif calls a hook.
    const context = { config, debug() {}, error, exit, log: (...a: unknown[]) => process.stdout.write(`${a.join(' ')}\n`), warn: (m: string | Error) => process.stderr.write(`${m}\n`) }
    await notFound.call(context as never, { argv: rest, config, context: context as never, id })
    return
  }
  if (cmd.id === 'help') {
    // @oclif/plugin-help's command, with pdsctl's Help class (which it would import by the path in package.json).
    const helpPackage = [contents.root, ...contents.plugins].find((p) => p.manifest.commands[cmd.id] && p.pjson.name === cmd.pluginName)!
    const HelpCommand = commandClass(await helpPackage.commands.help())!
    class BundledHelpCommand extends HelpCommand {
      override async run(): Promise<void> {
        // HelpCommand's own statics: parse() spreads the class it is given, and statics a subclass inherits are not its own.
        const { argv: subject, flags } = await this.parse(HelpCommand)
        await showHelp(subject as string[], flags['nested-commands'])
      }
    }
    await BundledHelpCommand.run(rest, config)
    return
  }
  await config.runCommand(id, rest, cmd)
}

/** oclif's Plugin interface for a bundled package: its manifest's commands, whose load() takes the bundled class. */
function bundledPlugin(pkg: BundledPackage, root: string, isRoot: boolean): Interfaces.Plugin {
  const { pjson, manifest } = pkg
  const type = 'core'
  const load = async (id: string): Promise<OclifCommand.Class> => {
    const importer = pkg.commands[id]
    const cmd = importer && commandClass(await importer())
    if (!cmd) throw new Error(`command ${id} not found`)
    return Object.assign(cmd, { id }) as unknown as OclifCommand.Class
  }
  const commands = Object.entries(manifest.commands)
    .map(([id, c]) => ({ ...c, load: () => load(id), pluginAlias: pjson.name, pluginType: type }))
    .sort((a, b) => a.id.localeCompare(b.id))
  const topics = (pjson.oclif.topics ?? {}) as Record<string, { description?: string; hidden?: boolean }>
  const plugin: Interfaces.Plugin = {
    _base: `${pjson.name}@${pjson.version}`,
    alias: pjson.name,
    commandIDs: Object.keys(manifest.commands),
    commands,
    commandsDir: undefined,
    findCommand: ((id: string, opts?: { must: boolean }) => {
      if (!pkg.commands[id] && !opts?.must) return undefined
      return load(id)
    }) as Interfaces.Plugin['findCommand'],
    hasManifest: true,
    hooks: {},
    isRoot,
    async load() {},
    moduleType: pjson.type === 'module' ? 'module' : 'commonjs',
    name: pjson.name,
    options: { root, isRoot, pjson },
    pjson,
    root,
    topics: Object.entries(topics).map(([name, t]) => ({ ...t, name })),
    type,
    valid: true,
    version: pjson.version,
  }
  return plugin
}
