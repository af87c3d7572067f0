// The fault suite, signals: every network command, stuck in a request the server never
// answers, gets SIGTERM (exit 143) or SIGINT (exit 130) and must end within 1 s.
import { after, before, describe } from 'node:test'
import { COMMANDS, faultCase, newTally, printTally, runSignalCase, startWorld, stopWorld, type World } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

// Two at a time: the 1 s limit is measured from the signal, and a crowded machine delays the exit itself.
const GATE = 2

describe('fault suite: signals', { concurrency: GATE }, () => {
  let w: World
  const tally = newTally('signals')
  // node starts this many cases at once (a case's timer starts when it starts).
  before(async () => {
    w = await startWorld()
  })
  after(async () => {
    printTally(tally)
    await stopWorld(w)
  })
  for (const spec of COMMANDS) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const id = `${spec.name} [${signal} while waiting]`
      faultCase(tally, EXPECTED_GAPS, id, () => runSignalCase(w, spec, signal))
    }
  }
})
