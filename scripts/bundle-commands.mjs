// The run path's command files (npm run build): each compiled command in dist/commands/
// bundled on its own into dist/run/<command path>/main.js with the pdsctl modules it
// imports statically; what it imports dynamically (a prompt, kubectl, identifiers, …)
// stays lazy in chunks beside it, and npm packages stay imports (but one, below). bin/run.js loads a
// command from there: one file instead of ~20 ES modules, measured 45 vs 48 ms to the
// first request of `health` (medians of 21 alternated runs, Node 24). dist/commands/ stays
// as tsc wrote it, for oclif's manifest, help and in-process callers.
import { build } from 'esbuild'
import { readdirSync } from 'node:fs'
import path from 'node:path'

// npm packages stay imports, but for @atproto/syntax: every command that takes a handle or
// DID validates it before its first request, and the package's index loads its 13 files
// (measured: `account takedown DID` sent its first request ~9 ms later). Bundled, and its
// files marked free of side effects (they only declare), only the three validators pdsctl
// calls remain: not even its datetime check's CommonJS dependency, whose import from an ES
// module cost ~4 ms more (Node's CommonJS export lexer).
const INLINE = ['@atproto/syntax']
const RESOLVING = Symbol('resolving')
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === RESOLVING || args.path.startsWith('node:')) return undefined
      const inlined = INLINE.includes(args.path) || INLINE.some((name) => args.importer.includes(`/node_modules/${name}/`))
      if (!inlined) return /^[./]/.test(args.path) ? undefined : { path: args.path, external: true }
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING })
      return resolved.errors.length ? { errors: resolved.errors } : { ...resolved, sideEffects: false }
    })
  },
}

const root = path.resolve(import.meta.dirname, '..')
const commands = path.join(root, 'dist', 'commands')
const files = readdirSync(commands, { recursive: true }).filter((f) => f.endsWith('.js'))
await Promise.all(
  files.map((file) =>
    build({
      entryPoints: { main: path.join(commands, file) },
      // account/list.js → dist/run/account/list/; backup/index.js → dist/run/backup/index/
      outdir: path.join(root, 'dist', 'run', file.replace(/\.js$/, '')),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node22',
      plugins: [externalPackages],
      logLevel: 'warning',
    }),
  ),
)
// What bin/run.js reads before it knows the command (leading flags, flags between command
// words): src/base/command-line.ts, one file.
await build({
  entryPoints: [path.join(root, 'dist', 'base', 'command-line.js')],
  outfile: path.join(root, 'dist', 'run', 'command-line.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  plugins: [externalPackages],
  logLevel: 'warning',
})
