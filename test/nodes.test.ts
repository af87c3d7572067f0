// pdsctl is tested on every Node it claims (package.json engines): CI runs the whole suite
// on Node 24, then every test that spawns pdsctl again with pdsctl on Node 22 and on Node
// 26 (scripts/test-nodes.sh, PDSCTL_NODE). This file is itself one of those tests: in each
// pass it checks that pdsctl really ran on the Node that pass is for.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { CLI_NODE, ROOT, cliNodeVersion, runCli } from './helpers/cli.js'
import { cliTestFiles } from '../scripts/cli-test-files.mjs'
import { SEA_NODE_VERSION } from '../scripts/build-binary.mjs'

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

test("CI covers each major of package.json's engines: 24 (the suite), 22 and 26 (scripts/test-nodes.sh), each version inside the range", () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string> }
  const ranges = pkg.engines.node.split('||').map((r) => r.trim())
  const claimed = ranges.map((r) => Number(/\d+/.exec(r)![0]))
  const script = readFileSync(path.join(ROOT, 'scripts/test-nodes.sh'), 'utf8')
  const extra = /\bversions=\(([\d. ]+)\)/.exec(script)![1].trim().split(/\s+/)
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
  // .ci/run runs the extra passes after the suite.
  const ci = readFileSync(path.join(ROOT, '.ci/run'), 'utf8')
  assert.match(ci, /scripts\/dev\.sh test\b/)
  assert.match(ci, /test:nodes/)
  assert.equal(pkg.scripts['test:nodes'], 'bash scripts/test-nodes.sh')
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

function readdirTs(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f))
}
