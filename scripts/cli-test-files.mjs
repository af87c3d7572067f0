// The CLI tests: every test file that spawns pdsctl, one path a line (relative to the
// checkout). A file is one when it, or a test module it imports (test/faults/support.ts),
// calls what spawns bin/run.js: runCli, runPty, spawnCli, or uses CLI_NODE (the Node
// test/helpers/cli.ts runs pdsctl on). scripts/test-nodes.sh runs these again with pdsctl
// on Node 22 and 26 (each table suite its own part of its cases: test/helpers/tablePart.ts);
// test/nodes.test.ts checks that no test spawns bin/run.js another way.
//   node scripts/cli-test-files.mjs          the CLI test files
//   node scripts/cli-test-files.mjs --all    every test file (what `npm test` runs)
// Both lists are in path order; scripts/run-tests.mjs packs them into processes by WEIGHTS.
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

// What each test file costs, in CPU-seconds (user + system, its pdsctl processes and beds
// included), run alone: the CLI files with pdsctl on Node 22.23.5 and table part 2/3, the
// others on Node 24.18.1, 2026-12-03, 2 cores (bench and the single executable estimated: they
// need dist/binary). scripts/run-tests.mjs packs the files into processes of near-equal cost
// by these; a file missing here counts as DEFAULT_WEIGHT, a name here that is no test file is
// reported by test/nodes.test.ts. Within 2x is close enough: the packing only balances.
export const WEIGHTS = Object.freeze(
  Object.fromEntries(
    Object.entries({
      'base/base-command.test.ts': 4, 'base/flags.test.ts': 1, 'base/parse-differential.test.ts': 7,
      'base/parse.test.ts': 1, 'bed/fakeKube.test.ts': 2, 'bed/faults.test.ts': 2,
      'bed/forwardProxy.test.ts': 1, 'bed/lying.test.ts': 1, 'bed/pds.test.ts': 10, 'bench.test.ts': 8,
      'bin/internals.test.ts': 1, 'bin/kubectl-pds.test.ts': 11, 'bin/run.test.ts': 11,
      'commands/account/admin.test.ts': 22, 'commands/account/batch.test.ts': 21,
      'commands/account/filters.test.ts': 15, 'commands/account/list.test.ts': 16,
      'commands/account/migrate-interrupt.test.ts': 21, 'commands/account/migrate-lines.test.ts': 19,
      'commands/account/migrate-ratelimit.test.ts': 17, 'commands/account/migrate.test.ts': 29,
      'commands/backup/backup.test.ts': 26, 'commands/backup/limits.test.ts': 44,
      'commands/backup/progress.test.ts': 7, 'commands/config/check.test.ts': 5,
      'commands/context/context.test.ts': 9, 'commands/doctor.test.ts': 10,
      'commands/dropped-connections.test.ts': 7, 'commands/email/confirm.test.ts': 11,
      'commands/email/send.test.ts': 10, 'commands/email/test.test.ts': 8,
      'commands/exit-codes.test.ts': 11, 'commands/handle/check.test.ts': 9,
      'commands/health.test.ts': 7, 'commands/identity/add-rotation-key.test.ts': 17,
      'commands/identity/check.test.ts': 22, 'commands/identity/input.test.ts': 5,
      'commands/identity/interactive.test.ts': 7, 'commands/identity/move-host.test.ts': 17,
      'commands/interactive.test.ts': 10, 'commands/invite/create.test.ts': 7,
      'commands/invite/list.test.ts': 8, 'commands/invite/tree.test.ts': 10,
      'commands/k8s/manifests.test.ts': 3, 'commands/k8s/status.test.ts': 11,
      'commands/k8s/upgrade-versions.test.ts': 15, 'commands/k8s/upgrade.test.ts': 19,
      'commands/kube/kube.test.ts': 30, 'commands/lists.test.ts': 7, 'commands/proxy.test.ts': 9,
      'commands/record/takedown.test.ts': 7, 'commands/relay/accounts.test.ts': 15,
      'commands/relay/doctor-relays.test.ts': 7, 'commands/relay/fix-desync.test.ts': 15,
      'commands/relay/status.test.ts': 13, 'commands/secrets/generate.test.ts': 4,
      'commands/stats.test.ts': 8, 'commands/version.test.ts': 9, 'commands/words.test.ts': 7,
      'commands/xrpc.test.ts': 6, 'compat/lines.test.ts': 29, 'faults/hangs.test.ts': 42,
      'faults/reads-pds04.test.ts': 29, 'faults/reads.test.ts': 32, 'faults/signals.test.ts': 23,
      'faults/writes-pds04.test.ts': 35, 'faults/writes.test.ts': 41, 'hostile/firehose.test.ts': 9,
      'hostile/links.test.ts': 22, 'hostile/manifests.test.ts': 25, 'hostile/paths.test.ts': 22,
      'hostile/real-pds.test.ts': 39, 'hostile/secrets.test.ts': 29,
      'hostile/terminal-pty.test.ts': 56, 'hostile/terminal.test.ts': 73,
      'lib/admin/accountFilters.test.ts': 1, 'lib/admin/accounts.test.ts': 1,
      'lib/admin/batch.test.ts': 1, 'lib/admin/invites.test.ts': 1, 'lib/admin/stats.test.ts': 1,
      'lib/backup/backup.test.ts': 6, 'lib/backup/carCommit.test.ts': 7,
      'lib/backup/safePaths.test.ts': 1, 'lib/backup/verify.test.ts': 1, 'lib/cli/argv.test.ts': 1,
      'lib/cli/envFile.test.ts': 1, 'lib/cli/kubectlPlugin.test.ts': 1, 'lib/cli/output.test.ts': 1,
      'lib/cli/safeFiles.test.ts': 1, 'lib/cli/settings.test.ts': 1, 'lib/cli/suggest.test.ts': 1,
      'lib/cli/terminalText.test.ts': 1, 'lib/federation/firehoseSeq.test.ts': 6,
      'lib/federation/hostLimit.test.ts': 1, 'lib/federation/relayAccounts.test.ts': 1,
      'lib/federation/tid.test.ts': 1, 'lib/identity/codec.test.ts': 1,
      'lib/identity/didDocument.test.ts': 5, 'lib/identity/keys.test.ts': 1,
      'lib/identity/plcOperation.test.ts': 1, 'lib/k8s/discover.test.ts': 2,
      'lib/k8s/imageTags.test.ts': 1, 'lib/k8s/portForward.test.ts': 8, 'lib/k8s/secret.test.ts': 2,
      'lib/k8s/status.test.ts': 1, 'lib/k8s/upgrade.test.ts': 2, 'lib/migrate/state.test.ts': 1,
      'lib/pds/http.test.ts': 1, 'lib/pds/identifiers.test.ts': 1, 'lib/pds/proxy.test.ts': 1,
      'lib/pds/urls.test.ts': 1, 'lib/pds/webSocket.test.ts': 1, 'lib/pds/xrpcCall.test.ts': 2,
      'lib/pds/xrpcClient.test.ts': 5, 'lib/redaction.test.ts': 1,
      'lib/selfhost/firehoseCheck.test.ts': 5, 'lib/selfhost/smtp.test.ts': 1, 'manifest.test.ts': 1,
      'nodes.test.ts': 5, 'package.test.ts': 10, 'sea/main.test.ts': 12,
    }).map(([f, w]) => [`test/${f}`, w]),
  ),
)

/** The cost of a file not in WEIGHTS (a new one): about a command's test file. */
export const DEFAULT_WEIGHT = 8

/** A file's cost for packing (WEIGHTS). */
export function weightOf(file) {
  return WEIGHTS[file] ?? DEFAULT_WEIGHT
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
