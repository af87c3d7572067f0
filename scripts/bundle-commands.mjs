// The run path's command files (npm run build): each compiled command in dist/commands/
// bundled on its own into dist/run/<command path>/main.js with the pdsctl modules it
// imports statically; what it imports dynamically (a prompt, kubectl, identifiers, …)
// stays lazy in chunks beside it, and npm packages stay imports. bin/run.js loads a
// command from there: one file instead of ~20 ES modules, measured 45 vs 48 ms to the
// first request of `health` (medians of 21 alternated runs, Node 24). dist/commands/ stays
// as tsc wrote it, for oclif's manifest, help and in-process callers.
import { build } from 'esbuild'
import { readdirSync } from 'node:fs'
import path from 'node:path'

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
      packages: 'external',
      logLevel: 'warning',
    }),
  ),
)
