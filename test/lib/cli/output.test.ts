// Terminal-aware output: tables fitted to the width, colour only where it is wanted,
// times relative on a terminal and ISO elsewhere.
import { describe, test } from 'node:test'
import { Writable } from 'node:stream'
import assert from 'node:assert/strict'
import { Output, type Column, type OutputMode } from '../../../src/lib/cli/output.js'
import { layoutTable, relativeTime, streamTakesColour, truncateMiddle, wrapText } from '../../../src/lib/cli/table.js'
import { cellLines } from '../../../src/lib/cli/terminalText.js'

// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[/

function capture(mode: OutputMode, opts: { columns?: number; color?: boolean; now?: Date; stream?: Record<string, unknown> } = {}) {
  let out = ''
  let err = ''
  const stdout = Object.assign(opts.stream ?? {}, {
    write: (s: string) => ((out += s), true),
    once: () => undefined,
  })
  const o = new Output({ mode, stdout, stderr: { write: (s: string) => ((err += s), true) }, columns: opts.columns, color: opts.color, now: opts.now })
  return { o, get out() { return out }, get err() { return err } }
}

interface Acct { handle: string; email: string; confirmed: boolean; status: string; did: string; createdAt: string }
const NOW = new Date('2026-11-28T12:00:00.000Z')
const accounts: Acct[] = [
  { handle: 'alice.pds.example.com', email: 'alice.longname@example-mail.com', confirmed: true, status: 'active', did: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz', createdAt: '2026-11-25T12:00:00.000Z' },
  { handle: 'bob.pds.example.com', email: 'bob@example.com', confirmed: false, status: 'takendown', did: 'did:plc:4kuqq3yfbm2kbc3ksbdxhqxs', createdAt: '2026-11-28T11:57:00.000Z' },
]
const columns: Column<Acct>[] = [
  { header: 'HANDLE', value: (a) => a.handle },
  { header: 'EMAIL', value: (a) => a.email },
  { header: 'CONFIRMED', value: (a) => a.confirmed },
  { header: 'STATUS', value: (a) => a.status },
  { header: 'DID', value: (a) => a.did, optional: true },
  { header: 'CREATED', value: (a) => a.createdAt },
]

describe('tables', () => {
  test('at 80 columns every account is one line no wider than 80: the optional DID goes first, then the widest column loses its middle', async () => {
    const c = capture('table', { columns: 80, color: false, now: NOW })
    await c.o.printRows([accounts], columns)
    const lines = c.out.trimEnd().split('\n')
    assert.equal(lines.length, 1 + accounts.length, c.out)
    for (const l of lines) assert.ok(l.length <= 80, `${l.length}: ${l}`)
    assert.match(lines[0], /^HANDLE\s+EMAIL\s+CONFIRMED\s+STATUS\s+CREATED$/)
    assert.match(lines[1], /^alice\.pds\.example\.com  alice\.lo\S*…\S*ail\.com\s+yes\s+active\s+3 days ago$/)
    assert.match(lines[2], /^bob\.pds\.example\.com\s+bob@example\.com\s+no\s+takendown\s+3 minutes ago$/)
    assert.match(c.err, /^\(DID hidden to fit 80 columns; pipe or use --json for every column\)$/m)
  })

  test('at 130 columns the DID is shown whole', async () => {
    const c = capture('table', { columns: 130, color: false, now: NOW })
    await c.o.printRows([accounts], columns)
    assert.ok(c.out.includes(accounts[1].did))
    for (const l of c.out.trimEnd().split('\n')) assert.ok(l.length <= 130)
    assert.equal(c.err, '')
  })

  test('no optional column left: the widest one loses its middle, the first (the name) last', async () => {
    const c = capture('table', { columns: 90, color: false, now: NOW })
    await c.o.printRows([accounts], columns.map((col) => ({ ...col, optional: false })))
    const lines = c.out.trimEnd().split('\n')
    for (const l of lines) assert.ok(l.length <= 90, l)
    assert.equal(lines.length, 3)
    assert.ok(lines[1].startsWith('alice.pds.example.com '), c.out)
    assert.match(c.out, /did:p\S*…\S*/)
  })

  test('wide enough: nothing is cut', async () => {
    const c = capture('table', { columns: 200, color: false, now: NOW })
    await c.o.printRows([accounts], columns)
    assert.ok(c.out.includes(accounts[0].did) && c.out.includes(accounts[0].email))
  })

  test('too narrow even for the shrunk columns: the last ones are hidden and stderr says which', async () => {
    const c = capture('table', { columns: 50, color: false, now: NOW })
    await c.o.printRows([accounts], columns)
    for (const l of c.out.trimEnd().split('\n')) assert.ok(l.length <= 50, l)
    assert.ok(!c.out.includes('CREATED') && !c.out.includes('DID'))
    assert.match(c.err, /^\(DID, CREATED.* hidden to fit 50 columns; pipe or use --json for every column\)$/m)
  })

  test('prose wraps at spaces and a line break pdsctl makes (cellLines: the fix) always starts its own line', async () => {
    const checks = [{ status: 'FAIL', id: 'proxy-bodyless-post', message: 'a body-less POST arrived chunked: a proxy re-frames it, so email verification fails', fix: 'set disableChunkedEncoding: true in cloudflared' }]
    const c = capture('table', { columns: 60, color: false })
    await c.o.printTable(checks, [
      { header: 'STATUS', value: (x) => x.status, shrink: 'none' },
      { header: 'CHECK', value: (x) => x.id, shrink: 'none' },
      { header: 'RESULT', value: (x) => cellLines(x.message, `Fix: ${x.fix}`), shrink: 'wrap' },
    ])
    const lines = c.out.trimEnd().split('\n')
    for (const l of lines) assert.ok(l.length <= 60, l)
    const result = lines.slice(1).map((l) => l.slice(lines[0].indexOf('RESULT')))
    assert.ok(result.some((r) => r.startsWith('Fix: set')), c.out)
    assert.ok(!result.some((r) => /^\. Fix/.test(r) || /\S Fix:/.test(r)), c.out)
    assert.equal(result.join(' ').replace(/\s+/g, ' '), `${checks[0].message} Fix: ${checks[0].fix}`)
  })

  test('a long field is cut to the terminal in time linear in what is shown: a 3 MB word in a prose column (issue 17: 100 KB took 9.5 s)', async () => {
    // A column wraps (prose) when one of its cells has a space; a word longer than the column
    // is broken hard. The old table split the rest of the word again for each line it broke off.
    const rows = [
      { status: 'FAIL', id: 'a', message: 'x'.repeat(3_000_000) + ' end' },
      { status: 'PASS', id: 'b', message: 'short message' },
    ]
    const c = capture('table', { columns: 120, color: false })
    await c.o.printTable(rows, [
      { header: 'STATUS', value: (x) => x.status, shrink: 'none' },
      { header: 'CHECK', value: (x) => x.id, shrink: 'none' },
      { header: 'RESULT', value: (x) => x.message },
    ])
    const lines = c.out.trimEnd().split('\n')
    for (const l of lines) assert.ok(l.length <= 120, `${l.length} columns`)
    assert.ok(lines.length <= 1 + 20 + 1, `${lines.length} lines: a cell shows at most 20`)
    assert.match(c.out, /…/)
    assert.match(c.out, /short message/)
  })

  test('status words are coloured when colour is on, never otherwise; headers and other cells never', async () => {
    const on = capture('table', { columns: 200, color: true, now: NOW })
    await on.o.printRows([accounts], columns)
    assert.ok(on.out.includes('\x1b[32mactive\x1b[39m'), JSON.stringify(on.out))
    assert.ok(on.out.includes('\x1b[31mtakendown\x1b[39m'))
    assert.ok(!/\x1b\[[0-9;]*m(alice|HANDLE)/.test(on.out))
    const off = capture('table', { columns: 200, color: false, now: NOW })
    await off.o.printRows([accounts], columns)
    assert.doesNotMatch(off.out, ESC)
  })

  test('colour follows the stream: a terminal yes, NO_COLOR no, a pipe no, a pipe with FORCE_COLOR yes', () => {
    const saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR, NODE_DISABLE_COLORS: process.env.NODE_DISABLE_COLORS }
    const stream = (props: object) => Object.assign(new Writable(), props)
    const tty = stream({ isTTY: true, getColorDepth: () => 8, hasColors: () => true })
    const pipe = stream({})
    try {
      delete process.env.NO_COLOR
      delete process.env.FORCE_COLOR
      delete process.env.NODE_DISABLE_COLORS
      assert.equal(streamTakesColour(tty), true)
      assert.equal(streamTakesColour(pipe), false)
      process.env.FORCE_COLOR = '1'
      assert.equal(streamTakesColour(pipe), true)
      delete process.env.FORCE_COLOR
      process.env.NO_COLOR = '1'
      assert.equal(streamTakesColour(stream({ isTTY: true, getColorDepth: () => 1, hasColors: () => false })), false)
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v
    }
  })

  test('piped: tab-separated, ISO times, no colour; rows stream page by page', async () => {
    const c = capture('tsv', { color: false })
    const n = await c.o.printRows([accounts.slice(0, 1), accounts.slice(1)], columns)
    assert.equal(n, 2)
    assert.deepEqual(c.out.split('\n')[0].split('\t'), ['alice.pds.example.com', 'alice.longname@example-mail.com', 'true', 'active', accounts[0].did, '2026-11-25T12:00:00.000Z'])
    assert.doesNotMatch(c.out, ESC)
  })

  test('a table streams: later pages keep the first page\'s widths and get no header', async () => {
    const c = capture('table', { columns: 80, color: false, now: NOW })
    await c.o.printRows([accounts.slice(0, 1), accounts.slice(1)], columns)
    const lines = c.out.trimEnd().split('\n')
    assert.equal(lines.length, 3)
    assert.equal(lines.filter((l) => l.startsWith('HANDLE')).length, 1)
    assert.equal(lines[1].indexOf('did:'), lines[2].indexOf('did:'))
  })

  test('an empty list prints nothing on stdout', async () => {
    const c = capture('table', { columns: 80, color: false })
    assert.equal(await c.o.printRows([[]], columns), 0)
    assert.equal(c.out, '')
  })

  test('fields: a time is relative with the ISO time beside it on a terminal, ISO alone when piped', async () => {
    const t = capture('table', { color: false, now: NOW })
    await t.o.printFields([['created', '2026-11-25T12:00:00.000Z'], ['status', 'active']])
    assert.equal(t.out, 'created:  3 days ago (2026-11-25T12:00:00.000Z)\nstatus:   active\n')
    const p = capture('tsv', { color: false })
    await p.o.printFields([['created', '2026-11-25T12:00:00.000Z']])
    assert.equal(p.out, 'created\t2026-11-25T12:00:00.000Z\n')
  })
})

describe('cell helpers', () => {
  test('relative times', () => {
    assert.equal(relativeTime('2026-11-28T11:59:58.000Z', NOW), 'now')
    assert.equal(relativeTime('2026-11-28T11:59:00.000Z', NOW), '1 minute ago')
    assert.equal(relativeTime('2026-11-28T09:00:00.000Z', NOW), '3 hours ago')
    assert.equal(relativeTime('2026-11-27T12:00:00.000Z', NOW), 'yesterday')
    assert.equal(relativeTime('2026-10-01T12:00:00.000Z', NOW), 'last month')
    assert.equal(relativeTime('2024-11-01T12:00:00.000Z', NOW), '2 years ago')
  })

  test('middle truncation keeps both ends', () => {
    assert.equal(truncateMiddle('did:plc:ewvi7nxzyoun6zhxrhs64oiz', 15), 'did:plc…hs64oiz')
    assert.equal(truncateMiddle('short', 15), 'short')
    assert.equal([...truncateMiddle('did:plc:ewvi7nxzyoun6zhxrhs64oiz', 15)].length, 15)
  })

  test('wrapping breaks at spaces, hard-breaks a word longer than the column', () => {
    assert.deepEqual(wrapText('the quick brown fox', 10), ['the quick', 'brown fox'])
    assert.deepEqual(wrapText('https://example.com/very/long', 10), ['https://ex', 'ample.com/', 'very/long'])
    assert.deepEqual(wrapText('one\ntwo', 10), ['one', 'two'])
  })

  test('layout: without a width, natural widths; columns never shrink below their header', () => {
    const l = layoutTable(['A', 'LONGHEADER'], [['x'.repeat(30), 'y'.repeat(30)]], { maxWidth: 40 })
    assert.ok(l.widths[1] >= 'LONGHEADER'.length)
    assert.ok(l.widths[0] + l.widths[1] + 2 <= 40)
    assert.deepEqual(layoutTable(['A'], [['x'.repeat(300)]], {}).widths, [300])
  })
})
