// Runs the test files with node's test runner, CONCURRENCY processes at a time, the files
// packed into PROCESSES groups a pass of near-equal cost (scripts/cli-test-files.mjs's COSTS):
//   node scripts/run-tests.mjs                 every test file (what `npm test` runs)
//   node scripts/run-tests.mjs --cli           the CLI test files (those that spawn pdsctl)
//   node scripts/run-tests.mjs FILE...         these files (paths from the checkout)
//   node scripts/run-tests.mjs --other-nodes   and, in the same run, the CLI test files (or the
//                                              files given) again with pdsctl on each of
//                                              OTHER_NODES (what CI runs)
// Every table suite runs every case on each Node (test/helpers/tablePart.ts);
// PDSCTL_TABLE_PART=split with --other-nodes splits their cases among the Nodes instead (this
// one part 1 of 3, Node 22 part 2, Node 26 part 3: a third less time, each case once a run),
// and PDSCTL_TABLE_PART=K/N without it runs part K of N. The tests' TMPDIR is a folder of the
// run's, removed when the run ends.
// Any other argument goes to `node --test` before the files (e.g. --test-name-pattern=…).
//
// Why groups: a test process spends 4–5 CPU-s loading its modules before its first test
// (@atproto/pds and @did-plc/server: 3.7 CPU-s plain, 5.5 through tsx; the test's own
// TypeScript). On a 2-core CI machine where starting a process is dear every test pass is
// CPU-bound (1.92–1.94 cores busy on average), so the CPU saved is time saved, as long as the
// groups end together. Measured on
// the 97 light files (pdsctl on Node 24, table part 1/3, all 734 tests passing each time,
// 2026-12-02): one process a file 463 s wall and 881 CPU-s; 8 files a process 365 s, 651
// CPU-s; 16 a process 308 s, 572 CPU-s; 33 a process in path order 345 s, 550 CPU-s (the last
// group ran alone at the end). Packing by cost instead removes that tail: the Node 22 pass
// (68 CLI files, table part 2/3, 2026-12-03) took 566 s and 1,053 CPU-s in 6 packed groups,
// against 638 s and 1,200 CPU-s the same day with each of the 18 costliest files alone and the
// others 16 to a group (22 processes).
//
// Why one run for every Node: CI ran the Node 24 pass, then the Node 22 pass, then the Node
// 26 pass, and each ended with ~40–45 s of one core or less busy while its last group ran
// alone (c23a725, 131d027, 82dcb7a; ~30 s each in the 975 s baseline of 2026-12-03, on a
// faster machine). In one run the groups of all three are ordered largest first and share
// the slots, so only the run's end has such a tail.
//
// A group is a module that imports its files one after another: node's runner runs it as one
// test file, so their tests run in one process, one file after the other, and the summary
// counts every test as before. This is what `--test-isolation=none` does for a whole run (the
// Node docs: globals and top-level hooks are shared among the files), kept to PROCESSES
// groups so that the runner still uses every core. A test must therefore not depend on a
// process-wide state another file may have set (src/lib/redaction.ts's registered secrets: a
// fake admin password "x" hid every "x" in a later file's messages); run a file alone with
// `node --import tsx --test FILE`. A group of another Node's pass sets its environment
// (PDSCTL_NODE, PDSCTL_EXPECT_NODE; PDSCTL_TABLE_PART when split) before its first file, as
// the runner's environment set it for a pass of its own: test/helpers/cli.ts reads
// PDSCTL_NODE when it is first imported, so the groups of a pass never mix with another's.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { cliTestFiles, testFiles, wallOf, weightOf } from './cli-test-files.mjs'

const root = path.resolve(import.meta.dirname, '..')

/** How many processes a pass's files are packed into (a CI run: 3 passes, 18 processes). */
export const PROCESSES = 6

/**
 * How many test processes run at a time, on CI's 2 cores. 4: on a machine where a pass is
 * CPU-bound more did not help (5 at a time: 543 s against 550 for 3, 1.91 cores busy), but on
 * one where starting a process is cheap the tests wait more than they compute (the baseline
 * of 2026-12-03, 975 s: 1.61–1.67 cores busy on average, 3 at a time).
 */
export const CONCURRENCY = 4

/** The cores of CI's machine, for shareOf (fixed, so that the groups are the same on every machine). */
const CORES = 2

/**
 * A file's share of a run, for packing: the longer of its wall time alone and its CPU at
 * CONCURRENCY processes sharing CORES cores (COSTS). Packing by CPU alone left the groups
 * holding the files that mostly wait (the hangs table: 42 CPU-s in 91 s alone; the package
 * test: 10 CPU-s, ~40 s) ending late.
 */
export function shareOf(file) {
  return Math.max(wallOf(file), (weightOf(file) * CONCURRENCY) / CORES)
}

/**
 * The Nodes besides this one that CI runs pdsctl's CLI tests on (--other-nodes), so that CI
 * covers every major of package.json's engines (^22.22.2 || ^24.15.0 || >=26.0.0): 22.23.5
 * is the Node scripts/pds04.sh fetches for the 0.4.x bed (>= the floor 22.22.2), 26.12.1 the
 * newest 26 on npm and the single executable's. Fetched by scripts/fetch-node.sh.
 */
export const OTHER_NODES = Object.freeze(['22.23.5', '26.12.1'])

/**
 * A pass's processes: the files packed into at most `processes` groups of near-equal share
 * (shareOf: each file in turn, the largest first, to the group that has least so far), the
 * largest group first; in a group the longest file (wall) runs first, so that the groups end
 * with short files. A long file last in its group ran alone at the end while the other core
 * idled: c23a725's Node 24 pass ended with ~40 s of one core or less busy, 131d027's (the
 * costliest CPU first) with ~45 s. 82dcb7a's, with this order, still did, while the packing
 * weighed CPU only (README, "CI time").
 */
export function groupFiles(files, processes = PROCESSES, weight = shareOf, wall = wallOf) {
  return packGroups(files, processes, weight, wall).map((g) => g.files)
}

/** groupFiles' groups with what each weighs in all ({ files, cost }), for runGroups' order. */
function packGroups(files, processes, weight, wall) {
  const groups = Array.from({ length: Math.min(processes, files.length) }, () => ({ files: [], cost: 0 }))
  // Each file's place in `files` breaks ties, in both orders.
  const entries = files.map((f, i) => ({ f, i, w: weight(f), wall: wall(f) }))
  for (const e of [...entries].sort((a, b) => b.w - a.w || a.i - b.i)) {
    const least = groups.reduce((min, g) => (g.cost < min.cost ? g : min))
    least.files.push(e)
    least.cost += e.w
  }
  const longestFirst = (a, b) => b.wall - a.wall || a.i - b.i
  return groups.sort((a, b) => b.cost - a.cost).map((g) => ({ files: g.files.sort(longestFirst).map((e) => e.f), cost: g.cost }))
}

/** The source of a group's module: `env` set, then its files imported one after another (absolute URLs). */
export function groupModule(files, env = {}) {
  return (
    `// pdsctl test group (scripts/run-tests.mjs): these test files in one process, one after another.\n` +
    (Object.keys(env).length ? `Object.assign(process.env, ${JSON.stringify(env)})\n` : '') +
    files.map((f) => `await import(${JSON.stringify(pathToFileURL(path.resolve(root, f)).href)})\n`).join('')
  )
}

/**
 * The passes of a run: `files` with pdsctl on this Node, then `cliFiles` with pdsctl on each
 * of `others` ({ version, bin }), each with the environment its groups set. Every table case
 * runs on every Node, unless `part` is 'split' (PDSCTL_TABLE_PART=split): then, with other
 * Nodes, the table suites' cases are split among all of them, this Node part 1. Otherwise
 * the groups leave PDSCTL_TABLE_PART to the environment (unset, `all`, or a K/N run alone).
 */
export function passesOf({ files, cliFiles, here, others = [], part }) {
  const split = others.length > 0 && part === 'split'
  const envOf = (i) => (split ? { PDSCTL_TABLE_PART: `${i + 1}/${others.length + 1}` } : {})
  return [
    { node: here, files, env: envOf(0) },
    ...others.map((o, i) => ({ node: o.version, files: cliFiles, env: { PDSCTL_NODE: o.bin, PDSCTL_EXPECT_NODE: o.version, ...envOf(i + 1) } })),
  ]
}

/**
 * What PDSCTL_TABLE_PART a run refuses before it starts (a message), or undefined: `split`
 * needs other Nodes to split among, and a K/N of its own would give every Node the same part.
 */
export function partRefusal(part, otherNodes) {
  if (part === 'split' && !otherNodes) return 'PDSCTL_TABLE_PART=split splits the table cases among the Nodes of --other-nodes; add it, or unset PDSCTL_TABLE_PART'
  if (otherNodes && part && part !== 'all' && part !== 'split') return `PDSCTL_TABLE_PART=${part} with --other-nodes: each Node runs every table case, or its own part with PDSCTL_TABLE_PART=split; unset it, or set it to all or split`
  return undefined
}

/**
 * The processes of a run, in the order the runner starts them: each pass's files packed into
 * its own groups (groupFiles), then every group of every pass, the largest first (ties: the
 * earlier pass first). Each is { node, env, files, cost }.
 */
export function runGroups(passes, processes = PROCESSES, weight = shareOf, wall = wallOf) {
  const all = passes.flatMap((p, pass) => packGroups(p.files, processes, weight, wall).map((g) => ({ node: p.node, env: p.env, ...g, pass })))
  return all.sort((a, b) => b.cost - a.cost || a.pass - b.pass).map(({ pass, ...g }) => g)
}

/** The options a run was given (the header above lists them). */
export function parseArgs(args) {
  const cli = args.includes('--cli')
  const otherNodes = args.includes('--other-nodes')
  // Arguments that are not options name the files to run (paths from the checkout), in place of every file.
  const given = args.filter((a) => !a.startsWith('-'))
  const passThrough = args.filter((a) => a !== '--cli' && a !== '--other-nodes' && a.startsWith('-'))
  return { cli, otherNodes, given, passThrough }
}

if (import.meta.filename === process.argv[1]) {
  const { cli, otherNodes, given, passThrough } = parseArgs(process.argv.slice(2))
  const files = given.length ? given : cli ? cliTestFiles() : testFiles()
  const part = process.env.PDSCTL_TABLE_PART
  const refusal = partRefusal(part, otherNodes)
  if (refusal) {
    process.stderr.write(`scripts/run-tests.mjs: ${refusal}\n`)
    process.exit(2)
  }
  // Each other Node fetched (scripts/fetch-node.sh: already there after scripts/dev.sh's
  // set-up), and pdsctl checked to really run on it (its --version line) before any test.
  const others = (otherNodes ? OTHER_NODES : []).map((version) => {
    const bin = execFileSync('bash', [path.join(root, 'scripts/fetch-node.sh'), version], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)
    const line = execFileSync(bin, ['--', path.join(root, 'bin/run.js'), '--version'], { encoding: 'utf8' }).trim()
    if (!line.endsWith(` node-v${version}`)) {
      process.stderr.write(`scripts/run-tests.mjs: pdsctl on ${bin} printed "${line}", not node-v${version}\n`)
      process.exit(1)
    }
    return { version, bin }
  })
  const here = process.env.PDSCTL_NODE ? execFileSync(process.env.PDSCTL_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim() : process.versions.node
  const passes = passesOf({ files, cliFiles: given.length ? files : cliTestFiles(), here, others, part })
  // One folder for the run, removed when it ends however it ends: the group modules, and the
  // tests' TMPDIR, so that what a test leaves in os.tmpdir() (a temporary HOME of a killed
  // child, a bed's data) goes with the run instead of piling up in /tmp.
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tests-'))
  const testTmp = path.join(dir, 'tmp')
  mkdirSync(testTmp, { mode: 0o700 })
  const removeDir = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  // node's runner sorts the files it is given: each name starts with its place in the run.
  const entries = runGroups(passes).map((group, i) => {
    if (group.files.length === 1 && !Object.keys(group.env).length) return group.files[0]
    // Named after the pdsctl Node and the group's first file, so that a line about the group says where to look.
    const first = group.files[0].replace(/^test\//, '').replace(/\.test\.ts$/, '').replaceAll('/', '-')
    const name = `${String(i + 1).padStart(2, '0')}-node${group.node.split('.')[0]}-${first}-and-${group.files.length - 1}-more.mjs`
    const file = path.join(dir, name)
    writeFileSync(file, groupModule(group.files, group.env))
    return file
  })
  const partSaid = (p) => (p === undefined || p === '' || p === 'all' ? ' (every table case)' : ` (table part ${p})`)
  const said = passes.map((p, i) => `${p.files.length}${i ? '' : ' test files'} with pdsctl on Node ${p.node}${partSaid(p.env.PDSCTL_TABLE_PART ?? part)}`)
  process.stderr.write(`scripts/run-tests.mjs: ${said.join(', ')}, in ${entries.length} processes, ${CONCURRENCY} at a time (${dir})\n`)
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${CONCURRENCY}`, '--test-timeout=180000', ...passThrough, ...entries],
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
