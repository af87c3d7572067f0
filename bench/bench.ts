// `npm run bench`: the targets of issue 9, measured as a user sees them (whole processes
// timed from a shell, each pair alternated, medians and the 25th–75th percentile spread
// of the per-run ratios). Prints each ratio against its target; exits 1 when one is missed.
//
//   --accounts 1000,10000   real-PDS sizes for `account list --json` vs the node:http floor
//   --synthetic 20000,200000 synthetic listRepos/getAccountInfos sizes for peak RSS
//   --relay-accounts 10000,50000 synthetic sizes for `relay accounts --all --json` (time, peak RSS)
//   --runs 9                alternated runs per pair
//   --batch 500             accounts in the `account takedown -` batch
//   --delay 5               one-way ms of the delaying proxy (the network case)
//   --only list,rss,…       sections: list, rss, relay, proxy, version, health, first, batch, kube,
//                           sweep (pool width × batch size of the listing, loopback and proxy),
//                           identity (identity check over --identity accounts, synthetic PDS and PLC),
//                           migrate (account migrate vs its node:http floor; bench/migrate.ts),
//                           backup (backup DIR and its incremental rerun vs a durable floor; bench/backup.ts),
//                           binary (the single executable's start-up vs bin/run.js on its Node and on this
//                           one: --version and health --json; skipped when the file is missing, unless
//                           --only names it: then built with scripts/build-binary.mjs, as `npm run bench`
//                           has just emptied dist/)
//   --identity 10000        accounts in the identity check section
//   --migrate-mb 200        blob megabytes of the migrated account (and --migrate-records 1000)
//   --no-targets            report only, exit 0 (CI's smoke run: test/bench.test.ts)
//   --bin PATH              time another build's bin/run.js instead
//   --before PATH           also time another build (e.g. the previous commit) on each pair
//   --binary PATH           the single executable to time (default dist/binary/pdsctl-linux-<arch>)
import { execFileSync } from 'node:child_process'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startTestBed, type TestBed } from '../test/bed/pds.js'
import { CLI_NODE, ROOT, cleanEnv } from '../test/helpers/cli.js'
import { startDelayProxy } from './delayProxy.js'
import { median, pair, quantile, shellTime, type PairResult, type ShellRun } from './shell.js'
import { startSyntheticPds, startSyntheticRelay, syntheticDid } from './synthetic.js'
import { startSyntheticPlc, syntheticRepos } from './syntheticPlc.js'

const { values: opt } = parseArgs({
  options: {
    accounts: { type: 'string', default: process.env.BENCH_ACCOUNTS ?? '1000,10000' },
    synthetic: { type: 'string', default: '20000,200000' },
    'relay-accounts': { type: 'string', default: '10000,50000' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '9' },
    batch: { type: 'string', default: '500' },
    delay: { type: 'string', default: '5' },
    identity: { type: 'string', default: '10000' },
    only: { type: 'string' },
    'no-targets': { type: 'boolean', default: false },
    /** Another build's bin/run.js to time instead (e.g. an older checkout, for before/after figures). */
    bin: { type: 'string' },
    /** Also time this other build's bin/run.js on every pair ("before" figures, reported as INFO). */
    before: { type: 'string' },
    'migrate-mb': { type: 'string', default: '200' },
    'migrate-records': { type: 'string', default: '1000' },
    binary: { type: 'string' },
  },
})
const sizes = opt.accounts.split(',').map(Number).sort((a, b) => a - b)
const synthSizes = opt.synthetic.split(',').map(Number).sort((a, b) => a - b)
const RUNS = Number(opt.runs)
const BATCH = Number(opt.batch)
const DELAY = Number(opt.delay)
const only = opt.only ? new Set(opt.only.split(',')) : undefined
const want = (s: string) => !only || only.has(s)
const targets = !opt['no-targets']

// pdsctl and the reference scripts on the same Node: PDSCTL_NODE when set (test/helpers/cli.ts), else this one.
const NODE = CLI_NODE
const BIN = opt.bin ? path.resolve(opt.bin) : path.join(ROOT, 'bin/run.js')
const bench = (f: string) => path.join(ROOT, 'bench', f)
let currentBin = BIN
const pdsctl = (...args: string[]) => [NODE, currentBin, ...args]
/** Run a section for this build, then (with --before) for the other one, labelled. */
async function forBins(fn: (label: string) => Promise<void>) {
  for (const [label, bin] of [['', BIN], ...(opt.before ? [['before: ', path.resolve(opt.before)]] : [])]) {
    currentBin = bin
    await fn(label)
  }
  currentBin = BIN
}

const lines: string[] = []
let missed = 0
const fmt = (r: PairResult) =>
  `${r.a.toFixed(0)} ms vs ${r.b.toFixed(0)} ms, ratio ${r.ratio.toFixed(2)} [${r.ratioP25.toFixed(2)}–${r.ratioP75.toFixed(2)}] (cpu ${r.aCpu.toFixed(0)} vs ${r.bCpu.toFixed(0)} ms)`
function report(line: string, ok: boolean | undefined) {
  const tag = ok === undefined || !targets || line.startsWith('before: ') ? 'INFO' : ok ? 'PASS' : 'FAIL'
  if (tag === 'FAIL') missed++
  lines.push(`${tag}  ${line}`)
  process.stderr.write(`${tag}  ${line}\n`)
}
const log = (s: string) => process.stderr.write(s + '\n')

function checkRows(expected: number) {
  return (r: ShellRun) => {
    const rows = JSON.parse(r.stdout) as Array<{ did: string; handle: string | null; email: string | null }>
    if (rows.length !== expected || rows.some((x) => !x.handle || !x.email)) throw new Error(`expected ${expected} accounts with handle and email, got ${rows.length}`)
  }
}

// The synthetic server: peak RSS of the listing at two sizes, and when the first request
// of a command leaves (the server notes its arrival; the shell noted the start).
if (want('rss') || want('first')) {
  const rss: Record<string, number[]> = {}
  for (const n of synthSizes) {
    const syn = await startSyntheticPds(n)
    const env = cleanEnv({ PDS_URL: syn.url, PDS_ADMIN_PASSWORD: syn.adminPassword })
    try {
      if (want('rss')) {
        await forBins(async (label) => {
          const runs: number[] = (rss[label + n] = [])
          for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 3)); i++) {
            const r = await shellTime(pdsctl('account', 'list', '--json'), env)
            if (r.code !== 0) throw new Error(`account list (synthetic ${n}) exited ${r.code}: ${r.stderr}`)
            checkRows(n)(r)
            runs.push(r.maxRssKiB / 1024)
          }
          log(`${label}synthetic ${n}: peak RSS ${median(runs).toFixed(1)} MiB [${Math.min(...runs).toFixed(1)}–${Math.max(...runs).toFixed(1)}]`)
          if (n === synthSizes[0]) {
            // The synthetic server answers far faster than a PDS: this shows the client's own cost.
            const t = await pair(`synthetic ${n}`, RUNS, () => shellTime(pdsctl('account', 'list', '--json'), env), () => shellTime([NODE, bench('floor-list-http.mjs')], env), checkRows(n))
            report(`${label}account list --json, ${n} synthetic accounts: ${fmt(t)} vs the node:http floor`, undefined)
          }
        })
      }
      if (want('first') && n === synthSizes[0]) {
        const firstOf = async (label: string, name: string, argv: string[]) => {
          const lat: number[] = []
          for (let i = 0; i < RUNS; i++) {
            syn.reset()
            const r = await shellTime(argv, env)
            if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr}`)
            lat.push(syn.firstRequestAt()! - r.startedAt)
          }
          const m = median(lat)
          report(`${label}first request of ${name} leaves ${m.toFixed(0)} ms after process start [${quantile(lat, 0.25).toFixed(0)}–${quantile(lat, 0.75).toFixed(0)}] (target <= 40 ms)`, name.startsWith('floor') ? undefined : m <= 40)
        }
        await forBins(async (label) => {
          await firstOf(label, 'health', pdsctl('health', '--json'))
          await firstOf(label, 'account list', pdsctl('account', 'list', '--json', '--limit', '10'))
          await firstOf(label, 'invite list', pdsctl('invite', 'list', '--json'))
          // A command that checks its DID argument before the request.
          await firstOf(label, 'account takedown DID', pdsctl('account', 'takedown', syntheticDid(0), '--dry-run', '--json'))
        })
        await firstOf('', 'floor (node:http script)', [NODE, bench('floor-health-http.mjs')])
      }
    } finally {
      await syn.close()
    }
  }
  if (want('rss') && synthSizes.length >= 2) {
    await forBins(async (label) => {
      const lo = median(rss[label + synthSizes[0]])
      const hi = median(rss[label + synthSizes.at(-1)!])
      report(`${label}peak RSS of account list --json: ${lo.toFixed(1)} MiB at ${synthSizes[0]} → ${hi.toFixed(1)} MiB at ${synthSizes.at(-1)}, +${(hi - lo).toFixed(1)} MiB (target <= +16 MiB)`, hi - lo <= 16)
    })
  }
}

// identity check at scale (issue 18): every account's audit log from a synthetic PLC
// directory, its handle resolved twice and its latest commit's signature verified through a
// synthetic PDS. Streamed: peak RSS must stay under 100 MB (issue 18; decimal: 95.4 MiB) at 10,000 accounts.
if (want('identity')) {
  const n = Number(opt.identity)
  const { Secp256k1Keypair } = await import('@atproto/crypto')
  const rotation = await Secp256k1Keypair.create({ exportable: true })
  const signing = await Secp256k1Keypair.create()
  log(`Signing ${n} synthetic commits…`)
  const syn = await startSyntheticPds(n, { repos: await syntheticRepos(n, signing) })
  const plc = await startSyntheticPlc(n, { pdsUrl: syn.url, rotationKey: rotation.did(), signingKey: signing.did() })
  const env = cleanEnv({ PDS_URL: syn.url, PDS_DID_PLC_URL: plc.url, PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: Buffer.from(await rotation.export()).toString('hex') })
  try {
    await forBins(async (label) => {
      const runs: ShellRun[] = []
      // A third of --runs (3 by default): each run is a whole check.
      for (let i = 0; i < Math.ceil(RUNS / 3); i++) {
        const r = await shellTime(pdsctl('identity', 'check', '--json', '--public-url', syn.url), env)
        if (r.code !== 0) throw new Error(`identity check (synthetic ${n}) exited ${r.code}: ${r.stderr}`)
        const s = (JSON.parse(r.stdout) as { summary: { checked: number; ok: number } }).summary
        if (s.checked !== n || s.ok !== n) throw new Error(`identity check: ${s.ok} of ${s.checked} ok, expected ${n}`)
        runs.push(r)
      }
      const peaks = runs.map((r) => r.maxRssKiB / 1024)
      const rss = median(peaks)
      report(
        `${label}identity check, ${n} synthetic accounts: ${median(runs.map((r) => r.ms)).toFixed(0)} ms (cpu ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms), peak RSS ${rss.toFixed(1)} MiB [${Math.min(...peaks).toFixed(1)}–${Math.max(...peaks).toFixed(1)}; 25–75%: ${quantile(peaks, 0.25).toFixed(1)}–${quantile(peaks, 0.75).toFixed(1)}] (target < 100 MB = 95.4 MiB)`,
        rss < 100e6 / 1048576,
      )
    })
  } finally {
    await plc.close()
    await syn.close()
  }
}

// `relay accounts` over N synthetic accounts against a synthetic relay (the first 100 in
// sync, the rest throttled, as bsky.network's default host limit leaves them): every account
// streamed as JSON (--all), one getRepoStatus each, 8 in flight. Time and peak RSS per size,
// reported (the aim, not yet a target: at most 100 MiB at every size, with no V8 flags).
if (want('relay')) {
  const relaySizes = opt['relay-accounts'].split(',').map(Number).sort((a, b) => a - b)
  const peak: number[] = []
  for (const n of relaySizes) {
    const syn = await startSyntheticPds(n)
    // bsky.network's default limit; half the accounts at the smallest sizes, so that some are throttled.
    const limit = Math.min(100, Math.floor(n / 2))
    const relay = await startSyntheticRelay({ limit })
    const env = cleanEnv({ PDS_URL: syn.url })
    try {
      await forBins(async (label) => {
        const runs: ShellRun[] = []
        for (let i = 0; i < Math.max(3, Math.ceil(RUNS / 3)); i++) {
          const r = await shellTime(pdsctl('relay', 'accounts', '--relay', relay.url, '--all', '--json'), env)
          if (r.code !== 6) throw new Error(`relay accounts (synthetic ${n}) exited ${r.code}, not 6: ${r.stderr}`)
          const report = JSON.parse(r.stdout) as { accounts: unknown[]; total: number; relays: Array<{ counts: Record<string, number> }> }
          if (report.accounts.length !== n || report.total !== n || report.relays[0].counts.throttled !== n - limit) throw new Error(`relay accounts (synthetic ${n}): ${report.accounts.length} rows, ${JSON.stringify(report.relays[0].counts)}`)
          runs.push(r)
        }
        const rss = median(runs.map((r) => r.maxRssKiB / 1024))
        if (!label) peak.push(rss)
        report(
          `${label}relay accounts --all --json, ${n} synthetic accounts: ${median(runs.map((r) => r.ms)).toFixed(0)} ms (cpu ${median(runs.map((r) => r.cpuMs)).toFixed(0)} ms), peak RSS ${rss.toFixed(1)} MiB [${Math.min(...runs.map((r) => r.maxRssKiB / 1024)).toFixed(1)}–${Math.max(...runs.map((r) => r.maxRssKiB / 1024)).toFixed(1)}] (aim <= 100 MiB)`,
          undefined,
        )
      })
    } finally {
      await relay.close()
      await syn.close()
    }
  }
  if (peak.length >= 2) report(`peak RSS of relay accounts: ${peak[0].toFixed(1)} MiB at ${relaySizes[0]} → ${peak.at(-1)!.toFixed(1)} MiB at ${relaySizes.at(-1)} accounts (+${(peak.at(-1)! - peak[0]).toFixed(1)} MiB)`, undefined)
}

// The single executable (issue 21: start-up within 1.3x of bin/run.js). Timed against
// bin/run.js on the Node inside it (the same V8, so the difference is the packaging) and on
// this bench's Node (what an operator with Node installed runs instead).
const BINARY = opt.binary ? path.resolve(opt.binary) : path.join(ROOT, 'dist', 'binary', `pdsctl-linux-${process.arch}`)
let binary: { file: string; node26: string; node26Version: string; nodeVersion: string } | undefined
if (want('binary')) {
  if (!existsSync(BINARY) && !opt.binary && only?.has('binary')) {
    log(`binary: ${path.relative(ROOT, BINARY)} is missing (npm run bench rebuilds dist/): building it with scripts/build-binary.mjs…`)
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-binary.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  }
  if (!existsSync(BINARY)) {
    const how = opt.binary ? 'the --binary file' : 'build it with `npm run build:binary`, then `node --import tsx bench/bench.ts --only binary`; or `npm run bench -- --only binary`, which builds it'
    report(`binary: skipped, ${BINARY} not found (${how})`, undefined)
  } else {
    const { SEA_NODE_VERSION } = await import('../scripts/build-binary.mjs')
    const node26 = execFileSync('bash', [path.join(ROOT, 'scripts', 'fetch-node.sh'), SEA_NODE_VERSION], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
    const nodeVersion = execFileSync(NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
    binary = { file: BINARY, node26, node26Version: SEA_NODE_VERSION, nodeVersion }
    report(`binary: ${path.relative(ROOT, BINARY)}, ${(statSync(BINARY).size / 1048576).toFixed(1)} MiB (Node ${SEA_NODE_VERSION} inside)`, undefined)
  }
}
/** The binary against bin/run.js on Node 26 (inside it) and on this bench's Node: one alternated pair each. */
async function binaryPairs(what: string, args: string[], env: Record<string, string>, check?: (r: ShellRun) => void) {
  const b = binary!
  for (const [node, version] of [[b.node26, b.node26Version], ...(b.nodeVersion === b.node26Version ? [] : [[NODE, b.nodeVersion]])]) {
    const p = await pair(`binary ${what}`, RUNS, () => shellTime([b.file, ...args], env), () => shellTime([node, BIN, ...args], env), check)
    report(`single executable ${what}: ${fmt(p)} vs bin/run.js on Node ${version} (target <= 1.3)`, p.ratio <= 1.3)
  }
}
if (binary) {
  await binaryPairs('--version', ['--version'], cleanEnv(), (r) => {
    if (!/^pdsctl\/\S+ linux-\w+ node-v\d+\.\d+\.\d+\n$/.test(r.stdout)) throw new Error(`--version printed ${JSON.stringify(r.stdout)}`)
  })
}

if (want('version')) {
  await forBins(async (label) => {
    const v = await pair('--version', RUNS, () => shellTime(pdsctl('--version'), cleanEnv()), () => shellTime([NODE, '-e', '0'], cleanEnv()))
    report(`${label}--version: ${fmt(v)} vs node -e 0 (target <= 1.5)`, v.ratio <= 1.5)
  })
}

const needBed = ['list', 'proxy', 'health', 'batch', 'kube', 'sweep'].some(want) || binary !== undefined
if (needBed) {
  log(`Starting the test-bed PDS…`)
  const bed: TestBed = await startTestBed()
  const env = cleanEnv({ PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
  let seeded = 0
  const seedTo = async (n: number) => {
    if (n <= seeded) return
    const t0 = performance.now()
    // Many in flight: the PDS serialises what it must; this hides the rest.
    let next = seeded
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < n) {
          const i = next++
          await bed.createAccount(`bench${i}${bed.handleDomain}`)
        }
      }),
    )
    log(`Seeded ${n - seeded} accounts in ${((performance.now() - t0) / 1000).toFixed(1)} s.`)
    seeded = n
  }
  try {
    if (want('health')) {
      await forBins(async (label) => {
        const h = await pair('health', RUNS, () => shellTime(pdsctl('health', '--json'), env), () => shellTime([NODE, bench('floor-health-http.mjs')], env))
        report(`${label}health --json: ${fmt(h)} vs the node:http script (target <= 1.6)`, h.ratio <= 1.6)
      })
    }
    if (binary) {
      await binaryPairs('health --json', ['health', '--json'], env, (r) => {
        if ((JSON.parse(r.stdout) as { healthy?: unknown }).healthy !== true) throw new Error(`health --json: ${r.stdout.slice(0, 300)}`)
      })
    }
    if (want('batch')) {
      await seedTo(Math.max(BATCH, 1))
      const listed = await shellTime(pdsctl('account', 'list', '--json', '--limit', String(BATCH)), env)
      const dids = (JSON.parse(listed.stdout) as Array<{ did: string }>).map((r) => r.did)
      const file = path.join(tmpdir(), `pdsctl-bench-batch-${process.pid}.txt`)
      writeFileSync(file, dids.join('\n') + '\n')
      const check = (r: ShellRun) => {
        const out = JSON.parse(r.stdout) as { ok: number; failed: number }
        if (out.ok !== dids.length || out.failed !== 0) throw new Error(`batch: ${out.ok} ok, ${out.failed} failed of ${dids.length}`)
      }
      await forBins(async (label) => {
        const b = await pair('batch', RUNS, () => shellTime(pdsctl('account', 'takedown', '-', '--yes', '--json'), env, { stdin: file }), () => shellTime([NODE, bench('floor-batch-http.mjs')], env, { stdin: file }), check)
        report(`${label}account takedown - (${dids.length} accounts): ${fmt(b)} vs the batched floor (target <= 1.2)`, b.ratio <= 1.2)
      })
    }
    for (const n of want('list') || want('proxy') || only?.has('sweep') ? sizes : []) {
      await seedTo(n)
      if (want('list')) {
        await forBins(async (label) => {
          const l = await pair(`account list ${n}`, RUNS, () => shellTime(pdsctl('account', 'list', '--json'), env), () => shellTime([NODE, bench('floor-list-http.mjs')], env), checkRows(n))
          const target = n >= 10_000 ? 1.15 : 1.5
          report(`${label}account list --json, ${n} accounts: ${fmt(l)} vs the node:http floor (target <= ${target})`, l.ratio <= target)
        })
        const f = await pair(`fetch floor ${n}`, Math.max(3, Math.ceil(RUNS / 3)), () => shellTime(pdsctl('account', 'list', '--json'), env), () => shellTime([NODE, bench('plain-list.mjs')], env))
        report(`account list --json, ${n} accounts: ${fmt(f)} vs the plain-fetch script`, undefined)
      }
      if (only?.has('sweep') && n === sizes[0]) {
        const proxy = await startDelayProxy(bed.url, DELAY)
        try {
          for (const [where, e] of [['loopback', env], [`${DELAY} ms proxy`, { ...env, PDS_URL: proxy.url }]] as const) {
            for (const batch of [50, 100]) {
              for (const width of [1, 2, 4, 6]) {
                const knobs = ['--batch-size', String(batch), '--concurrency', String(width)]
                const p = await pair(`sweep`, RUNS, () => shellTime(pdsctl('account', 'list', '--json', ...knobs), e), () => shellTime([NODE, bench('floor-list-http.mjs')], e), checkRows(n))
                report(`sweep ${n} accounts, ${where}, batch ${batch}, width ${width}: ${fmt(p)} vs the node:http floor`, undefined)
              }
            }
          }
        } finally {
          await proxy.close()
        }
      }
      if (want('proxy') && n === sizes[0]) {
        const proxy = await startDelayProxy(bed.url, DELAY)
        const penv = { ...env, PDS_URL: proxy.url }
        try {
          await forBins(async (label) => {
            const p = await pair(`proxy ${n}`, RUNS, () => shellTime(pdsctl('account', 'list', '--json'), penv), () => shellTime([NODE, bench('floor-list-http.mjs')], penv), checkRows(n))
            report(`${label}account list --json, ${n} accounts through a ${DELAY} ms (one-way) delaying proxy: ${fmt(p)} vs the node:http floor`, undefined)
          })
        } finally {
          await proxy.close()
        }
      }
    }
    if (want('kube') && existsSync(path.join(ROOT, 'test/bed/fakeKube.ts'))) {
      const { benchKube } = await import('./kube.js')
      const timeRun = (cmd: string, args: string[], e: Record<string, string>) =>
        shellTime([cmd, ...args], e).then((r) => ({ ms: r.ms, code: r.code, stdout: r.stdout, stderr: r.stderr }))
      const k = await benchKube({ bed, env, runs: RUNS, timeRun, median })
      report(
        `health via --kube-*: ${k.kubeMs.toFixed(0)} ms vs direct ${k.directMs.toFixed(0)} ms, extra ${k.extraMs.toFixed(0)} ms; kubectl to first "Forwarding from" ${k.kubectlReadyMs.toFixed(0)} ms (target extra <= ${(k.kubectlReadyMs + 300).toFixed(0)} ms)`,
        k.extraMs <= k.kubectlReadyMs + 300,
      )
    }
  } finally {
    await bed.close()
  }
}

if (want('backup')) {
  log('Starting the test-bed PDS for the backup case…')
  const { benchBackup } = await import('./backup.js')
  const before = opt.before ? (...args: string[]) => [NODE, path.resolve(opt.before as string), ...args] : undefined
  const k = await benchBackup({ runs: Math.max(3, Math.ceil(RUNS / 2)), accounts: 20, posts: 40, blobsPerAccount: 8, blobSize: 294_000, node: NODE, pdsctl, before, floor: bench('floor-backup-http.mjs'), log })
  const what = `20 accounts × 40 posts × 8 blobs, ${(k.bytes / 1e6).toFixed(0)} MB`
  if (k.before) {
    const p = k.before
    report(`before: backup DIR: ${p.pdsctlMs.toFixed(0)} ms vs ${k.floorMs.toFixed(0)} ms, ratio ${p.ratio.toFixed(2)} [${p.ratioP25.toFixed(2)}–${p.ratioP75.toFixed(2)}] (cpu ${p.pdsctlCpuMs.toFixed(0)} ms, peak RSS ${p.rssMiB.toFixed(0)} MiB); again, nothing changed: ${p.incrementalMs.toFixed(0)} ms, ${p.incrementalRatio.toFixed(2)} [${p.incrementalP25.toFixed(2)}–${p.incrementalP75.toFixed(2)}]`, undefined)
  }
  report(`backup DIR (${what}): ${k.pdsctlMs.toFixed(0)} ms vs ${k.floorMs.toFixed(0)} ms, ratio ${k.ratio.toFixed(2)} [${k.ratioP25.toFixed(2)}–${k.ratioP75.toFixed(2)}] (cpu ${k.pdsctlCpuMs.toFixed(0)} vs ${k.floorCpuMs.toFixed(0)} ms, peak RSS ${k.rssMiB.toFixed(0)} MiB) vs the durable node:http floor (target <= 1.3)`, k.ratio <= 1.3)
  report(`backup DIR again, nothing changed: ${k.incrementalMs.toFixed(0)} ms, ${k.incrementalRatio.toFixed(2)} [${k.incrementalP25.toFixed(2)}–${k.incrementalP75.toFixed(2)}] of the floor's full run (target < 0.3)`, k.incrementalRatio < 0.3)
}

if (want('migrate')) {
  // One run moves one account for good: a few alternated runs (each seeds 200 MB twice).
  log('Starting two PDSes for the migration case…')
  const { benchMigrate } = await import('./migrate.js')
  const runs = Math.max(3, Math.ceil(RUNS / 3))
  const m = await benchMigrate({
    runs,
    blobBytes: Number(opt['migrate-mb']) * 1e6,
    records: Number(opt['migrate-records']),
    concurrency: 4,
    node: NODE,
    pdsctl,
    floor: bench('floor-migrate-http.mjs'),
    log,
  })
  const what = `${opt['migrate-records']} records + ${opt['migrate-mb']} MB of blobs`
  report(
    `account migrate (${what}, both processes): ${m.pdsctlMs.toFixed(0)} ms vs ${m.floorMs.toFixed(0)} ms, ratio ${m.ratio.toFixed(2)} [${m.ratioP25.toFixed(2)}–${m.ratioP75.toFixed(2)}] (cpu ${m.pdsctlCpuMs.toFixed(0)} vs ${m.floorCpuMs.toFixed(0)} ms; up to the token ${m.phase1.pdsctlMs.toFixed(0)} vs ${m.phase1.floorMs.toFixed(0)} ms, with it ${m.phase2.pdsctlMs.toFixed(0)} vs ${m.phase2.floorMs.toFixed(0)} ms) vs the node:http floor, ${runs} runs (target <= 1.2)`,
    m.ratio <= 1.2,
  )
  report(`account migrate (${what}): peak RSS ${m.rssMiB.toFixed(0)} MiB (max ${m.rssMaxMiB.toFixed(0)}; floor ${m.floorRssMiB.toFixed(0)}) (target < 150 MiB)`, m.rssMaxMiB < 150)
}

process.stdout.write(lines.join('\n') + '\n')
process.exitCode = missed ? 1 : 0
