// The fault suite, writes: every write command × every broken answer, text and --json.
// See support.ts for the table and the assertions, gaps.ts for the known gaps.
import { after, before, describe } from 'node:test'
import { ANSWER_MODES, COMMANDS, KILL_AFTER_MS, faultCase, modesOf, newTally, printTally, runFaultCase, startWorld, stopWorld, type World } from './support.js'
import { EXPECTED_GAPS } from './gaps.js'

const GATE = 3

describe('fault suite: writes', { concurrency: GATE }, () => {
  let w: World
  const tally = newTally('writes')
  // node starts this many cases at once (a case's timer starts when it starts).
  before(async () => {
    w = await startWorld()
  })
  after(async () => {
    printTally(tally)
    await stopWorld(w)
  })
  for (const spec of COMMANDS.filter((c) => Boolean(c.write) === true)) {
    for (const mode of modesOf(spec, ANSWER_MODES)) {
      for (const json of [false, true]) {
        const id = `${spec.name} [${mode}]${json ? ' --json' : ''}`
        faultCase(tally, EXPECTED_GAPS, id, () => runFaultCase(w, spec, mode, json, KILL_AFTER_MS.answer))
      }
    }
  }
})
