import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareTids, isTid, tidTimestampMs } from '../../../src/lib/federation/tid.js'
import { parseRetryAfter } from '../../../src/lib/federation/relays.js'

test('revs compare as TIDs, by their clock', () => {
  // Two revs of one repo, a few ms apart (from the test-bed PDS), and one from the far past.
  const a = '3n3erognkns27'
  const b = '3n3erozz5sk27'
  assert.equal(compareTids(a, b), -1)
  assert.equal(compareTids(b, a), 1)
  assert.equal(compareTids(a, a), 0)
  assert.ok(tidTimestampMs(b) - tidTimestampMs(a) > 0)
  assert.ok(Math.abs(tidTimestampMs(b) - Date.UTC(2026, 10, 28, 13, 12)) < 86_400_000, 'the clock decodes to the day it was made')
  assert.equal(compareTids('2222222222222', a), -1)
  for (const bad of ['', '3n3erognkns2', '3n3erognkns271', 'zn3erognkns27', '3N3EROGNKNS27', '3n3erognkns01']) {
    assert.equal(isTid(bad), false, bad)
    assert.throws(() => compareTids(bad, a), /is not a repo rev/)
  }
})

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000)
  assert.equal(parseRetryAfter(undefined), undefined)
  assert.equal(parseRetryAfter('soon'), undefined)
  const inTen = new Date(Date.now() + 10_000).toUTCString()
  const ms = parseRetryAfter(inTen)!
  assert.ok(ms > 8000 && ms <= 10_000, String(ms))
})
