// Runs the test files with node's test runner, 3 processes at a time, the files packed into
// PROCESSES groups of near-equal cost (scripts/cli-test-files.mjs's COSTS):
//   node scripts/run-tests.mjs          every test file (what `npm test` runs)
//   node scripts/run-tests.mjs --cli    the CLI test files (scripts/test-nodes.sh, on Node 22 and 26)
//   node scripts/run-tests.mjs FILE...  these files (paths from the checkout)
// The tests' TMPDIR is a folder of the run's, removed when the run ends.
// Any other argument goes to `node --test` before the files (e.g. --test-name-pattern=…).
//
// Why groups: a test process spends 4–5 CPU-s loading its modules before its first test
// (@atproto/pds and @did-plc/server: 3.7 CPU-s plain, 5.5 through tsx; the test's own
// TypeScript). On a 2-core CI machine every test pass is CPU-bound (1.92–1.94 cores busy on
// average), so the CPU saved is time saved, as long as the groups end together. Measured on
// the 97 light files (pdsctl on Node 24, table part 1/3, all 734 tests passing each time,
// 2026-12-02): one process a file 463 s wall and 881 CPU-s; 8 files a process 365 s, 651
// CPU-s; 16 a process 308 s, 572 CPU-s; 33 a process in path order 345 s, 550 CPU-s (the last
// group ran alone at the end). Packing by cost instead removes that tail: the Node 22 pass
// (68 CLI files, table part 2/3, 2026-12-03) took 566 s and 1,053 CPU-s in 6 packed groups,
// against 638 s and 1,200 CPU-s the same day with each of the 18 costliest files alone and the
// others 16 to a group (22 processes).
//
// A group is a module that imports its files one after another: node's runner runs it as one
// test file, so their tests run in one process, one file after the other, and the summary
// counts every test as before. This is what `--test-isolation=none` does for a whole run (the
// Node docs: globals and top-level hooks are shared among the files), kept to PROCESSES
// groups so that the runner still uses every core. A test must therefore not depend on a
// process-wide state another file may have set (src/lib/redaction.ts's registered secrets: a
// fake admin password "x" hid every "x" in a later file's messages); run a file alone with
// `node --import tsx --test FILE`.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { cliTestFiles, testFiles, wallOf, weightOf } from './cli-test-files.mjs'

const root = path.resolve(import.meta.dirname, '..')

/** How many processes a run's files are packed into: two for each of the 3 the runner runs at a time. */
export const PROCESSES = 6

/**
 * The processes of a run, in the order the runner starts them: the files packed into at most
 * `processes` groups of near-equal CPU (COSTS: each file in turn, the costliest first, to the
 * group that costs least so far), the costliest group first; in a group the longest file
 * (wall) runs first, so that the groups end with short files. A long file last in its group
 * ran alone at the end while the other core idled: c23a725's Node 24 pass ended with ~40 s of
 * one core or less busy, 131d027's (the costliest CPU first) with ~45 s. 82dcb7a's, with this
 * order, still did: a group holding more of the files that mostly wait (hangs, the package
 * test, signals) ends late, since the packing balances CPU only (README, "CI time").
 */
export function groupFiles(files, processes = PROCESSES, weight = weightOf, wall = wallOf) {
  const groups = Array.from({ length: Math.min(processes, files.length) }, () => ({ files: [], cost: 0 }))
  // Each file's place in `files` breaks ties, in both orders.
  const entries = files.map((f, i) => ({ f, i, w: weight(f), wall: wall(f) }))
  for (const e of [...entries].sort((a, b) => b.w - a.w || a.i - b.i)) {
    const least = groups.reduce((min, g) => (g.cost < min.cost ? g : min))
    least.files.push(e)
    least.cost += e.w
  }
  const longestFirst = (a, b) => b.wall - a.wall || a.i - b.i
  return groups.sort((a, b) => b.cost - a.cost).map((g) => g.files.sort(longestFirst).map((e) => e.f))
}

/** The source of a group's module: its files imported one after another (absolute URLs). */
export function groupModule(files) {
  return (
    `// pdsctl test group (scripts/run-tests.mjs): these test files in one process, one after another.\n` +
    files.map((f) => `await import(${JSON.stringify(pathToFileURL(path.resolve(root, f)).href)})\n`).join('')
  )
}

if (import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2)
  const cli = args.includes('--cli')
  // Arguments that are not options name the files to run (paths from the checkout), in place of every file.
  const given = args.filter((a) => !a.startsWith('-'))
  const passThrough = args.filter((a) => a !== '--cli' && a.startsWith('-'))
  const files = given.length ? given : cli ? cliTestFiles() : testFiles()
  // One folder for the run, removed when it ends however it ends: the group modules, and the
  // tests' TMPDIR, so that what a test leaves in os.tmpdir() (a temporary HOME of a killed
  // child, a bed's data) goes with the run instead of piling up in /tmp.
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tests-'))
  const testTmp = path.join(dir, 'tmp')
  mkdirSync(testTmp, { mode: 0o700 })
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  const entries = groupFiles(files).map((group, i) => {
    if (group.length === 1) return group[0]
    // Named after the group's first file, so that a line about the group says where to look.
    const name = `${String(i + 1).padStart(2, '0')}-${group[0].replace(/^test\//, '').replace(/\.test\.ts$/, '').replaceAll('/', '-')}-and-${group.length - 1}-more.mjs`
    const file = path.join(dir, name)
    writeFileSync(file, groupModule(group))
    return file
  })
  process.stderr.write(`scripts/run-tests.mjs: ${files.length} test files in ${entries.length} processes, 3 at a time (${dir})\n`)
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=3', '--test-timeout=180000', ...passThrough, ...entries],
    { cwd: root, stdio: 'inherit', env: { ...process.env, TMPDIR: testTmp } },
  )
  // Ctrl-C reaches the runner through the terminal's process group; SIGTERM sent to this
  // process alone is passed on, so that no test process is left behind.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const signal of signals) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    removeDir()
    // Ended by a signal: end the same way (without the handlers above, which would catch it).
    for (const s of signals) process.removeAllListeners(s)
    if (signal) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}
