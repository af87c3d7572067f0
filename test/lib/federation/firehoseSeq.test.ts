// Finding the PDS's latest firehose seq from outside, against the real PDS: from below,
// from its exact seq, from above (FutureCursor), and with a new event between two probes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { probeLatestSeq } from '../../../src/lib/federation/firehoseSeq.js'

describe('probeLatestSeq', () => {
  let bed: TestBed
  before(async () => {
    bed = await startTestBed()
    await bed.seed(6, 'seq')
  })
  after(() => bed.close())

  test('finds the sequencer\'s latest seq from any starting point, in few connections', async () => {
    const curr = (await bed.pds.ctx.sequencer.curr())!
    assert.ok(curr > 10)
    for (const from of [0, 1, curr - 1, curr, curr + 1, curr + 1000, 1_000_000_000]) {
      const p = await probeLatestSeq(bed.url, { from, silenceMs: 500 })
      assert.equal(p.error, null, `from ${from}`)
      assert.equal(p.seq, curr, `from ${from}`)
      assert.ok(p.probes <= 2 * Math.ceil(Math.log2(Math.abs(from - curr) + 2)) + 6, `from ${from}: ${p.probes} probes`)
    }
    await bed.createAccount('later.test')
    // Account creation sequences several events, some just after the call returns.
    await new Promise((r) => setTimeout(r, 500))
    const later = (await bed.pds.ctx.sequencer.curr())!
    assert.ok(later > curr)
    const p = await probeLatestSeq(bed.url, { from: curr, silenceMs: 500 })
    const afterProbe = (await bed.pds.ctx.sequencer.curr())!
    // The PDS may still sequence a late event of that sign-up while the probe runs.
    assert.ok(p.seq! >= later && p.seq! <= afterProbe, `${later} <= ${p.seq} <= ${afterProbe}`)
  })

  test('a URL with no firehose gives null and why, within the deadline', async () => {
    const t0 = Date.now()
    const p = await probeLatestSeq('http://127.0.0.1:9', { deadlineMs: 3000 })
    assert.equal(p.seq, null)
    assert.match(p.error!, /firehose did not open/)
    assert.ok(Date.now() - t0 < 5000)
  })
})
