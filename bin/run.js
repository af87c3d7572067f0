#!/usr/bin/env -S node --
// pdsctl entry point (the published binary). Runs the compiled commands in dist/, so
// start-up never scans or compiles anything. Three paths:
// - `--version` is answered from package.json without loading oclif (same text as oclif's);
// - a command is imported from its compiled file and run without loading oclif at all
//   (src/base/command.ts, src/base/parse.ts): oclif's Config, command class and parser
//   cost ~50 ms of every run;
// - everything else (help, topics, unknown commands and did-you-mean, autocomplete, no
//   arguments) goes through oclif's own execute() and the manifest.
// The `--` in the shebang ends Node's own options: without it Node takes `--env-file`
// (and friends) after the script name for itself (nodejs/node#54232), loading or failing
// on the file before pdsctl sees the flag.
const [major] = process.versions.node.split('.').map(Number)
if (major < 22 || typeof process.getBuiltinModule !== 'function') {
  process.stderr.write(`Error: pdsctl needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js.\n`)
  process.exit(2)
}
// node:fs by getBuiltinModule: an ES import of it costs ~3.5 ms (its namespace's getters).
const { existsSync, readdirSync, readFileSync } = process.getBuiltinModule('node:fs')
// A reader that went away (`pdsctl account list | head`) ends pdsctl quietly, as with gh
// and kubectl: exit 0, no EPIPE error.
const onStreamError = (err) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
}
process.stdout.on('error', onStreamError)
process.stderr.on('error', onStreamError)
// Nothing left to wait for while the command has not finished: its input ended under it
// (Ctrl-D at a prompt). Say so, instead of Node's "unsettled top-level await" (exit 13).
let finished = false
process.once('beforeExit', () => {
  if (!finished) {
    process.stderr.write('Error: interrupted (the input ended)\n')
    process.exit(130)
  }
})
const argv = process.argv.slice(2)
if (argv[0] === '--version') {
  const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  const os = await import('node:os')
  // oclif's Config.userAgent: name/version platform-arch node-version.
  const wsl = process.platform === 'linux' && os.release().toLowerCase().includes('microsoft')
  const arch = os.arch() === 'ia32' ? 'x86' : os.arch()
  process.stdout.write(`${pjson.name}/${pjson.version} ${wsl ? 'wsl' : process.platform}-${arch} node-${process.version}\n`)
  process.exit(0)
}

// V8's compiled code for pdsctl's files is kept between runs (Node's compile cache, as tsc
// does): the command's bundle is one ~90 KB file whose parse was ~2.5 ms of every run
// (measured: the first request of `account list` 1.5 ms sooner). It lives in the user's
// cache directory, not the shared /tmp; where it cannot be written, Node runs without it.
// NODE_COMPILE_CACHE (another directory) and NODE_DISABLE_COMPILE_CACHE=1 are Node's own.
// Its folders are made 0700 here (Node makes them 0777 less the umask: 0777 under umask 000)
// and used only when they are real folders of this user's (not links): V8 would load what
// another user wrote there into the next pdsctl.
const cacheHome = process.env.XDG_CACHE_HOME || (process.env.HOME && `${process.env.HOME}/.cache`)
const nodeDecides = process.env.NODE_DISABLE_COMPILE_CACHE || process.env.NODE_COMPILE_CACHE
const cacheDir = cacheHome && !nodeDecides && privateFolder(`${cacheHome}/pdsctl`, true) && privateFolder(`${cacheHome}/pdsctl/compile-cache`, false)
if (cacheDir) process.getBuiltinModule('node:module').enableCompileCache?.(cacheDir)
// Leading flags (`pdsctl --context prod account list`) are moved after the command words,
// before any `--`, knowing which take a value from the base command's own definitions; the
// module is loaded only when there are some (src/base/command-line.ts, bundled).
const commandLine = () => import('../dist/run/command-line.js')
let args = argv
if (argv[0]?.startsWith('-')) {
  const { hoistLeadingFlags, SHARED_FLAGS } = await commandLine()
  args = hoistLeadingFlags(argv, SHARED_FLAGS)
}

/** `dir`, made 0700 if missing (and its parents, when `parents`); the path when it is a real folder of this user's, 0700; else undefined. */
function privateFolder(dir, parents) {
  try {
    const { mkdirSync, lstatSync, chmodSync } = process.getBuiltinModule('node:fs')
    try {
      mkdirSync(dir, { recursive: parents, mode: 0o700 })
    } catch (err) {
      if (err.code !== 'EEXIST') return undefined
    }
    const st = lstatSync(dir)
    if (!st.isDirectory() || (typeof process.getuid === 'function' && st.uid !== process.getuid())) return undefined
    if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
    return dir
  } catch {
    return undefined
  }
}

/**
 * The command named by the leading words of args, or undefined: the longest run of words
 * that names a command file, as oclif maps them (`account list` is account/list.js,
 * `backup` is backup/index.js), so `backup verify DIR` is backup:verify even though
 * `backup DIR` is a command too. The files are the bundled ones in dist/run/ (one file a
 * command, dist/run/account/list/main.js: scripts/bundle-commands.mjs). No manifest is read on this path (200 KB,
 * ~3.5 ms of every run); help and completion read it.
 */
function findCommand(args) {
  const words = []
  for (const arg of args) {
    if (words.length === 3 || !/^[a-z][a-z0-9-]*$/.test(arg)) break
    words.push(arg)
  }
  for (let k = words.length; k > 0; k--) {
    for (const file of [`${words.slice(0, k).join('/')}/main.js`, `${words.slice(0, k).join('/')}/index/main.js`]) {
      const url = new URL(`../dist/run/${file}`, import.meta.url)
      if (existsSync(url)) return { id: words.slice(0, k).join(':'), url, rest: args.slice(k) }
    }
  }
  return undefined
}

// A command found that way runs without oclif (src/base/command.ts): its class is
// imported and given its arguments. Help (--help, no arguments, a topic), unknown
// commands and completion go to oclif's own execute().
// `-h` is help wherever `--help` is (package.json oclif.additionalHelpFlags), up to any `--`.
const wantsHelp = args.length === 0 || args.slice(0, (args.indexOf('--') + 1 || args.length + 1) - 1).some((a) => a === '--help' || a === '-h')
const found = wantsHelp ? undefined : findCommand(args)
// Flags between a command's words (`pdsctl account --json list`) are an error naming the
// command meant (exit 2), not the topic's help: looked for when no command was found, or
// when flags follow one that has longer commands under it (`backup --json verify DIR`).
const deeper = (f) => readdirSync(new URL('.', f.url.href.replace(/\/index\/main\.js$/, '/main.js')), { withFileTypes: true }).some((e) => e.isDirectory() && e.name !== 'index')
if (!wantsHelp && (!found || (found.rest[0]?.startsWith('-') && deeper(found)))) {
  const isCommand = (words) => findCommand(words)?.rest.length === 0
  const line = (await commandLine()).misplacedFlagsLine(args, isCommand, 'pdsctl')
  if (line) {
    process.stderr.write(`Error: ${line}\n`)
    if (args.includes('--json')) process.stdout.write(JSON.stringify({ error: { name: 'UsageError', message: line, exitCode: 2 } }, null, 2) + '\n')
    process.exit(2)
  }
}
if (!found) {
  const { execute } = await import('@oclif/core/execute')
  await execute({ dir: import.meta.url, args })
  finished = true
} else {
  let error
  try {
    const mod = await import(found.url.href)
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
