// The fault suite, signals: every network command, stuck in a request the server never
// answers, gets SIGTERM (exit 143) or SIGINT (exit 130) and must exit within 1 s of the
// signal (SIGNAL_EXIT_LIMIT_MS), on a busy machine too. The times are printed at the end.
import { after, before, describe } from 'node:test'
import { COMMANDS, SIGNAL_EXIT_LIMIT_MS, faultCase, newTally, printTally, runSignalCase, startWorld, stopWorld, type World } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

// Two at a time, as the other fault files: the cases' own processes, not the limit, set the pace.
const GATE = 2

describe('fault suite: signals', { concurrency: GATE }, () => {
  let w: World
  const tally = newTally('signals')
  /** Signal-to-exit time of each case that passed, in ms (a failing case says its own). */
  const times: Array<{ id: string; ms: number }> = []
  before(async () => {
    w = await startWorld()
  })
  after(async () => {
    printTally(tally)
    if (times.length) {
      const sorted = [...times].sort((a, b) => a.ms - b.ms)
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].ms
      const slowest = sorted.slice(-3).reverse().map((t) => `${t.id} ${t.ms} ms`).join(', ')
      process.stdout.write(`# signal to exit (limit ${SIGNAL_EXIT_LIMIT_MS} ms), ${times.length} cases: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted.at(-1)!.ms} ms; slowest: ${slowest}\n`)
    }
    await stopWorld(w)
  })
  for (const spec of COMMANDS) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const id = `${spec.name} [${signal} while waiting]`
      faultCase(tally, EXPECTED_GAPS, id, async () => {
        times.push({ id, ms: await runSignalCase(w, spec, signal) })
      })
    }
  }
})
