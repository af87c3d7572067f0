// Text from outside pdsctl (a PDS, a relay, the PLC directory, an SMTP server, kubectl, a
// backup manifest) on its way to a terminal, a TSV row, an error line or JSON. One rule set,
// applied by Output and the base command's error line, never by each command:
// - C0 controls, DEL and C1 controls (U+0080–U+009F, which some terminals take as CSI),
//   ESC included, become visible escapes: `\x1b`, `\x9b` (tab, newline and CR as `\t`, `\n`,
//   `\r`). An escape sequence (CSI, OSC 8 links, OSC 52 clipboard writes, OSC 0 titles) is
//   then plain printable text, shown rather than deleted, so the operator sees that
//   something was there;
// - the bidi controls (U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069) and the line and
//   paragraph separators (U+2028/U+2029) become `\u202e` and the like: a column's order
//   and a row's reading stay what pdsctl wrote.
// JSON keeps the original value: the same characters are written as \uXXXX escapes in the
// JSON text, which parses to the same string.
// See /work/shared/notes/untrusted-data.md (kubectl's EscapeTerminal and go-gh's
// asciisanitizer do less: they let C1 or bidi controls through).

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

function unsafeCode(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x61c || c === 0x200e || c === 0x200f || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
}

const HEX = '0123456789abcdef'

/**
 * Each unsafe code unit of `s` replaced by its visible form (`line`), tab and newline kept
 * (`layout`), or as a JSON \\uXXXX escape with JSON's own whitespace kept (`json`). Two
 * linear passes, the second into a buffer: a string built by millions of small
 * concatenations (a 3 MB field of ESC bytes) costs seconds in garbage, this milliseconds.
 */
function escapeUnsafe(s: string, how: 'line' | 'layout' | 'json'): string {
  const kept = (c: number) => !unsafeCode(c) || (how !== 'line' && (c === 9 || c === 10 || (how === 'json' && c === 13)))
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    n += kept(c) ? 1 : how === 'json' || c >= 0x100 ? 6 : c === 9 || c === 10 || c === 13 ? 2 : 4
  }
  if (n === s.length) return s
  // UTF-16LE bytes, written in that order whatever the machine's byte order.
  const out = Buffer.allocUnsafe(n * 2)
  let j = 0
  const put = (u: number) => {
    out[j++] = u & 0xff
    out[j++] = u >> 8
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (kept(c)) {
      put(c)
      continue
    }
    put(92) // backslash
    if (how !== 'json' && (c === 9 || c === 10 || c === 13)) {
      put(c === 9 ? 116 : c === 10 ? 110 : 114) // t n r
    } else if (how !== 'json' && c < 0x100) {
      put(120) // x
      put(HEX.charCodeAt(c >> 4))
      put(HEX.charCodeAt(c & 15))
    } else {
      put(117) // u
      put(HEX.charCodeAt((c >> 12) & 15))
      put(HEX.charCodeAt((c >> 8) & 15))
      put(HEX.charCodeAt((c >> 4) & 15))
      put(HEX.charCodeAt(c & 15))
    }
  }
  // Node decodes UTF-16LE unit by unit: a lone surrogate stays what it was.
  return out.toString('utf16le')
}

/**
 * `s` with its middle replaced by … when it is longer than `keep` code units at each end:
 * what a terminal can show of a multi-megabyte field, taken before it is escaped or
 * measured, so the work stays bounded. Never splits a surrogate pair.
 */
export function cutMiddleChars(s: string, keep: number): string {
  if (s.length <= keep * 2 + 1) return s
  let head = keep
  const h = s.charCodeAt(head - 1)
  if (h >= 0xd800 && h <= 0xdbff) head--
  let tail = s.length - keep
  const t = s.charCodeAt(tail)
  if (t >= 0xdc00 && t <= 0xdfff) tail++
  return s.slice(0, head) + '…' + s.slice(tail)
}

/** Whether `s` holds a character that must not reach a terminal as it is. */
export function hasUnsafeText(s: string): boolean {
  return UNSAFE.test(s)
}

/**
 * One line for a terminal (a table cell, a status line, an error line): every control and
 * bidi character, newline and tab included, as a visible escape. Linear; returns `s` itself
 * when there is nothing to escape (the usual case).
 */
export function terminalLine(s: string): string {
  return UNSAFE.test(s) ? escapeUnsafe(s, 'line') : s
}

/** A block pdsctl lays out with its own line breaks and tabs (a raw write): everything else escaped. */
export function terminalBlock(s: string): string {
  return UNSAFE.test(s) ? escapeUnsafe(s, 'layout') : s
}

/**
 * One TSV field: tab, newline and CR (and every other control or bidi character) as
 * visible escapes, so a row always has its columns, the same in every command. Arrays are
 * joined with commas; null and undefined are empty.
 */
export function tsvField(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return v.map(tsvField).join(',')
  if (v instanceof CellLines) return v.lines.map(tsvField).join(' ')
  return terminalLine(String(v))
}

/** One TSV row (no newline): each value through tsvField. */
export function tsvRow(values: unknown[]): string {
  return values.map(tsvField).join('\t')
}

/**
 * JSON text that is safe on a terminal: raw C1, DEL, bidi and line-separator characters
 * (which JSON.stringify leaves as they are) become \uXXXX escapes. Such characters can only
 * be inside strings in JSON text, so the document parses to the same value.
 */
export function jsonSafe(json: string): string {
  return UNSAFE.test(json) ? escapeUnsafe(json, 'json') : json
}

/**
 * A table cell that pdsctl itself breaks into lines (a check's result, then its fix): each
 * line is sanitised on its own, so a newline inside server text never breaks a row. Piped,
 * the lines are joined with a space.
 */
export class CellLines {
  constructor(readonly lines: unknown[]) {}
}

export function cellLines(...lines: unknown[]): CellLines {
  return new CellLines(lines)
}

// ---- Display width ----
// What a terminal gives a code point: 0 (combining marks, format characters, variation
// selectors), 2 (East Asian wide and fullwidth, emoji presentation), else 1. Text reaching
// here has been through terminalLine, so there are no controls left to measure.

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]$/u
const EMOJI = /^\p{Emoji_Presentation}$/u

function wideRange(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x231a && cp <= 0x231b) ||
    (cp >= 0x2329 && cp <= 0x232a) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xa960 && cp <= 0xa97f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe10 && cp <= 0xfe19) ||
    (cp >= 0xfe30 && cp <= 0xfe6f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1b000 && cp <= 0x1b2ff) ||
    (cp >= 0x1f200 && cp <= 0x1f2ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
}

/** The columns one code point takes on a terminal. */
export function codePointWidth(cp: number): 0 | 1 | 2 {
  if (cp < 0x300) return 1
  const c = String.fromCodePoint(cp)
  if (ZERO_WIDTH.test(c)) return 0
  if (wideRange(cp) || EMOJI.test(c)) return 2
  return 1
}

// eslint-disable-next-line no-control-regex
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * The display width of `s`, counted up to `cap` (a long field is measured only as far as
 * a table needs: past the cap the answer is `cap + 1` or more). Linear in what it reads.
 */
export function displayWidth(s: string, cap = Infinity): number {
  if (s.length > cap + 1) {
    // Only as far as the cap: a printable ASCII start that long is wider than the cap.
    if (PRINTABLE_ASCII.test(s.slice(0, cap + 1))) return cap + 1
  } else if (PRINTABLE_ASCII.test(s)) return s.length
  let w = 0
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!
    if (cp > 0xffff) i++
    w += codePointWidth(cp)
    if (w > cap) return w
  }
  return w
}

/** The longest start of `s` that fits `width` columns (never splits a surrogate pair). */
export function headToWidth(s: string, width: number): string {
  let w = 0
  let i = 0
  while (i < s.length) {
    const cp = s.codePointAt(i)!
    const cw = codePointWidth(cp)
    if (w + cw > width) break
    w += cw
    i += cp > 0xffff ? 2 : 1
  }
  // Combining marks that follow the last character kept belong to it.
  while (i < s.length && codePointWidth(s.codePointAt(i)!) === 0) i += s.codePointAt(i)! > 0xffff ? 2 : 1
  return s.slice(0, i)
}

/** The longest end of `s` that fits `width` columns. */
export function tailToWidth(s: string, width: number): string {
  let w = 0
  let i = s.length
  while (i > 0) {
    let start = i - 1
    const low = s.charCodeAt(start)
    if (low >= 0xdc00 && low <= 0xdfff && start > 0) {
      const high = s.charCodeAt(start - 1)
      if (high >= 0xd800 && high <= 0xdbff) start--
    }
    const cw = codePointWidth(s.codePointAt(start)!)
    if (w + cw > width) break
    w += cw
    i = start
  }
  return s.slice(i)
}
