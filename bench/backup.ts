// The backup case of `npm run bench`: `pdsctl backup DIR` of 20 accounts × 40 posts × 8
// blobs (~47 MB) on the bed PDS against bench/floor-backup-http.mjs (the same calls with
// node:http, 8 accounts and 4 blobs of each in flight, every body written, hashed and
// fsynced), each run into a fresh folder; and the incremental rerun (the same command into
// the folder of the run before: nothing changed) against the same floor. With `before`
// (bench --before PATH), another build runs in each round beside them, against the same
// floor runs: a pairing on the same bed and at the same hour.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed } from '../test/bed/pds.js'
import { cleanEnv } from '../test/helpers/cli.js'
import { blobBytes, login, xrpc } from '../test/commands/account/migrateSupport.js'
import { median, quantile, shellTime, type ShellRun } from './shell.js'

export interface BackupBenchOptions {
  runs: number
  accounts: number
  posts: number
  blobsPerAccount: number
  blobSize: number
  node: string
  pdsctl: (...args: string[]) => string[]
  /** Another build, timed in each round too (its figures in `before`). */
  before?: (...args: string[]) => string[]
  floor: string
  log: (line: string) => void
}

export interface BackupBenchResult {
  pdsctlMs: number
  floorMs: number
  ratio: number
  ratioP25: number
  ratioP75: number
  pdsctlCpuMs: number
  floorCpuMs: number
  /** The incremental rerun against the floor's full run (medians), and its spread. */
  incrementalMs: number
  incrementalRatio: number
  incrementalP25: number
  incrementalP75: number
  bytes: number
  rssMiB: number
  /** The same figures for the `before` build, against the same floor runs. */
  before?: Omit<BackupBenchResult, 'floorMs' | 'floorCpuMs' | 'bytes' | 'before'>
}

export async function benchBackup(o: BackupBenchOptions): Promise<BackupBenchResult> {
  const bed = await startTestBed()
  const tmp = mkdtempSync(path.join(tmpdir(), 'pdsctl-bench-backup-'))
  try {
    const t0 = Date.now()
    let bytes = 0
    await Promise.all(
      Array.from({ length: o.accounts }, async (_, i) => {
        const a = await bed.createAccount(`bk${i}${bed.handleDomain}`)
        const jwt = await login(bed.url, a.did, a.password)
        const writes: unknown[] = []
        for (let j = 0; j < o.posts; j++) {
          let embed: unknown
          if (j < o.blobsPerAccount) {
            const up = await xrpc(bed.url, 'com.atproto.repo.uploadBlob', { raw: blobBytes(o.blobSize), type: 'image/png', bearer: jwt })
            if (up.status !== 200) throw new Error(`uploadBlob: ${up.status}`)
            bytes += o.blobSize
            embed = { $type: 'app.bsky.embed.images', images: [{ alt: '', image: up.body.blob }] }
          }
          writes.push({ $type: 'com.atproto.repo.applyWrites#create', collection: 'app.bsky.feed.post', value: { $type: 'app.bsky.feed.post', text: `post ${j}`, createdAt: new Date().toISOString(), ...(embed ? { embed } : {}) } })
        }
        const w = await xrpc(bed.url, 'com.atproto.repo.applyWrites', { bearer: jwt, body: { repo: a.did, writes } })
        if (w.status !== 200) throw new Error(`applyWrites: ${w.status} ${JSON.stringify(w.body)}`)
      }),
    )
    o.log(`Seeded ${o.accounts} accounts × ${o.posts} posts × ${o.blobsPerAccount} blobs (${(bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s.`)
    const env = cleanEnv({ PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
    let k = 0
    const fresh = () => path.join(tmp, `run-${k++}`)
    const runPdsctl = async (dir: string, bin = o.pdsctl) => {
      const r = await shellTime(bin('backup', dir, '--json'), env)
      if (r.code !== 0) throw new Error(`backup exited ${r.code}: ${r.stderr.slice(-800)}`)
      const s = JSON.parse(r.stdout) as { accounts: number }
      if (s.accounts !== o.accounts) throw new Error(`backup saved ${s.accounts} accounts`)
      return r
    }
    const runFloor = async (dir: string) => {
      const r = await shellTime([o.node, o.floor], { ...env, OUT: dir })
      if (r.code !== 0) throw new Error(`floor exited ${r.code}: ${r.stderr.slice(-800)}`)
      return r
    }
    const a: ShellRun[] = []
    const b: ShellRun[] = []
    const inc: ShellRun[] = []
    const ba: ShellRun[] = []
    const binc: ShellRun[] = []
    for (let i = 0; i <= o.runs; i++) {
      const pd = fresh()
      const fd = fresh()
      let x: ShellRun
      let y: ShellRun
      if (i % 2 === 0) {
        x = await runPdsctl(pd)
        y = await runFloor(fd)
      } else {
        y = await runFloor(fd)
        x = await runPdsctl(pd)
      }
      const z = await runPdsctl(pd) // the incremental rerun: nothing changed since
      rmSync(pd, { recursive: true, force: true })
      rmSync(fd, { recursive: true, force: true })
      let bx: ShellRun | undefined
      let bz: ShellRun | undefined
      if (o.before) {
        const bd = fresh()
        bx = await runPdsctl(bd, o.before)
        bz = await runPdsctl(bd, o.before)
        rmSync(bd, { recursive: true, force: true })
      }
      if (i === 0) continue // warm-up
      a.push(x)
      b.push(y)
      inc.push(z)
      if (bx && bz) {
        ba.push(bx)
        binc.push(bz)
      }
      o.log(`backup run ${i}: pdsctl ${x.ms.toFixed(0)} ms, floor ${y.ms.toFixed(0)} ms, incremental ${z.ms.toFixed(0)} ms${bx && bz ? `; before: ${bx.ms.toFixed(0)} ms, incremental ${bz.ms.toFixed(0)} ms` : ''}`)
    }
    const floorMs = median(b.map((r) => r.ms))
    const figures = (full: ShellRun[], again: ShellRun[]) => {
      const ratios = full.map((r, i) => r.ms / b[i].ms)
      const incRatios = again.map((r, i) => r.ms / b[i].ms)
      const pdsctlMs = median(full.map((r) => r.ms))
      const incrementalMs = median(again.map((r) => r.ms))
      return {
        pdsctlMs,
        ratio: pdsctlMs / floorMs,
        ratioP25: quantile(ratios, 0.25),
        ratioP75: quantile(ratios, 0.75),
        pdsctlCpuMs: median(full.map((r) => r.cpuMs)),
        incrementalMs,
        incrementalRatio: incrementalMs / floorMs,
        incrementalP25: quantile(incRatios, 0.25),
        incrementalP75: quantile(incRatios, 0.75),
        rssMiB: median(full.map((r) => r.maxRssKiB / 1024)),
      }
    }
    return {
      ...figures(a, inc),
      floorMs,
      floorCpuMs: median(b.map((r) => r.cpuMs)),
      bytes,
      ...(ba.length ? { before: figures(ba, binc) } : {}),
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    await bed.close()
  }
}
