import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { renderSignupChart } from '../../../src/lib/admin/stats.js'
import { codeOwner, descendants, renderInviteTree, type InviteRelations } from '../../../src/lib/admin/inviteTree.js'

describe('renderSignupChart', () => {
  const days = [
    { date: '2026-11-25', count: 3 },
    { date: '2026-11-26', count: 0 },
    { date: '2026-11-27', count: 1200 },
    { date: '2026-11-28', count: 1 },
  ]
  test('the spike fills the width, others in proportion, a lone sign-up still shows, zero is empty', () => {
    const lines = renderSignupChart(days, 60)
    assert.equal(lines.length, 4)
    for (const l of lines) assert.equal([...l].length, 60, l)
    const bar = (l: string) => l.slice(11, -5).trimEnd()
    assert.equal(bar(lines[2]), '█'.repeat(60 - 11 - 1 - 4))
    assert.equal(bar(lines[1]), '')
    assert.equal(bar(lines[3]), '▏')
    assert.match(lines[2], /^2026-11-27 █+ 1200$/)
    assert.match(lines[1], /^2026-11-26 +0$/)
  })
  test('all zero: no bars, no division by zero', () => {
    const lines = renderSignupChart([{ date: '2026-11-28', count: 0 }], 40)
    assert.equal(lines[0].trimEnd(), '2026-11-28' + ' '.repeat(29) + '0'.padStart(1))
  })
})

describe('invite relations', () => {
  test('a code belongs to forAccount, else createdBy, else the admin pool', () => {
    assert.equal(codeOwner({ forAccount: 'did:plc:a', createdBy: 'admin' }), 'did:plc:a')
    assert.equal(codeOwner({ forAccount: 'did:plc:a', createdBy: 'did:plc:a' }), 'did:plc:a')
    assert.equal(codeOwner({ forAccount: 'admin', createdBy: 'admin' }), 'admin')
  })
  test('descendants are cycle-safe and exclude the top', () => {
    const rel: InviteRelations = {
      parent: new Map(),
      children: new Map([
        ['a', ['b', 'c']],
        ['b', ['d', 'a']],
        ['d', ['b']],
      ]),
    }
    assert.deepEqual(descendants(rel, 'a'), ['b', 'c', 'd'])
    assert.deepEqual(descendants(rel, 'c'), [])
  })
  test('an empty tree renders nothing', () => {
    assert.deepEqual(renderInviteTree({ roots: [], admin: [] }), [])
  })
})
