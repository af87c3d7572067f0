// streamBatch: the engine of `account <verb> -`. Pure scheduling (no network): results in
// input order while items finish out of order, at most `concurrency` in flight, each
// window prepared before its items and released after, a failure reported on its line.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseBatchLines, streamBatch } from '../../../src/lib/admin/batch.js'
import { UsageError } from '../../../src/lib/errors.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('results come in input order although items finish out of order; at most 8 in flight', async () => {
  const items = Array.from({ length: 40 }, (_, i) => `item${i}`)
  let inFlight = 0
  let max = 0
  const seen: string[] = []
  for await (const r of streamBatch(items, async (item) => {
    max = Math.max(max, ++inFlight)
    await sleep(((Number(item.slice(4)) * 7) % 5) * 3)
    inFlight--
    return item.toUpperCase()
  })) {
    seen.push(r.input)
    assert.equal(r.result, r.input.toUpperCase())
  }
  assert.deepEqual(seen, items)
  assert.equal(max, 8)
})

test('a failing item is reported on its own line with the one-line message; the rest go on', async () => {
  const out = []
  for await (const r of streamBatch(['a', 'b', 'c'], async (item) => {
    if (item === 'b') throw new UsageError('"b" is not an account', { hint: 'Use a handle or DID' })
    return item
  })) out.push(r)
  assert.deepEqual(out, [
    { input: 'a', ok: true, result: 'a' },
    { input: 'b', ok: false, error: '"b" is not an account. Use a handle or DID' },
    { input: 'c', ok: true, result: 'c' },
  ])
})

test('windows: each is prepared before its items run and released after its last result', async () => {
  const log: string[] = []
  const items = Array.from({ length: 5 }, (_, i) => String(i))
  for await (const r of streamBatch(items, async (item) => (log.push(`run ${item}`), item), {
    window: 2,
    concurrency: 2,
    prepare: async (w) => void log.push(`prepare ${w.join(',')}`),
    release: () => void log.push('release'),
  })) log.push(`result ${r.input}`)
  assert.deepEqual(log, [
    'prepare 0,1', 'run 0', 'run 1', 'result 0', 'result 1', 'release',
    'prepare 2,3', 'run 2', 'run 3', 'result 2', 'result 3', 'release',
    'prepare 4', 'run 4', 'result 4', 'release',
  ])
})

test('the first result is out before the last item starts (streamed, not collected)', async () => {
  const items = Array.from({ length: 30 }, (_, i) => i)
  let started = 0
  let startedAtFirstResult = -1
  for await (const r of streamBatch(items.map(String), async (item) => {
    started++
    await sleep(2)
    return item
  }, { concurrency: 4 })) {
    if (startedAtFirstResult < 0) startedAtFirstResult = started
    void r
  }
  assert.ok(startedAtFirstResult < 30, `items started before the first result: ${startedAtFirstResult}`)
})

test('parseBatchLines: trims, skips blanks and # comments', () => {
  assert.deepEqual(parseBatchLines('# list\n alice.test \r\n\n did:plc:abc\n#x\n'), ['alice.test', 'did:plc:abc'])
})
