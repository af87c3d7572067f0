// The CLI tests: every test file that spawns pdsctl, one path a line (relative to the
// checkout). A file is one when it, or a test module it imports (test/faults/support.ts),
// calls what spawns bin/run.js: runCli, runPty, spawnCli, or uses CLI_NODE (the Node
// test/helpers/cli.ts runs pdsctl on). scripts/test-nodes.sh runs these again with pdsctl
// on Node 22 and 26 (each table suite its own part of its cases: test/helpers/tablePart.ts);
// test/nodes.test.ts checks that no test spawns bin/run.js another way.
//   node scripts/cli-test-files.mjs          the CLI test files
//   node scripts/cli-test-files.mjs --all    every test file (what `npm test` runs)
// Both lists put the longest files first (HEAVIEST), then the rest in path order: the runner
// starts files in the order given, 3 at a time, and a long file started last ran alone at the
// end while the other cores idled.
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

// The longest test files, longest first (wall time of each alone, pdsctl on Node 24 with
// table part 1/3, 2026-12-02: 98 s down to 34 s; the other 100 files took 2–30 s). A name
// here that no longer exists is skipped; a file missing here only starts later.
export const HEAVIEST = [
  'test/faults/hangs.test.ts',
  'test/hostile/terminal.test.ts',
  'test/hostile/terminal-pty.test.ts',
  'test/commands/backup/limits.test.ts',
  'test/faults/writes.test.ts',
  'test/commands/account/migrate.test.ts',
  'test/compat/lines.test.ts',
  'test/faults/reads-pds04.test.ts',
  'test/faults/reads.test.ts',
  'test/commands/kube/kube.test.ts',
  'test/hostile/real-pds.test.ts',
  'test/faults/writes-pds04.test.ts',
  'test/commands/backup/backup.test.ts',
  'test/commands/account/batch.test.ts',
  'test/hostile/secrets.test.ts',
  'test/commands/account/admin.test.ts',
  'test/faults/signals.test.ts',
  'test/hostile/links.test.ts',
]

/** Every test file (not the 0.4.x bed's node_modules), the longest first, then in path order. */
export function testFiles() {
  const files = readdirSync(path.join(root, 'test'), { recursive: true })
    .map((f) => path.join('test', f))
    .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
    .sort()
  const rank = (f) => (HEAVIEST.includes(f) ? HEAVIEST.indexOf(f) : HEAVIEST.length)
  return files.sort((a, b) => rank(a) - rank(b))
}

/** The test files that spawn pdsctl, in testFiles()'s order. */
export function cliTestFiles() {
  return testFiles().filter((f) => spawnsPdsctl(f))
}

if (import.meta.filename === process.argv[1]) {
  const all = process.argv.includes('--all')
  process.stdout.write((all ? testFiles() : cliTestFiles()).join('\n') + '\n')
}
