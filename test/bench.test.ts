// `npm run bench` is not a timed test; CI only checks that it runs end to end at a tiny
// size (every section but the Kubernetes one, no targets) and reports each figure.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { CLI_NODE, ROOT } from './helpers/cli.js'
import { tableChooser } from './helpers/tablePart.js'

// The single executable (npm test builds it first): its start-up pairs add ~16 short
// processes to the bed this run starts anyway. Named with --binary, so the bench never builds it here.
const BINARY = path.join(ROOT, 'dist', 'binary', `pdsctl-linux-${process.arch}`)

// The sections in three groups, each with the figures it must report. CI splits the groups
// among its Nodes (test/helpers/tablePart.ts); a developer's run takes all three.
const GROUPS: Array<{ only: string[]; figures: RegExp[] }> = [
  {
    // The synthetic servers' sections: no bed accounts needed.
    only: ['first', 'rss', 'relay'],
    figures: [
      /first request of health leaves \d+ ms after process start/,
      /first request of account list leaves/,
      /first request of invite list leaves/,
      /first request of account takedown DID leaves/,
      /peak RSS of account list --json: [\d.]+ MiB at 300 → [\d.]+ MiB at 3000/,
      /account list --json, 300 synthetic accounts: .* vs the node:http floor/,
      /relay accounts --all --json, 400 synthetic accounts: \d+ ms \(cpu \d+ ms\), peak RSS [\d.]+ MiB/,
      /peak RSS of relay accounts: [\d.]+ MiB at 50 → [\d.]+ MiB at 400 accounts/,
    ],
  },
  {
    // Start-up, pdsctl's and the single executable's (its pairs need version and health).
    only: ['version', 'health', 'binary', 'identity'],
    figures: [
      /--version: \d+ ms vs \d+ ms, ratio [\d.]+ \[[\d.]+–[\d.]+\] \(cpu \d+ vs \d+ ms\) vs node -e 0/,
      /health --json: .* vs the node:http script/,
      /binary: dist\/binary\/pdsctl-linux-\w+, [\d.]+ MiB \(Node \d+\.\d+\.\d+ inside\)/,
      /single executable --version: \d+ ms vs \d+ ms, ratio [\d.]+ \[[\d.]+–[\d.]+\] \(cpu \d+ vs \d+ ms\) vs bin\/run\.js on Node 26\.\d+\.\d+/,
      /single executable health --json: .* vs bin\/run\.js on Node 26\.\d+\.\d+/,
      /identity check, 50 synthetic accounts: \d+ ms \(cpu \d+ ms\), peak RSS [\d.]+ MiB/,
    ],
  },
  {
    // The bed's accounts: listing, batching, a delaying proxy.
    only: ['list', 'batch', 'proxy'],
    figures: [
      /account takedown - \(12 accounts\): .* vs the batched floor/,
      /account list --json, 15 accounts: .* vs the node:http floor/,
      /account list --json, 30 accounts: .* vs the node:http floor/,
      /account list --json, 30 accounts: .* vs the plain-fetch script/,
      /account list --json, 15 accounts through a 2 ms \(one-way\) delaying proxy/,
    ],
  },
]
const chooser = tableChooser()
const groups = GROUPS.filter(() => chooser.take())

// Not timed, but it runs every section: ~70 s on a quiet 2-core machine, 170 s at load 15. Its
// deadline is one of a hung bench, not of a slow machine (CI must stay green on a busy one).
test(`the bench runs at a tiny size and reports every figure of ${groups.map((g) => g.only.join(', ')).join('; ')}`, { timeout: 600_000 }, async () => {
  assert.ok(existsSync(BINARY), `${BINARY} is missing: run npm run build:binary (npm test does)`)
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/bench.ts'), '--accounts', '15,30', '--synthetic', '300,3000', '--relay-accounts', '50,400', '--runs', '1', '--batch', '12', '--delay', '2',
      '--only', groups.flatMap((g) => g.only).join(','), '--binary', BINARY, '--identity', '50', '--no-targets'],
    // pdsctl (and the reference scripts) on CLI_NODE: a CLI test, run on each Node in CI.
    { cwd: ROOT, env: { ...process.env, PDSCTL_NODE: CLI_NODE }, encoding: 'utf8', timeout: 540_000, maxBuffer: 1 << 20 },
  )
  const lines = stdout.trimEnd().split('\n')
  assert.ok(lines.every((l) => l.startsWith('INFO  ')), stdout)
  for (const re of groups.flatMap((g) => g.figures)) {
    assert.ok(lines.some((l) => re.test(l)), `missing ${re}:\n${stdout}`)
  }
})
