// Runs the test files with node's test runner, 3 processes at a time, the light files
// grouped several to a process:
//   node scripts/run-tests.mjs          every test file (what `npm test` runs)
//   node scripts/run-tests.mjs --cli    the CLI test files (scripts/test-nodes.sh, on Node 22 and 26)
//   node scripts/run-tests.mjs FILE...  these files (paths from the checkout)
// The tests' TMPDIR is a folder of the run's, removed when the run ends.
// Any other argument goes to `node --test` before the files (e.g. --test-name-pattern=…).
//
// Why groups: a test process spends 4–5 CPU-s loading its modules before its first test
// (@atproto/pds and @did-plc/server: 3.7 CPU-s plain, 5.5 through tsx; the test's own
// TypeScript), which a light file's tests then use for 2–10 s. Measured on the 97 light files
// (every file but HEAVIEST, pdsctl on Node 24, table part 1/3, 3 processes at a time, all 734
// tests passing each time, 2026-12-02): one process a file 463 s wall and 881 CPU-s; 8 files
// a process 365 s, 651 CPU-s; 16 a process 308 s, 572 CPU-s; 33 a process 345 s, 550 CPU-s
// (fewer, longer processes leave a core idle at the end). On a 2-core CI machine every test
// pass is CPU-bound, so the CPU saved is time saved.
//
// A group is a module that imports its files one after another: node's runner runs it as one
// test file, so their tests run in one process, one file after the other, and the summary
// counts every test as before. This is what `--test-isolation=none` does for a whole run (the
// Node docs: globals and top-level hooks are shared among the files), kept to a few files at
// a time so that the runner still uses every core. A test must therefore not depend on a
// process-wide state another file may have set (src/lib/redaction.ts's registered secrets: a
// fake admin password "x" hid every "x" in a later file's messages); run a file alone with
// `node --import tsx --test FILE`. The HEAVIEST files (scripts/cli-test-files.mjs) run alone,
// first, as before; the rest go GROUP_SIZE at a time in path order, so that files of one
// folder, which load the same modules, share a process.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { cliTestFiles, HEAVIEST, testFiles } from './cli-test-files.mjs'

const root = path.resolve(import.meta.dirname, '..')

/** Files of a light group. */
export const GROUP_SIZE = 16

/**
 * The processes of a run, in the order the runner starts them: each HEAVIEST file alone, then
 * the others in order, at most GROUP_SIZE to a group, the groups of near-equal sizes.
 */
export function groupFiles(files, size = GROUP_SIZE) {
  const heavy = files.filter((f) => HEAVIEST.includes(f)).map((f) => [f])
  const light = files.filter((f) => !HEAVIEST.includes(f))
  // As few groups as GROUP_SIZE allows, of near-equal sizes (98 files: 7 of 14, not 6 of 16 and one of 2).
  const count = Math.ceil(light.length / size)
  const groups = []
  for (let i = 0; i < count; i++) groups.push(light.slice(Math.round((i * light.length) / count), Math.round(((i + 1) * light.length) / count)))
  return [...heavy, ...groups]
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
