// Whole processes timed from a shell, as a user would see them: `sh -c` takes the wall
// clock just before and after the command (date +%s%N), so Node's own spawn and pipe
// handling in the bench process are not counted. stdout goes to a file (read back to
// check the output), stderr to another.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface ShellRun {
  /** Wall clock (ms since the epoch) just before the command started. */
  startedAt: number
  ms: number
  code: number
  stdout: string
  stderr: string
  /** Peak RSS in KiB. */
  maxRssKiB: number
  /** User + system CPU time in ms (steadier than wall time on a busy machine). */
  cpuMs: number
}

const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-bench-'))
process.on('exit', () => rmSync(dir, { recursive: true, force: true }))

export const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * Run `argv` once from sh, under /usr/bin/time for its peak RSS and CPU time (the same
 * small cost on both sides of every pair).
 */
export function shellTime(argv: string[], env: Record<string, string>, opts: { stdin?: string } = {}): Promise<ShellRun> {
  const out = path.join(dir, 'out')
  const err = path.join(dir, 'err')
  const rssFile = path.join(dir, 'rss')
  const cmd = argv.map(quote).join(' ')
  const wrapped = `/usr/bin/time -f '%M %U %S' -o ${quote(rssFile)} ${cmd}`
  const stdin = opts.stdin ? `<${quote(opts.stdin)}` : '</dev/null'
  const script = `s=$(date +%s%N); ${wrapped} >${quote(out)} 2>${quote(err)} ${stdin}; c=$?; e=$(date +%s%N); echo "$s $e $c"`
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let line = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (line += d))
    child.on('error', reject)
    child.on('close', () => {
      const [s, e, c] = line.trim().split(' ').map(Number)
      // time(1) writes "Command exited with non-zero status N" first when it fails.
      const [rss, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
      resolve({
        startedAt: s / 1e6,
        ms: (e - s) / 1e6,
        code: c,
        stdout: readFileSync(out, 'utf8'),
        stderr: readFileSync(err, 'utf8'),
        maxRssKiB: rss,
        cpuMs: (user + sys) * 1000,
      })
    })
  })
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  const i = (s.length - 1) * q
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i))
}

export interface PairResult {
  a: number
  b: number
  ratio: number
  /** The spread of the per-run ratios a_i/b_i (alternated neighbours): 25th–75th percentile. */
  ratioP25: number
  ratioP75: number
  /** Median CPU time (user + sys) of each side, ms. */
  aCpu: number
  bCpu: number
  aRuns: ShellRun[]
}

/**
 * Alternate a and b (a b, b a, a b, …) `runs` times after one uncounted warm-up of each,
 * so noise from the other developers on the machine hits both alike.
 */
export async function pair(name: string, runs: number, a: () => Promise<ShellRun>, b: () => Promise<ShellRun>, check?: (r: ShellRun, which: 'a' | 'b') => void): Promise<PairResult> {
  const ta: ShellRun[] = []
  const tb: ShellRun[] = []
  const one = async (fn: () => Promise<ShellRun>, which: 'a' | 'b') => {
    const r = await fn()
    if (r.code !== 0) throw new Error(`${name} (${which === 'a' ? 'pdsctl' : 'reference'}) exited ${r.code}: ${r.stderr.slice(0, 500)}`)
    check?.(r, which)
    return r
  }
  await one(a, 'a')
  await one(b, 'b')
  for (let i = 0; i < runs; i++) {
    if (i % 2) {
      tb.push(await one(b, 'b'))
      ta.push(await one(a, 'a'))
    } else {
      ta.push(await one(a, 'a'))
      tb.push(await one(b, 'b'))
    }
  }
  const ratios = ta.map((r, i) => r.ms / tb[i].ms)
  const am = median(ta.map((r) => r.ms))
  const bm = median(tb.map((r) => r.ms))
  return {
    a: am,
    b: bm,
    ratio: am / bm,
    ratioP25: quantile(ratios, 0.25),
    ratioP75: quantile(ratios, 0.75),
    aCpu: median(ta.map((r) => r.cpuMs)),
    bCpu: median(tb.map((r) => r.cpuMs)),
    aRuns: ta,
  }
}
