// pdsctl is tested on every Node it claims (package.json engines): CI runs the whole suite
// on Node 24, then every test that spawns pdsctl again with pdsctl on Node 22 and on Node
// 26 (scripts/run-tests.mjs --other-nodes, PDSCTL_NODE), every table suite's every case on
// each. This file is itself one of those tests: in each
// pass it checks that pdsctl really ran on the Node that pass is for.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import path from 'node:path'
import { CLI_NODE, ROOT, cliNodeVersion, runCli } from './helpers/cli.js'
import { cliTestFiles, COSTS, DEFAULT_COST, testFiles, wallOf, weightOf } from '../scripts/cli-test-files.mjs'
import { CONCURRENCY, groupFiles, groupModule, OTHER_NODES, partRefusal, passesOf, PROCESSES, runGroups, shareOf } from '../scripts/run-tests.mjs'
import { SEA_NODE_VERSION } from '../scripts/build-binary.mjs'
import { chooserFor, tablePartFrom } from './helpers/tablePart.js'

test('pdsctl runs on the Node this pass is for (PDSCTL_NODE), as its version line and `version --json` say', async () => {
  const expected = process.env.PDSCTL_EXPECT_NODE ?? (process.env.PDSCTL_NODE ? undefined : process.versions.node)
  if (expected) assert.equal(cliNodeVersion(), expected, `PDSCTL_NODE=${CLI_NODE}`)
  const version = await runCli(['--version'])
  assert.equal(version.code, 0, version.stderr)
  assert.match(version.stdout, new RegExp(` node-v${cliNodeVersion().replaceAll('.', '\\.')}\\n$`))
  const res = await runCli(['version', '--json'])
  assert.equal(res.code, 0, res.stderr)
  assert.equal(JSON.parse(res.stdout).node, cliNodeVersion())
})

test("CI covers each major of package.json's engines: 24 (the suite), 22 and 26 (OTHER_NODES), each version inside the range", () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> }
  const ranges = pkg.engines.node.split('||').map((r) => r.trim())
  const claimed = ranges.map((r) => Number(/\d+/.exec(r)![0]))
  const extra = [...OTHER_NODES]
  const runner = readFileSync(path.join(ROOT, 'scripts/dev.sh'), 'utf8').match(/^NODE_PKG_VERSION=([\d.]+)$/m)![1]
  const tested = [runner, ...extra]
  assert.deepEqual([...new Set(tested.map((v) => Number(v.split('.')[0])))].sort(), [...new Set(claimed)].sort())
  // Each tested version satisfies its range (^X.Y.Z: same major, not older; >=X.Y.Z: not older).
  const cmp = (a: string, b: string) => {
    const [x, y] = [a, b].map((v) => v.split('.').map(Number))
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
  }
  for (const v of tested) {
    const ok = ranges.some((r) => {
      const m = /^(\^|>=)(\d+\.\d+\.\d+)$/.exec(r)!
      return cmp(v, m[2]) >= 0 && (m[1] === '>=' || v.split('.')[0] === m[2].split('.')[0])
    })
    assert.ok(ok, `${v} is outside engines ${pkg.engines.node}`)
  }
  // The Node 26 of the extra pass is the single executable's, fetched beside npm ci by scripts/dev.sh.
  const node26 = extra.find((v) => v.startsWith('26.'))
  assert.equal(node26, SEA_NODE_VERSION)
  assert.match(readFileSync(path.join(ROOT, 'scripts/dev.sh'), 'utf8'), new RegExp(`scripts/fetch-node\\.sh ${SEA_NODE_VERSION.replaceAll('.', '\\.')}\\b`))
  // .ci/run runs the README's test command, which runs the extra passes after the suite.
  const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8')
  assert.match(ci, /^exec bash scripts\/dev\.sh test$/m)
  assert.match(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), /^scripts\/dev\.sh test +#/m)
  assert.match(readFileSync(path.join(ROOT, 'scripts/dev.sh'), 'utf8'), /^ {2}exec npm run --silent test -- --other-nodes "\$@"$/m)
  assert.equal(pkg.scripts['test:nodes'], 'node scripts/run-tests.mjs --cli --other-nodes')
  // npm test ends with the runner, so that the arguments npm appends reach it.
  assert.match(pkg.scripts.test, /&& node scripts\/run-tests\.mjs$/)
})

test('every table case runs on each of the three Nodes; PDSCTL_TABLE_PART=split splits them among the three, each case once', () => {
  const others = OTHER_NODES.map((version) => ({ version, bin: `/nodes/${version}/node` }))
  const files = { files: ['test/a.test.ts', 'test/b.test.ts'], cliFiles: ['test/b.test.ts'], here: '24.18.1', others }
  // What CI runs (scripts/run-tests.mjs --other-nodes, PDSCTL_TABLE_PART unset or all): no part anywhere.
  for (const part of [undefined, 'all']) {
    assert.deepEqual(
      passesOf({ ...files, part }).map((p) => [p.node, p.files, p.env]),
      [
        ['24.18.1', ['test/a.test.ts', 'test/b.test.ts'], {}],
        ['22.23.5', ['test/b.test.ts'], { PDSCTL_NODE: '/nodes/22.23.5/node', PDSCTL_EXPECT_NODE: '22.23.5' }],
        ['26.12.1', ['test/b.test.ts'], { PDSCTL_NODE: '/nodes/26.12.1/node', PDSCTL_EXPECT_NODE: '26.12.1' }],
      ],
    )
  }
  // split: 1/3 to the Node 24 pass, 2/3 and 3/3 to Node 22 and 26.
  assert.deepEqual(
    passesOf({ ...files, part: 'split' }).map((p) => p.env.PDSCTL_TABLE_PART),
    ['1/3', '2/3', '3/3'],
  )
  // Without other Nodes the environment decides.
  assert.deepEqual(passesOf({ files: ['x'], cliFiles: [], here: '24.18.1', part: '2/3' }), [{ node: '24.18.1', files: ['x'], env: {} }])
  // What a run refuses before it starts: split with nothing to split among, a K/N given to every Node.
  assert.match(partRefusal('split', false) ?? '', /^PDSCTL_TABLE_PART=split .*--other-nodes/)
  assert.match(partRefusal('2/3', true) ?? '', /^PDSCTL_TABLE_PART=2\/3 with --other-nodes: /)
  for (const [part, other] of [[undefined, true], ['all', true], ['split', true], [undefined, false], ['all', false], ['2/3', false]] as const) {
    assert.equal(partRefusal(part, other), undefined, `${part} ${other}`)
  }
  // Three parts of a table of 2..40 cases: every case taken by exactly one part, and each part
  // takes a case of every run of 3 consecutive cases (a command's text and --json, its strings).
  for (let size = 2; size <= 40; size++) {
    const takers = Array.from({ length: size }, () => [] as number[])
    for (const k of [1, 2, 3]) {
      const chooser = chooserFor(tablePartFrom(`${k}/3`))
      assert.match(chooser.label, new RegExp(`part ${k} of 3`))
      for (let i = 0; i < size; i++) if (chooser.take()) takers[i].push(k)
    }
    assert.ok(takers.every((t) => t.length === 1), `size ${size}: ${JSON.stringify(takers)}`)
    for (let i = 0; i + 3 <= size; i++) assert.deepEqual(takers.slice(i, i + 3).flat().sort(), [1, 2, 3])
  }
  // Unset or `all` (npm test): every case, no label.
  for (const value of [undefined, '', 'all']) {
    const all = chooserFor(tablePartFrom(value))
    assert.equal(all.label, '')
    assert.ok(Array.from({ length: 10 }, () => all.take()).every(Boolean))
  }
  // A mistyped part fails the run instead of quietly skipping cases (split is the runner's, not a test's).
  for (const bad of ['0/3', '4/3', '1/0', '1', '1/3 ', 'a/b', '-1/3', 'split']) assert.throws(() => tablePartFrom(bad), /PDSCTL_TABLE_PART/, bad)
  // This run's own part is well formed (a typo in CI's environment fails here, loudly).
  tablePartFrom(process.env.PDSCTL_TABLE_PART)
})

test('every test that spawns bin/run.js runs it on CLI_NODE, and is one of the files the Node passes run', () => {
  const files = [...readdirTs('test'), ...readdirTs('bench')].filter((f) => !f.includes('node_modules') && f !== 'test/bed/sandbox.ts')
  const selected = new Set(cliTestFiles())
  // Runs bin/run.js on a Node of its own choosing on purpose: the single executable's, to compare the two.
  const ownNode = new Set(['test/sea/main.test.ts'])
  const wrong: string[] = []
  const missed: string[] = []
  for (const f of files) {
    const text = readFileSync(path.join(ROOT, f), 'utf8')
    text.split('\n').forEach((line, i) => {
      // process.execPath as the program and bin/run.js (BIN) among its first arguments.
      if (/process\.execPath\s*,\s*\[?[^\]]{0,40}?\b(BIN|bin)\b|\$\{process\.execPath\}.{0,10}\$\{BIN\}/.test(line)) wrong.push(`${f}:${i + 1}: ${line.trim()}`)
    })
    if (f.endsWith('.test.ts') && /import \{[^}]*\bBIN\b[^}]*\} from '[./]+helpers\/cli\.js'/.test(text) && !selected.has(f) && !ownNode.has(f)) missed.push(f)
  }
  assert.deepEqual(wrong, [], 'spawn bin/run.js with CLI_NODE (test/helpers/cli.ts), not process.execPath')
  assert.deepEqual(missed, [], 'these use BIN but scripts/cli-test-files.mjs does not pick them')
  assert.ok(selected.has('test/nodes.test.ts') && selected.has('test/bench.test.ts') && selected.has('test/faults/reads.test.ts'), [...selected].join('\n'))
})

test('the test lists hold every test file once, in path order, and every name in COSTS is a test file', () => {
  const all = testFiles()
  const onDisk = readdirTs('test').filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules')).sort()
  assert.deepEqual(all, onDisk)
  assert.deepEqual(Object.keys(COSTS).filter((f) => !all.includes(f)), [], 'a name in COSTS (scripts/cli-test-files.mjs) that is not a test file any more: update the table')
  // The CLI files keep that order.
  const cli = cliTestFiles()
  assert.deepEqual(cli, all.filter((f) => cli.includes(f)))
})

test('scripts/run-tests.mjs runs every test file once, packed into PROCESSES groups of near-equal cost, the costliest group first and in a group the longest file', () => {
  for (const files of [testFiles(), cliTestFiles()]) {
    const groups = groupFiles(files)
    assert.equal(groups.length, PROCESSES)
    assert.deepEqual([...groups.flat()].sort(), files, 'every file once')
    // In a group, the longest file (wall) first, ties in the order given.
    for (const g of groups) assert.deepEqual(g, [...g].sort((a, b) => wallOf(b) - wallOf(a) || files.indexOf(a) - files.indexOf(b)))
    const costs = groups.map((g) => g.reduce((sum, f) => sum + shareOf(f), 0))
    assert.deepEqual(costs, [...costs].sort((a, b) => b - a), 'the costliest group first')
    // Greedy packing, costliest file first: no two groups differ by more than the costliest file.
    const costliest = Math.max(...files.map(shareOf))
    assert.ok(costs[0] - costs[costs.length - 1] <= costliest, costs.join(','))
  }
  const w = (f: string) => ({ a: 5, b: 4, c: 3, d: 3, e: 1 })[f] ?? 0
  // Costliest first, ties in the order given (d before c): a to the first group, b to the
  // second, d to the second (4 < 5), c to the first (5 < 7), e to the second (7 < 8): 8 and 8.
  assert.deepEqual(groupFiles(['e', 'd', 'c', 'b', 'a'], 2, w, w), [['a', 'c'], ['b', 'd', 'e']])
  // The longest (wall) first in a group, whatever its CPU: e waits longest.
  const wall = (f: string) => ({ e: 40 })[f] ?? 1
  assert.deepEqual(groupFiles(['e', 'd', 'c', 'b', 'a'], 2, w, wall), [['c', 'a'], ['e', 'd', 'b']], 'ties in the order given')
  assert.deepEqual(groupFiles(['a', 'b', 'c'], 2, w, w), [['b', 'c'], ['a']], 'the costliest group first (7 against 5)')
  assert.deepEqual(groupFiles(['a', 'b'], 6, w, w), [['a'], ['b']], 'no more groups than files')
  assert.deepEqual([weightOf('test/a-new-one.test.ts'), wallOf('test/a-new-one.test.ts')], DEFAULT_COST)
})

test("a file's share of a run is its wall time when it mostly waits, its CPU spread over CONCURRENCY processes on 2 cores when it mostly computes", () => {
  // The package test waits on npm (10 CPU-s in 40 s); the hostile terminal table computes (every case: 211 CPU-s in 200 s).
  assert.deepEqual(COSTS['test/package.test.ts'], [10, 40])
  assert.equal(shareOf('test/package.test.ts'), 40)
  assert.deepEqual(COSTS['test/hostile/terminal.test.ts'], [211, 200])
  assert.equal(shareOf('test/hostile/terminal.test.ts'), (211 * CONCURRENCY) / 2)
  assert.ok(CONCURRENCY >= 3, 'at least the 3 that CPU-bound machines were measured with')
})

test("one run for every Node: each pass's files packed into its own groups, which carry its environment, and every group of every pass ordered costliest first", () => {
  const others = OTHER_NODES.map((version) => ({ version, bin: `/nodes/${version}/node` }))
  const passes = passesOf({ files: testFiles(), cliFiles: cliTestFiles(), here: '24.18.1', others, part: undefined })
  const groups = runGroups(passes)
  assert.equal(groups.length, PROCESSES * passes.length)
  for (const p of passes) {
    const own = groups.filter((g) => g.node === p.node)
    assert.deepEqual([...own.flatMap((g) => g.files)].sort(), p.files, `Node ${p.node}: every file once`)
    for (const g of own) assert.deepEqual(g.env, p.env)
  }
  const costs = groups.map((g) => g.cost)
  assert.deepEqual(costs, [...costs].sort((a, b) => b - a), 'the costliest group first')
  for (const g of groups) assert.equal(g.cost, g.files.reduce((sum, f) => sum + shareOf(f), 0))
  // Small made-up passes: ties go to the earlier pass.
  const w = (f: string) => ({ a: 5, b: 4, c: 1 })[f] ?? 0
  const made = runGroups([{ node: '24', files: ['a', 'c'], env: {} }, { node: '22', files: ['b', 'c'], env: { X: '1' } }], 2, w, w)
  assert.deepEqual(made.map((g) => [g.node, g.files, g.cost]), [['24', ['a'], 5], ['22', ['b'], 4], ['24', ['c'], 1], ['22', ['c'], 1]])
  assert.deepEqual(made[1].env, { X: '1' })
})

test('a run refuses a table part it cannot honour (a K/N with --other-nodes, split without), before fetching anything', async () => {
  for (const [part, args, said] of [
    ['2/3', ['--other-nodes'], 'PDSCTL_TABLE_PART=2/3 with --other-nodes: each Node runs every table case, or its own part with PDSCTL_TABLE_PART=split; unset it, or set it to all or split'],
    ['split', [], 'PDSCTL_TABLE_PART=split splits the table cases among the Nodes of --other-nodes; add it, or unset PDSCTL_TABLE_PART'],
  ] as const) {
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined, PDSCTL_TABLE_PART: part }
    const run = promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/run-tests.mjs'), ...args, 'test/no-such.test.ts'], { cwd: ROOT, env })
    const err = (await run.then(() => assert.fail('the run started'), (e: unknown) => e)) as { code: number; stderr: string }
    assert.equal(err.code, 2, part)
    assert.equal(err.stderr, `scripts/run-tests.mjs: ${said}\n`)
  }
})

test("a group's module sets its environment, then runs its files' tests in one process, one file after the other, and node's runner counts each test", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-group-test-'))
  try {
    const log = path.join(dir, 'log')
    const file = (name: string) =>
      `import { test } from 'node:test'\nimport { appendFileSync } from 'node:fs'\n` +
      // Read when the file is imported, as test/helpers/cli.ts reads PDSCTL_NODE.
      `const seen = process.env.PDSCTL_GROUP_TEST\n` +
      `test('${name} first', async () => { appendFileSync(${JSON.stringify(log)}, '${name}-1 ' + process.pid + ' ' + seen + '\\n'); await new Promise((r) => setTimeout(r, 50)) })\n` +
      `test('${name} second', () => { appendFileSync(${JSON.stringify(log)}, '${name}-2 ' + process.pid + ' ' + seen + '\\n') })\n`
    writeFileSync(path.join(dir, 'a.test.mjs'), file('a'))
    writeFileSync(path.join(dir, 'b.test.mjs'), file('b'))
    writeFileSync(path.join(dir, 'group.mjs'), groupModule([path.join(dir, 'a.test.mjs'), path.join(dir, 'b.test.mjs')], { PDSCTL_GROUP_TEST: 'set-by-the-group' }))
    // Without NODE_TEST_CONTEXT: set in this test process by its runner, it would make the
    // inner runner report to it instead of running as a runner of its own.
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined }
    const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', path.join(dir, 'group.mjs')], { cwd: dir, env })
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '))
    assert.deepEqual(lines.map((l) => l[0]), ['a-1', 'a-2', 'b-1', 'b-2'])
    assert.equal(new Set(lines.map((l) => l[1])).size, 1, 'one process')
    assert.deepEqual(lines.map((l) => l[2]), Array(4).fill('set-by-the-group'), "the group's environment, set before its files are imported")
    assert.match(stdout, /^# tests 4$/m)
    assert.match(stdout, /^# pass 4$/m)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("scripts/run-tests.mjs gives the tests a TMPDIR of the run's own and removes it when the run ends, with whatever a test left in it", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-tmpdir-test-'))
  try {
    const report = path.join(dir, 'report.json')
    // A test that leaves a folder in os.tmpdir() (as a killed child's temporary HOME would).
    writeFileSync(
      path.join(dir, 'leaks.test.mjs'),
      `import { test } from 'node:test'\nimport { mkdtempSync, writeFileSync } from 'node:fs'\nimport { tmpdir } from 'node:os'\nimport path from 'node:path'\n` +
        `test('leaks', () => { const left = mkdtempSync(path.join(tmpdir(), 'left-')); writeFileSync(path.join(left, 'f'), 'x'); writeFileSync(${JSON.stringify(report)}, JSON.stringify({ tmp: tmpdir(), left })) })\n`,
    )
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined }
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'scripts/run-tests.mjs'), '--test-reporter=tap', path.join(dir, 'leaks.test.mjs')], { cwd: ROOT, env })
    assert.match(stdout, /^# pass 1$/m)
    const { tmp, left } = JSON.parse(readFileSync(report, 'utf8')) as { tmp: string; left: string }
    assert.equal(path.dirname(path.dirname(tmp)), tmpdir(), `the tests' TMPDIR ${tmp} is a folder of the run's, in this TMPDIR`)
    assert.match(path.basename(path.dirname(tmp)), /^pdsctl-tests-/)
    assert.ok(left.startsWith(tmp + path.sep), left)
    assert.equal(existsSync(left), false, 'what the test left is gone')
    assert.equal(existsSync(path.dirname(tmp)), false, "the run's folder is gone")
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

function readdirTs(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
}
