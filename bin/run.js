#!/usr/bin/env -S node --
// pdsctl entry point (the published binary). Runs the compiled commands in dist/ with
// the oclif manifest, so start-up never scans or compiles anything. Three paths:
// - `--version` is answered from package.json without loading oclif (same text as oclif's);
// - a command named in the manifest is imported and run without loading oclif at all
//   (src/base/command.ts, src/base/parse.ts): oclif's Config, command class and parser
//   cost ~50 ms of every run;
// - everything else (help, topics, unknown commands and did-you-mean, autocomplete, no
//   arguments) goes through oclif's own execute(), as before.
// The `--` in the shebang ends Node's own options: without it Node takes `--env-file`
// (and friends) after the script name for itself (nodejs/node#54232), loading or failing
// on the file before pdsctl sees the flag.
import { readFileSync } from 'node:fs'
import module from 'node:module'
import v8 from 'node:v8'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`Error: pdsctl needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js.\n`)
  process.exit(2)
}
// A reader that went away (`pdsctl account list | head`) ends pdsctl quietly, as with gh
// and kubectl: exit 0, no EPIPE error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}
// Nothing left to wait for while the command has not finished: its input ended under it
// (Ctrl-D at a prompt). Say so, instead of Node's "unsettled top-level await" (exit 13).
let finished = false
process.once('beforeExit', () => {
  if (!finished) {
    process.stderr.write('Error: interrupted (the input ended)\n')
    process.exit(130)
  }
})
// undici parses HTTP with a WebAssembly build of llhttp. V8 compiles it with its baseline
// compiler (Liftoff) and then re-compiles hot functions with TurboFan in the background;
// a process may not exit while that runs, which cost ~40 ms at the end of any command
// that made two or more requests. The baseline code is plenty for CLI-sized responses.
// `--no-wasm-tier-up` no longer stops it (V8's dynamic tiering ignores it), and
// --liftoff-only is read only at start-up; a tiering budget no function reaches does, set
// here (measured on Node 24, `health` on the test bed: 120 → 78 ms, the process had
// waited 40 ms after its 'exit' event for that thread).
v8.setFlagsFromString('--wasm-tiering-budget=2000000000')
// Young-generation growth is what makes a long listing's memory climb with its length
// (survivors of each scavenge grow the semi-space to its maximum); kept at its start
// size, peak RSS stays flat from 20k to 200k accounts (bench/).
v8.setFlagsFromString('--semi-space-growth-factor=1')

const argv = process.argv.slice(2)
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
if (argv[0] === '--version') {
  const os = await import('node:os')
  // oclif's Config.userAgent: name/version platform-arch node-version.
  const wsl = process.platform === 'linux' && os.release().toLowerCase().includes('microsoft')
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${wsl ? 'wsl' : process.platform}-${arch} node-${process.version}\n`)
  process.exit(0)
}

// Cache V8 bytecode of the modules pdsctl loads (oclif, undici, …) between runs.
module.enableCompileCache?.()
const { hoistLeadingFlags } = await import('../dist/lib/cli/argv.js')
const args = hoistLeadingFlags(argv)

/**
 * The command id named by the leading words of args, or undefined: the longest run of words
 * that is a command (oclif's rule for a space separator), so `backup verify DIR` is
 * `backup:verify` even though `backup DIR` is a command too. Topics are the ids' prefixes.
 */
function findCommandId(commands, args) {
  const topics = new Set()
  for (const id of Object.keys(commands)) {
    const parts = id.split(':')
    for (let i = 1; i < parts.length; i++) topics.add(parts.slice(0, i).join(':'))
  }
  let found
  const words = []
  for (const arg of args) {
    if (arg === '--' || arg.startsWith('-')) break
    const id = [...words, arg].join(':')
    const cmd = commands[id]
    if (!cmd && !topics.has(id)) break
    words.push(arg)
    if (cmd) found = { id, cmd, rest: args.slice(words.length) }
  }
  return found
}

// A command named in the manifest runs without oclif (src/base/command.ts): its class is
// imported from the manifest's path and given its arguments. Help (--help, no arguments,
// a topic), unknown commands and completion go to oclif's own execute().
const wantsHelp = args.length === 0 || args.slice(0, (args.indexOf('--') + 1 || args.length + 1) - 1).some((a) => a === '--help' || a === '-h')
const manifest = wantsHelp ? undefined : JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8'))
const found = manifest && findCommandId(manifest.commands, args)
if (!found) {
  const require = module.createRequire(import.meta.url)
  // oclif's execute() loads its help system through its error handler on every path;
  // a stand-in loads it only when help is really shown.
  const helpPath = require.resolve('@oclif/core/help')
  if (!require.cache[helpPath]) {
    let real
    const load = () => {
      if (!real) {
        delete require.cache[helpPath]
        real = require(helpPath)
      }
      return real
    }
    const standIn = new module.Module(helpPath)
    standIn.filename = helpPath
    standIn.loaded = true
    standIn.exports = new Proxy({}, {
      get: (_, key) => load()[key],
      has: (_, key) => key in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key)
        return d && { ...d, configurable: true }
      },
    })
    require.cache[helpPath] = standIn
  }
  const { execute } = await import('@oclif/core/execute')
  await execute({ dir: import.meta.url, args })
  finished = true
} else {
  let error
  try {
    const mod = await import(new URL(`../${found.cmd.relativePath.join('/')}`, import.meta.url).href)
    const Command = typeof mod.default?.run === 'function' ? mod.default : Object.values(mod).find((c) => typeof c?.run === 'function')
    Command.id = found.id
    await Command.run(found.rest)
  } catch (err) {
    error = err
  }
  finished = true
  if (error && !error.skipOclifErrorHandling) {
    // Not one of pdsctl's own errors (those are printed already): one line, the stack with --debug.
    if (args.includes('--debug') && error?.stack) process.stderr.write(`${error.stack}\n`)
    process.stderr.write(`Error: internal error: ${error?.message ?? error} (run with --debug for details)\n`)
    process.exit(1)
  }
  // Let stdout drain before exiting (as oclif's flush does).
  await new Promise((resolve) => (process.stdout.write('') ? resolve() : process.stdout.once('drain', resolve)))
  if (error) process.exit(error.oclif?.exit ?? 1)
}
