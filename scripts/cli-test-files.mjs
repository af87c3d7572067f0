// The CLI tests: every test file that spawns pdsctl, one path a line (relative to the
// checkout). A file is one when it, or a test module it imports (test/faults/support.ts),
// calls what spawns bin/run.js: runCli, runPty, spawnCli, or uses CLI_NODE (the Node
// test/helpers/cli.ts runs pdsctl on). scripts/run-tests.mjs --other-nodes runs these again
// with pdsctl on Node 22 and 26 (each table suite its own part of its cases: test/helpers/tablePart.ts);
// test/nodes.test.ts checks that no test spawns bin/run.js another way.
//   node scripts/cli-test-files.mjs          the CLI test files
//   node scripts/cli-test-files.mjs --all    every test file (what `npm test` runs)
// Both lists are in path order; scripts/run-tests.mjs packs them into processes by COSTS.
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

// What each test file costs run alone: [CPU-seconds (user + system, its pdsctl processes and
// beds included), wall seconds]. The CLI files with pdsctl on Node 22.23.5, the others on Node
// 24.18.1, 2026-12-03, 2 cores; bench, the single executable and the package (npm pack, npm
// install -g) from a CI run, where they wait on builds and npm. The table suites (bench,
// migrate-interrupt, the fault reads and writes, the hostile secrets and terminal tables)
// were measured with a third of their cases (table part 2/3) and scaled by what every case
// cost against that third, both alone on a faster machine later that day (the terminal table:
// 81.8 CPU-s and 50.9 s against 28.3 and 17.0).
// scripts/run-tests.mjs packs the files into processes of near-equal CPU by these, and runs
// the longest (wall) first in each; a file missing here counts as DEFAULT_COST, a name here
// that is no test file is reported by test/nodes.test.ts. Within 2x is close enough: the
// packing only balances.
export const COSTS = Object.freeze(
  Object.fromEntries(
    Object.entries({
      'base/base-command.test.ts': [4, 5], 'base/flags.test.ts': [1, 1],
      'base/parse-differential.test.ts': [7, 5], 'base/parse.test.ts': [1, 1],
      'bed/fakeKube.test.ts': [2, 3], 'bed/faults.test.ts': [2, 7], 'bed/forwardProxy.test.ts': [1, 3],
      'bed/lying.test.ts': [1, 1], 'bed/pds.test.ts': [10, 8], 'bench.test.ts': [19, 28],
      'bin/internals.test.ts': [1, 1], 'bin/kubectl-pds.test.ts': [11, 12],
      'bin/run.test.ts': [11, 12], 'commands/account/admin.test.ts': [22, 36],
      'commands/account/batch.test.ts': [21, 20], 'commands/account/filters.test.ts': [15, 18],
      'commands/account/list.test.ts': [16, 15],
      'commands/account/migrate-interrupt.test.ts': [45, 87],
      'commands/account/migrate-lines.test.ts': [19, 27],
      'commands/account/migrate-ratelimit.test.ts': [17, 25],
      'commands/account/migrate.test.ts': [29, 46], 'commands/backup/backup.test.ts': [26, 39],
      'commands/backup/limits.test.ts': [44, 61], 'commands/backup/progress.test.ts': [7, 9],
      'commands/config/check.test.ts': [5, 7], 'commands/context/context.test.ts': [9, 12],
      'commands/doctor.test.ts': [10, 15], 'commands/dropped-connections.test.ts': [7, 12],
      'commands/email/confirm.test.ts': [11, 16], 'commands/email/send.test.ts': [10, 15],
      'commands/email/test.test.ts': [8, 15], 'commands/exit-codes.test.ts': [11, 14],
      'commands/handle/check.test.ts': [9, 9], 'commands/health.test.ts': [7, 9],
      'commands/identity/add-rotation-key.test.ts': [17, 23],
      'commands/identity/check.test.ts': [22, 23], 'commands/identity/input.test.ts': [5, 6],
      'commands/identity/interactive.test.ts': [7, 8], 'commands/identity/move-host.test.ts': [17, 19],
      'commands/interactive.test.ts': [10, 11], 'commands/invite/create.test.ts': [7, 8],
      'commands/invite/list.test.ts': [8, 9], 'commands/invite/tree.test.ts': [10, 11],
      'commands/k8s/manifests.test.ts': [3, 4], 'commands/k8s/status.test.ts': [11, 11],
      'commands/k8s/upgrade-versions.test.ts': [15, 16], 'commands/k8s/upgrade.test.ts': [19, 27],
      'commands/kube/kube.test.ts': [30, 46], 'commands/lists.test.ts': [7, 7],
      'commands/proxy.test.ts': [9, 10], 'commands/record/takedown.test.ts': [7, 9],
      'commands/relay/accounts.test.ts': [15, 19], 'commands/relay/doctor-relays.test.ts': [7, 8],
      'commands/relay/fix-desync.test.ts': [15, 18], 'commands/relay/status.test.ts': [13, 25],
      'commands/secrets/generate.test.ts': [4, 4], 'commands/stats.test.ts': [8, 8],
      'commands/version.test.ts': [9, 10], 'commands/words.test.ts': [7, 7],
      'commands/xrpc.test.ts': [6, 7], 'compat/lines.test.ts': [29, 32],
      'faults/hangs.test.ts': [42, 91], 'faults/reads-pds04.test.ts': [71, 86],
      'faults/reads.test.ts': [76, 99], 'faults/signals.test.ts': [23, 21],
      'faults/writes-pds04.test.ts': [90, 71], 'faults/writes.test.ts': [102, 88],
      'hostile/firehose.test.ts': [9, 15], 'hostile/links.test.ts': [22, 25],
      'hostile/manifests.test.ts': [25, 28], 'hostile/paths.test.ts': [22, 24],
      'hostile/real-pds.test.ts': [39, 31], 'hostile/secrets.test.ts': [63, 43],
      'hostile/terminal-pty.test.ts': [151, 106], 'hostile/terminal.test.ts': [211, 200],
      'lib/admin/accountFilters.test.ts': [1, 1], 'lib/admin/accounts.test.ts': [1, 1],
      'lib/admin/batch.test.ts': [1, 1], 'lib/admin/invites.test.ts': [1, 1],
      'lib/admin/stats.test.ts': [1, 1], 'lib/backup/backup.test.ts': [6, 6],
      'lib/backup/carCommit.test.ts': [7, 7], 'lib/backup/safePaths.test.ts': [1, 1],
      'lib/backup/verify.test.ts': [1, 1], 'lib/cli/argv.test.ts': [1, 1],
      'lib/cli/envFile.test.ts': [1, 1], 'lib/cli/kubectlPlugin.test.ts': [1, 1],
      'lib/cli/output.test.ts': [1, 1], 'lib/cli/safeFiles.test.ts': [1, 1],
      'lib/cli/settings.test.ts': [1, 1], 'lib/cli/suggest.test.ts': [1, 1],
      'lib/cli/terminalText.test.ts': [1, 1], 'lib/federation/firehoseSeq.test.ts': [6, 8],
      'lib/federation/hostLimit.test.ts': [1, 1], 'lib/federation/relayAccounts.test.ts': [1, 1],
      'lib/federation/tid.test.ts': [1, 1], 'lib/identity/codec.test.ts': [1, 1],
      'lib/identity/didDocument.test.ts': [5, 4], 'lib/identity/keys.test.ts': [1, 1],
      'lib/identity/plcOperation.test.ts': [1, 1], 'lib/k8s/discover.test.ts': [2, 1],
      'lib/k8s/imageTags.test.ts': [1, 1], 'lib/k8s/portForward.test.ts': [8, 14],
      'lib/k8s/secret.test.ts': [2, 2], 'lib/k8s/status.test.ts': [1, 3],
      'lib/k8s/upgrade.test.ts': [2, 2], 'lib/migrate/state.test.ts': [1, 1],
      'lib/pds/http.test.ts': [1, 1], 'lib/pds/identifiers.test.ts': [1, 1],
      'lib/pds/proxy.test.ts': [1, 1], 'lib/pds/urls.test.ts': [1, 1],
      'lib/pds/webSocket.test.ts': [1, 1], 'lib/pds/xrpcCall.test.ts': [2, 1],
      'lib/pds/xrpcClient.test.ts': [5, 9], 'lib/redaction.test.ts': [1, 1],
      'lib/selfhost/firehoseCheck.test.ts': [5, 8], 'lib/selfhost/smtp.test.ts': [1, 1],
      'manifest.test.ts': [1, 1], 'nodes.test.ts': [5, 5], 'package.test.ts': [10, 40],
      'sea/main.test.ts': [12, 23],
    }).map(([f, cost]) => [`test/${f}`, Object.freeze(cost)]),
  ),
)

/** The cost of a file not in COSTS (a new one): about a command's test file. */
export const DEFAULT_COST = Object.freeze([8, 10])

/** A file's CPU-seconds, for packing (COSTS). */
export function weightOf(file) {
  return (COSTS[file] ?? DEFAULT_COST)[0]
}

/** A file's wall seconds, for the order in its process (COSTS). */
export function wallOf(file) {
  return (COSTS[file] ?? DEFAULT_COST)[1]
}

/** Every test file (not the 0.4.x bed's node_modules), in path order. */
export function testFiles() {
  const files = readdirSync(path.join(root, 'test'), { recursive: true })
    .map((f) => path.join('test', f))
    .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
    .sort()
  return files
}

/** The test files that spawn pdsctl, in testFiles()'s order. */
export function cliTestFiles() {
  return testFiles().filter((f) => spawnsPdsctl(f))
}

if (import.meta.filename === process.argv[1]) {
  const all = process.argv.includes('--all')
  process.stdout.write((all ? testFiles() : cliTestFiles()).join('\n') + '\n')
}
