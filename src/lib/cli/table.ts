// Tables for a terminal: cells formatted for people (times relative, status words in
// colour, yes/no), columns fitted to the terminal's width. Every cell is escaped first
// (terminalText.ts: no control or bidi character from a server reaches the terminal), then
// measured in display columns (wide and combining characters, emoji), and cut in time
// linear in what is shown: a 3 MB field costs one pass to escape, not one per column.
// Layout is computed on plain text and colour is added last, so widths never count escape
// codes (no ANSI-aware width library needed).
import { CellLines, cutMiddleChars, displayWidth, headToWidth, tailToWidth, terminalLine } from './terminalText.js'
// node:util by getBuiltinModule: an ES import of it costs ~3.3 ms of every run (its
// namespace's lazy getters); see src/lib/pds/http.ts.
const { styleText } = process.getBuiltinModule('node:util')

export interface TableColumn<T> {
  header: string
  value: (row: T) => unknown
  /**
   * How the column gives way when the terminal is too narrow: `wrap` (prose: breaks at
   * spaces), `middle` (identifiers: `did:plc:ab…wxyz`), `none` (never shrinks). Default:
   * `wrap` when a cell has spaces, else `middle`.
   */
  shrink?: 'wrap' | 'middle' | 'none'
  /** Hidden (with a note on stderr) before any other column is cut, when the table is too wide (e.g. a DID beside the handle). */
  optional?: boolean
}

export interface CellStyle {
  /** Colour status words (only when the stream takes colour). */
  color: boolean
  /** Times relative to this instant ("3 days ago"); undefined: ISO as given. */
  now?: Date
  /**
   * A terminal of known width shows at most this many characters of each end of a value
   * (more than a cut or wrapped cell can hold): the rest is dropped before any work is done.
   */
  maxChars?: number
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/

export function isIsoTime(v: unknown): v is string {
  return typeof v === 'string' && ISO_TIME.test(v) && !Number.isNaN(Date.parse(v))
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
]
let rtf: Intl.RelativeTimeFormat | undefined

/** "3 days ago", "in 2 hours", "now". */
export function relativeTime(iso: string, now: Date): string {
  const seconds = (Date.parse(iso) - now.getTime()) / 1000
  rtf ??= new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
  if (Math.abs(seconds) < 10) return 'now'
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') return rtf.format(Math.trunc(seconds / size), unit)
  }
  return iso
}

/**
 * A cell as plain text for a terminal, escaped (terminalLine): one line, whatever the value
 * holds, unless pdsctl itself made it several (cellLines).
 */
export function plainCell(v: unknown, style: CellStyle): string {
  if (v === undefined || v === null || v === '') return '-'
  if (v === true) return 'yes'
  if (v === false) return 'no'
  if (Array.isArray(v)) return v.length ? v.map((x) => plainCell(x, style)).join(', ') : '-'
  if (v instanceof CellLines) return v.lines.length ? v.lines.map((x) => plainCell(x, style)).join('\n') : '-'
  if (style.now && isIsoTime(v)) return relativeTime(v, style.now)
  const text = String(v)
  return terminalLine(style.maxChars ? cutMiddleChars(text, style.maxChars) : text)
}

type Colour = 'green' | 'yellow' | 'red'
const STATUS_COLOURS: Record<string, Colour> = {
  pass: 'green', ok: 'green', active: 'green', sent: 'green', confirmed: 'green', 'already-confirmed': 'green',
  warn: 'yellow', warning: 'yellow', deactivated: 'yellow', suspended: 'yellow', disabled: 'yellow', idle: 'yellow', throttled: 'yellow',
  fail: 'red', failed: 'red', takendown: 'red', deleted: 'red', banned: 'red', offline: 'red', error: 'red',
}

/** The colour of a status word (pass/warn/fail, account and relay states), if it is one. */
export function statusColour(text: string): Colour | undefined {
  return STATUS_COLOURS[text.toLowerCase()]
}

/** Colour a whole cell that is a status word; anything else is returned as is. */
export function colourCell(text: string, color: boolean): string {
  if (!color) return text
  const c = statusColour(text)
  return c ? styleText(c, text, { validateStream: false }) : text
}

/** Whether a stream takes colour: a terminal, NO_COLOR / NODE_DISABLE_COLORS / FORCE_COLOR honoured (Node's own rules). */
export function streamTakesColour(stream: unknown): boolean {
  try {
    return styleText('red', 'x', { stream: stream as NodeJS.WritableStream, validateStream: true }) !== 'x'
  } catch {
    return false
  }
}

const width = (s: string) => displayWidth(s)

/** Cut the middle out of `s` to fit `w` columns: `did:plc:abcd…wxyz`. Reads only what it keeps. */
export function truncateMiddle(s: string, w: number): string {
  if (displayWidth(s, w) <= w) return s
  if (w <= 1) return headToWidth(s, w)
  const head = Math.ceil((w - 1) / 2)
  const tail = w - 1 - head
  return headToWidth(s, head) + '…' + (tail ? tailToWidth(s, tail) : '')
}

/**
 * A wrapped cell shows at most this many lines; the last one ends with … when there was
 * more (a multi-megabyte field is not drawn as thousands of table rows).
 */
export const MAX_CELL_LINES = 20

/**
 * Break `s` into lines of at most `w` columns, at spaces where possible; explicit newlines
 * kept; at most `maxLines` lines, the last ending with … when there was more. Linear in the
 * text it shows.
 */
export function wrapText(s: string, w: number, maxLines = Infinity): string[] {
  const out: string[] = []
  let more = false
  paragraphs: for (const para of s.split('\n')) {
    let line = ''
    let lineWidth = 0
    let pos = 0
    for (;;) {
      let end = para.indexOf(' ', pos)
      if (end < 0) end = para.length
      let word = para.slice(pos, end)
      let wordWidth = displayWidth(word, w)
      while (wordWidth > w) {
        // A word longer than the column (a URL): break it hard.
        if (line) {
          out.push(line)
          line = ''
          lineWidth = 0
        }
        if (out.length >= maxLines) {
          more = true
          break paragraphs
        }
        const head = headToWidth(word, w) || String.fromCodePoint(word.codePointAt(0)!)
        out.push(head)
        word = word.slice(head.length)
        wordWidth = displayWidth(word, w)
      }
      if (!line) {
        line = word
        lineWidth = wordWidth
      } else if (lineWidth + 1 + wordWidth <= w) {
        line += ' ' + word
        lineWidth += 1 + wordWidth
      } else {
        out.push(line)
        line = word
        lineWidth = wordWidth
      }
      if (out.length >= maxLines) {
        more = true
        break paragraphs
      }
      if (end >= para.length) break
      pos = end + 1
      while (para.charCodeAt(pos) === 32) pos++
    }
    if (out.length >= maxLines) {
      more = true
      break
    }
    out.push(line)
  }
  if (out.length > maxLines) {
    out.length = maxLines
    more = true
  }
  if (more && out.length) out[out.length - 1] = headToWidth(out[out.length - 1], Math.max(0, w - 1)) + '…'
  return out
}

export interface TableLayout {
  /** Indices of the columns shown, in order. */
  shown: number[]
  widths: number[]
  shrink: Array<'wrap' | 'middle' | 'none'>
  hidden: string[]
}

export interface LayoutOptions {
  /** The terminal's width; undefined: natural widths. */
  maxWidth?: number
  shrink?: Array<TableColumn<never>['shrink']>
  optional?: Array<boolean | undefined>
  /** Widths a column keeps at least (relative times: room for "11 minutes ago" on later pages). */
  minWidth?: Array<number | undefined>
}

const GAP = 2

/**
 * Fit columns into `maxWidth`. In order, until the table fits: hide the optional columns;
 * cut the widest column (the first, the row's name, last of all) down to a floor (its
 * header, and at least 12 for identifiers, 20 for prose); hide columns from the right.
 */
export function layoutTable(headers: string[], cells: string[][], opts: LayoutOptions = {}): TableLayout {
  const n = headers.length
  // Measured only up to the terminal's width: a longer field is cut to fit anyway.
  const cap = opts.maxWidth ?? Infinity
  const natural = headers.map((h, i) => Math.max(width(h), opts.minWidth?.[i] ?? 0, ...cells.map((r) => Math.max(...r[i].split('\n').map((l) => displayWidth(l, cap))))))
  const shrink = headers.map((_, i) => opts.shrink?.[i] ?? (cells.some((r) => /\s/.test(r[i])) ? 'wrap' : 'middle'))
  const floor = headers.map((h, i) =>
    shrink[i] === 'none' ? natural[i] : Math.min(natural[i], Math.max(width(h), opts.minWidth?.[i] ?? 0, shrink[i] === 'wrap' ? 20 : 12)),
  )
  let shown = [...Array(n).keys()]
  const widths = [...natural]
  const hidden: string[] = []
  const max = opts.maxWidth
  if (max === undefined) return { shown, widths, shrink, hidden }
  const sum = (w: number[]) => shown.reduce((s, i) => s + w[i], 0) + GAP * (shown.length - 1)
  const hide = (i: number) => {
    shown = shown.filter((j) => j !== i)
    hidden.push(headers[i])
  }
  for (const i of [...shown].reverse()) if (sum(widths) > max && opts.optional?.[i] && shown.length > 1) hide(i)
  while (shown.length > 1 && sum(floor) > max) hide(shown[shown.length - 1])
  let excess = sum(widths) - max
  while (excess > 0) {
    let widest = -1
    for (const i of shown) {
      if (widths[i] <= floor[i]) continue
      const better = widest < 0 || (widest === shown[0] && i !== shown[0]) || (i !== shown[0] && widths[i] > widths[widest])
      if (better) widest = i
    }
    if (widest < 0) break
    widths[widest]--
    excess--
  }
  return { shown, widths, shrink, hidden }
}

/** The lines of a table (no trailing spaces), colour applied to status words. */
export function renderTable(headers: string[], cells: string[][], layout: TableLayout, opts: { color: boolean; header?: boolean }): string[] {
  const lines: string[] = []
  const fit = (text: string, i: number): string[] => {
    const w = layout.widths[i]
    if (layout.shrink[i] === 'wrap') return wrapText(text, w, MAX_CELL_LINES)
    return text.split('\n').map((l) => truncateMiddle(l, w))
  }
  const emit = (row: string[], isHeader: boolean) => {
    const parts = layout.shown.map((i) => fit(row[i], i))
    const height = Math.max(...parts.map((p) => p.length))
    for (let l = 0; l < height; l++) {
      const segs = layout.shown.map((i, k) => {
        const text = parts[k][l] ?? ''
        const pad = ' '.repeat(Math.max(0, layout.widths[i] - width(text)))
        return (isHeader ? text : colourCell(text, opts.color)) + pad
      })
      lines.push(segs.join(' '.repeat(GAP)).trimEnd())
    }
  }
  if (opts.header !== false) emit(headers, true)
  for (const row of cells) emit(row, false)
  return lines
}
