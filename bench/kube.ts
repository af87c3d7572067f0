// The Kubernetes part of `npm run bench`: the extra wall time of reaching the PDS through
// `--kube-*` (a real kubectl port-forward against the fake API server, forwarding to the
// test PDS) over a direct URL, for `pdsctl health`, next to kubectl's own time from start
// to its first "Forwarding from" line.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { startFakeKube } from '../test/bed/fakeKube.js'
import { CLI_NODE, ROOT } from '../test/helpers/cli.js'
import type { TestBed } from '../test/bed/pds.js'

interface Timed { ms: number; code: number | null; stdout: string; stderr: string }

export async function benchKube(opts: {
  bed: TestBed
  env: Record<string, string>
  runs: number
  timeRun: (cmd: string, args: string[], env: Record<string, string>) => Promise<Timed>
  median: (xs: number[]) => number
}): Promise<{ kubeMs: number; directMs: number; extraMs: number; kubectlReadyMs: number }> {
  const kube = await startFakeKube({ backendPort: opts.bed.port })
  const bin = path.join(ROOT, 'bin/run.js')
  const env = { ...opts.env, ...kube.env }
  delete (env as Record<string, string | undefined>).PDS_URL
  const kubeArgs = [bin, 'health', '--json', '--kube-namespace', 'bluesky', '--kube-service', 'bluesky']
  const directEnv = { ...opts.env }
  const kubeTimes: number[] = []
  const directTimes: number[] = []
  const readyTimes: number[] = []
  try {
    await opts.timeRun(CLI_NODE, kubeArgs, env) // warm-up (discovery cache, compile cache)
    for (let i = 0; i < opts.runs; i++) {
      const k = await opts.timeRun(CLI_NODE, kubeArgs, env)
      if (k.code !== 0) throw new Error(`health via --kube-* exited ${k.code}: ${k.stderr}`)
      kubeTimes.push(k.ms)
      const d = await opts.timeRun(CLI_NODE, [bin, 'health', '--json'], directEnv)
      if (d.code !== 0) throw new Error(`health via URL exited ${d.code}: ${d.stderr}`)
      directTimes.push(d.ms)
      readyTimes.push(await kubectlReady(env))
    }
  } finally {
    await kube.close()
  }
  const kubeMs = opts.median(kubeTimes)
  const directMs = opts.median(directTimes)
  return { kubeMs, directMs, extraMs: kubeMs - directMs, kubectlReadyMs: opts.median(readyTimes) }
}

/** kubectl's own start-to-"Forwarding from" time, the floor for any port-forward helper. */
function kubectlReady(env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('kubectl', ['port-forward', '--address', '127.0.0.1', '-n', 'bluesky', 'svc/bluesky', ':3000'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d
      if (/^Forwarding from 127\.0\.0\.1:\d+/m.test(out)) {
        const ms = performance.now() - started
        child.once('close', () => resolve(ms))
        child.kill('SIGINT')
      }
    })
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d))
    child.on('close', (code) => {
      if (!/Forwarding from/.test(out)) reject(new Error(`kubectl exited ${code} before forwarding: ${err}`))
    })
  })
}
