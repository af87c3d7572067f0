// The CLI tests: every test file that spawns pdsctl, one path a line (relative to the
// checkout). A file is one when it, or a test module it imports (test/faults/support.ts),
// calls what spawns bin/run.js: runCli, runPty, spawnCli, or uses CLI_NODE (the Node
// test/helpers/cli.ts runs pdsctl on). scripts/test-nodes.sh runs these again with pdsctl
// on Node 22 and 26 (each table suite its own part of its cases: test/helpers/tablePart.ts);
// test/nodes.test.ts checks that no test spawns bin/run.js another way.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
// Where the helpers are defined: importing one of these for cleanEnv or ROOT does not make a CLI test.
const DEFINERS = new Set(['test/helpers/cli.ts', 'test/helpers/pty.ts'])
const SPAWNS = /\b(runCli|runPty|spawnCli|CLI_NODE)\b/
const IMPORT = /(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g

/** Whether the file or a module it imports (transitively, inside the checkout) spawns pdsctl. */
function spawnsPdsctl(file, seen = new Set()) {
  if (seen.has(file)) return false
  seen.add(file)
  const text = readFileSync(path.join(root, file), 'utf8')
  if (!DEFINERS.has(file) && SPAWNS.test(text)) return true
  for (const [, spec] of text.matchAll(IMPORT)) {
    const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), spec.replace(/\.js$/, '.ts')))
    if (!DEFINERS.has(target) && existsSync(path.join(root, target)) && spawnsPdsctl(target, seen)) return true
  }
  return false
}

export function cliTestFiles() {
  return readdirSync(path.join(root, 'test'), { recursive: true })
    .map((f) => path.join('test', f))
    .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
    .sort()
    .filter((f) => spawnsPdsctl(f))
}

if (import.meta.filename === process.argv[1]) {
  process.stdout.write(cliTestFiles().join('\n') + '\n')
}
