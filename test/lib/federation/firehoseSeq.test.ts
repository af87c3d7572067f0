// Finding the PDS's latest firehose seq from outside, against the real PDS: from below,
// from its exact seq, from above (FutureCursor), and with a new event between two probes.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { probeLatestSeq, readFrame } from '../../../src/lib/federation/firehoseSeq.js'
import { PdsctlError } from '../../../src/lib/errors.js'

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

describe('readFrame (hostile frames)', () => {
  // {op: 1, t: '#info'} then {name: 'OutdatedCursor', __proto__: {seq: 42}} in DAG-CBOR.
  const header = Buffer.from([0xa2, 0x62, 0x6f, 0x70, 0x01, 0x61, 0x74, 0x65, 0x23, 0x69, 0x6e, 0x66, 0x6f])
  test('a `__proto__` key is an own property like any other: no seq is inherited from it', () => {
    const body = Buffer.concat([Buffer.from([0xa2, 0x64]), Buffer.from('name'), Buffer.from([0x6e]), Buffer.from('OutdatedCursor'), Buffer.from([0x69]), Buffer.from('__proto__'), Buffer.from([0xa1, 0x63]), Buffer.from('seq'), Buffer.from([0x18, 42])])
    const frame = readFrame(Buffer.concat([header, body]))
    assert.equal(frame.header.t, '#info')
    assert.equal(frame.body.seq, undefined, 'seq read through the prototype the server chose')
    assert.equal(Object.getPrototypeOf(frame.body), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(frame.body, '__proto__')?.value, { seq: 42 })
  })
  test('CBOR nested 100,000 deep (arrays, tags) is refused by a depth limit, not a stack overflow', () => {
    for (const byte of [0x81, 0xc6]) {
      const deep = Buffer.concat([header, Buffer.alloc(100_000, byte), Buffer.from([0xa0])])
      assert.throws(() => readFrame(deep), (err: unknown) => err instanceof PdsctlError && /nested deeper than 32 levels/.test(err.message), `0x${byte.toString(16)}`)
    }
  })
})
