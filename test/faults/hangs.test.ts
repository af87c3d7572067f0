// The fault suite, hangs: every network command against a server that does not answer,
// sends its headers or its body at 1 byte/s: each must end by its --timeout deadline with
// exit 1 (6 for the checks), text and --json. Processes mostly wait here, so more run at once.
import { after, before, describe } from 'node:test'
import { COMMANDS, HANG_MODES, KILL_AFTER_MS, faultCase, modesOf, newTally, printTally, runFaultCase, startWorld, stopWorld, type World } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

const GATE = 6

describe('fault suite: hangs', { concurrency: GATE }, () => {
  let w: World
  const tally = newTally('hangs')
  // node starts this many cases at once (a case's timer starts when it starts).
  before(async () => {
    w = await startWorld()
  })
  after(async () => {
    printTally(tally)
    await stopWorld(w)
  })
  for (const spec of COMMANDS) {
    for (const mode of modesOf({ ...spec, listing: false }, HANG_MODES)) {
      for (const json of [false, true]) {
        const id = `${spec.name} [${mode}]${json ? ' --json' : ''}`
        faultCase(tally, EXPECTED_GAPS, id, () => runFaultCase(w, spec, mode, json, KILL_AFTER_MS.hang))
      }
    }
  }
})
