// `npm run bench`: wall-time ratios that the issues set as targets, measured in one run
// with each pair alternated so that machine noise hits both sides alike.
//   1. `pdsctl account list --json` against a 1,000-account PDS vs bench/plain-list.mjs
//      (the same calls with plain fetch): target ratio <= 1.5.
//   2. `pdsctl --version` vs `node -e 0`: target ratio <= 3.
//   3. With the fake Kubernetes API server (when test/bed/fakeKube.ts is present):
//      `pdsctl health` through --kube-* vs a direct URL, against kubectl's own time to
//      print its first "Forwarding from" line: target extra <= that + 300 ms.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { startTestBed } from '../test/bed/pds.js'
import { ROOT, cleanEnv } from '../test/helpers/cli.js'

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000)
const RUNS = Number(process.env.BENCH_RUNS ?? 9)
const BIN = path.join(ROOT, 'bin/run.js')

interface Timed { ms: number; code: number | null; stdout: string; stderr: string }

function timeRun(cmd: string, args: string[], env: Record<string, string>): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }))
  })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

async function pair(name: string, a: () => Promise<Timed>, b: () => Promise<Timed>, check?: (t: Timed, which: 'a' | 'b') => void) {
  const ta: number[] = []
  const tb: number[] = []
  // One warm-up of each (disk cache, compile cache), not counted.
  await a()
  await b()
  for (let i = 0; i < RUNS; i++) {
    for (const [fn, arr, which] of (i % 2 ? [[b, tb, 'b'], [a, ta, 'a']] : [[a, ta, 'a'], [b, tb, 'b']]) as Array<[() => Promise<Timed>, number[], 'a' | 'b']>) {
      const t = await fn()
      if (t.code !== 0) throw new Error(`${name} (${which}) exited ${t.code}: ${t.stderr}`)
      check?.(t, which)
      arr.push(t.ms)
    }
  }
  return { a: median(ta), b: median(tb), ratio: median(ta) / median(tb) }
}

const results: string[] = []
let failed = false
function report(line: string, ok: boolean) {
  results.push(`${ok ? 'PASS' : 'FAIL'}  ${line}`)
  if (!ok) failed = true
  process.stderr.write(`${ok ? 'PASS' : 'FAIL'}  ${line}\n`)
}

process.stderr.write(`Starting the test-bed PDS and seeding ${ACCOUNTS} accounts…\n`)
const bed = await startTestBed()
const seedStart = performance.now()
await bed.seed(ACCOUNTS, 'bench')
process.stderr.write(`Seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s. ${RUNS} alternated runs per pair.\n`)
const env = cleanEnv({ PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })

try {
  const list = await pair(
    'account list',
    () => timeRun(process.execPath, [BIN, 'account', 'list', '--json'], env),
    () => timeRun(process.execPath, [path.join(ROOT, 'bench/plain-list.mjs')], env),
    (t) => {
      const rows = JSON.parse(t.stdout) as Array<{ handle: string | null; email: string | null }>
      if (rows.length !== ACCOUNTS || rows.some((r) => !r.handle || !r.email)) throw new Error(`expected ${ACCOUNTS} accounts with handle and email, got ${rows.length}`)
    },
  )
  report(`account list --json (${ACCOUNTS} accounts): pdsctl ${list.a.toFixed(0)} ms, plain fetch ${list.b.toFixed(0)} ms, ratio ${list.ratio.toFixed(2)} (target <= 1.5)`, list.ratio <= 1.5)

  const version = await pair(
    '--version',
    () => timeRun(process.execPath, [BIN, '--version'], env),
    () => timeRun(process.execPath, ['-e', '0'], env),
  )
  report(`--version: pdsctl ${version.a.toFixed(0)} ms, node -e 0 ${version.b.toFixed(0)} ms, ratio ${version.ratio.toFixed(2)} (target <= 3)`, version.ratio <= 3)

  const fakeKubePath = path.join(ROOT, 'test/bed/fakeKube.ts')
  if (existsSync(fakeKubePath)) {
    const { benchKube } = await import('./kube.js')
    const k = await benchKube({ bed, env, runs: RUNS, timeRun, median })
    report(
      `health via --kube-*: ${k.kubeMs.toFixed(0)} ms vs direct ${k.directMs.toFixed(0)} ms, extra ${k.extraMs.toFixed(0)} ms; kubectl to first "Forwarding from" ${k.kubectlReadyMs.toFixed(0)} ms (target extra <= ${(k.kubectlReadyMs + 300).toFixed(0)} ms)`,
      k.extraMs <= k.kubectlReadyMs + 300,
    )
  }
} finally {
  await bed.close()
}
process.stdout.write(results.join('\n') + '\n')
process.exitCode = failed ? 1 : 0
