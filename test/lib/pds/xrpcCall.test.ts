// src/lib/pds/xrpcCall.ts: how `pdsctl xrpc` reads its input and chooses GET or POST.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { lookupMethodType, parseParams } from '../../../src/lib/pds/xrpcCall.js'
import { PROCEDURES, QUERIES, SUBSCRIPTIONS, XRPC_METHODS_SOURCE } from '../../../src/lib/pds/xrpcMethods.js'

test("the method kinds are @atproto/api's lexicons, method for method (else: node scripts/gen-xrpc-methods.mjs)", async () => {
  const { schemas } = await import('@atproto/api')
  const { readFileSync } = await import('node:fs')
  const pkg = JSON.parse(readFileSync(new URL('../../../node_modules/@atproto/api/package.json', import.meta.url), 'utf8')) as { version: string }
  assert.equal(XRPC_METHODS_SOURCE, `@atproto/api ${pkg.version}`)
  const want = { query: [] as string[], procedure: [] as string[], subscription: [] as string[] }
  for (const doc of schemas as Array<{ id: string; defs: { main?: { type?: string } } }>) {
    const kind = doc.defs.main?.type
    if (kind === 'query' || kind === 'procedure' || kind === 'subscription') want[kind].push(doc.id)
  }
  assert.deepEqual([...QUERIES].sort(), want.query.sort())
  assert.deepEqual([...PROCEDURES].sort(), want.procedure.sort())
  assert.deepEqual([...SUBSCRIPTIONS].sort(), want.subscription.sort())
  assert.ok(QUERIES.length > 100 && PROCEDURES.length > 100)
})

test('lookupMethodType: a procedure, a query, a subscription, and undefined for what no lexicon names', async () => {
  assert.equal(await lookupMethodType('com.atproto.admin.updateAccountEmail'), 'procedure')
  assert.equal(await lookupMethodType('com.atproto.admin.getAccountInfo'), 'query')
  assert.equal(await lookupMethodType('com.atproto.sync.subscribeRepos'), 'subscription')
  assert.equal(await lookupMethodType('com.example.notInAnyLexicon'), undefined)
})

test('parseParams: repeated keys become arrays; a pair without = is refused', () => {
  assert.deepEqual(parseParams(['a=1', 'b=x=y', 'a=2']), { a: ['1', '2'], b: 'x=y' })
  assert.throws(() => parseParams(['noequals']), /not key=value/)
})
