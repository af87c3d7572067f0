// Everything pdsctl writes to stdout goes through here. Three shapes:
// - json: the documented JSON shape (arrays stream element by element);
// - table: aligned columns fitted to the terminal (table.ts), for people;
// - tsv: tab-separated rows when piped, no header, no colour, ISO timestamps (cut/awk-friendly).
// Status and progress go to stderr (`status`), never to stdout.
// Every string reaches the stream through one of the sanitisers of terminalText.ts (and
// stderr lines through redact() first): a command never has to escape or redact anything
// itself, whatever a server sent. Tables and fields: each cell escaped; TSV: each field
// escaped (tab, newline, CR visible); JSON: C1, DEL and bidi characters as \uXXXX; raw
// write()s: every control but the command's own newlines and tabs escaped.
import { once } from 'node:events'
import { MAX_CELL_LINES, layoutTable, plainCell, renderTable, streamTakesColour, colourCell, isIsoTime, type CellStyle, type TableColumn, type TableLayout } from './table.js'
import { cutMiddleChars, jsonSafe, terminalBlock, terminalLine, tsvField, tsvRow } from './terminalText.js'
import { redact } from '../redaction.js'

export type OutputMode = 'json' | 'table' | 'tsv'

/** A column: its header, its value, and (tables) how it gives way on a narrow terminal. */
export type Column<T> = TableColumn<T>

export interface Writable {
  write(chunk: string): boolean
  once(event: 'drain', cb: () => void): unknown
}

export interface OutputOptions {
  mode: OutputMode
  stdout: Writable
  stderr: { write(chunk: string): boolean }
  /** Suppress status lines (e.g. --quiet); errors are not status. */
  quiet?: boolean
  /** Table mode: the terminal's width (default: the stream's `columns`; none: natural widths). */
  columns?: number
  /** Table mode: colour status words (default: whether the stream takes colour: NO_COLOR, FORCE_COLOR honoured). */
  color?: boolean
  /** Table mode: the instant times are relative to (default: now). */
  now?: Date
}

export class Output {
  readonly mode: OutputMode
  private readonly opts: OutputOptions
  /** True once a JSON document (or part of one that was then closed) is on stdout. */
  wroteDocument = false

  constructor(opts: OutputOptions) {
    this.mode = opts.mode
    this.opts = opts
  }

  get json(): boolean {
    return this.mode === 'json'
  }

  private silenced = false

  /**
   * Nothing more reaches stdout or stderr (the command was interrupted: whatever it was
   * doing must not print a result it did not finish). Writes then never complete.
   */
  silence(): void {
    this.silenced = true
  }

  /** A line for people on stderr: progress, what happened, how to continue. One line: server text in it is escaped and redacted. */
  status(text: string): void {
    if (!this.opts.quiet && !this.silenced) this.opts.stderr.write(stderrLine(text) + '\n')
  }

  /**
   * A secret shown once on purpose (a generated password): the label as a status line, then
   * the secret itself, escaped but not redacted (it is registered as a secret, so every other
   * line hides it). Shown even with --quiet: it is never shown again.
   */
  secretOnce(label: string, secret: string): void {
    if (!this.silenced) this.opts.stderr.write(`${stderrLine(label)} ${terminalLine(secret)}\n`)
  }

  /** A warning on stderr, shown even with --quiet. */
  warn(text: string): void {
    if (!this.silenced) this.opts.stderr.write(`Warning: ${stderrLine(text)}\n`)
  }

  /**
   * A progress line on a terminal's stderr, redrawn in place (`\r`, erase line): the text is
   * escaped like a status line; `final` ends it with a newline.
   */
  progress(text: string, final = false): void {
    if (!this.silenced) this.opts.stderr.write(`\r\x1b[2K${stderrLine(text)}${final ? '\n' : ''}`)
  }

  /** Erase a progress line (before a status line is printed under it). */
  clearProgress(): void {
    if (!this.silenced) this.opts.stderr.write('\r\x1b[2K')
  }

  /**
   * Text a command lays out itself (lines it joined, a body it prints as is). JSON mode:
   * the text is JSON, C1/DEL/bidi characters go as \uXXXX; otherwise every control or bidi
   * character but the command's own newlines and tabs is escaped. A TSV row with server
   * values goes through tsvRows(), which escapes tabs inside fields.
   */
  async write(text: string): Promise<void> {
    await this.emit(this.json ? jsonSafe(text) : terminalBlock(text))
  }

  /**
   * Lines a command laid out itself from server values (a tree, a chart): each line is one
   * line on the terminal, whatever a value in it holds (a tab or newline in a handle is
   * shown as `\t`, `\n`).
   */
  async printLines(lines: string[]): Promise<void> {
    if (lines.length) await this.emit(lines.map((l) => terminalLine(cutMiddleChars(l, 65_536))).join('\n') + '\n')
  }

  /** Text already made safe here (tables with their colour codes, JSON). */
  private async emit(text: string): Promise<void> {
    if (this.silenced) return new Promise<void>(() => {})
    if (!this.opts.stdout.write(text)) await once(this.opts.stdout as never, 'drain')
  }

  /** Rows of values as TSV lines (each field through tsvField: tab, newline and CR escaped). */
  async tsvRows(rows: unknown[][]): Promise<void> {
    if (rows.length) await this.emit(rows.map((r) => tsvRow(r) + '\n').join(''))
  }

  async line(text: string): Promise<void> {
    await this.write(text + '\n')
  }

  async printJson(value: unknown): Promise<void> {
    await this.emit(jsonSafe(JSON.stringify(value, null, 2)) + '\n')
    if (this.json) this.wroteDocument = true
  }

  /** Stream a JSON array, one element per line, without holding it all in memory. */
  async printJsonArray<T>(pages: AsyncIterable<T[]> | Iterable<T[]>): Promise<number> {
    // Nothing is written until the first page is in hand, so an error before any data
    // (a rejected password) leaves stdout clean for the JSON error object.
    // A failure after the first element closes the array, so stdout is still one JSON
    // document (a partial list); the error goes to stderr and the exit code.
    let n = 0
    try {
      for await (const page of pages) {
        let chunk = ''
        for (const item of page) {
          chunk += (n === 0 ? '[\n  ' : ',\n  ') + jsonSafe(JSON.stringify(item))
          n++
        }
        if (chunk) {
          await this.emit(chunk)
          this.wroteDocument = true
        }
      }
    } catch (err) {
      if (n > 0) await this.emit('\n]\n')
      throw err
    }
    await this.emit(n === 0 ? '[]\n' : '\n]\n')
    this.wroteDocument = true
    return n
  }

  /** How table cells look: relative times, colour where the stream takes it. */
  private get cellStyle(): CellStyle {
    const stream = this.opts.stdout as unknown as { columns?: number }
    const width = this.tableWidth
    // A cell never shows more than MAX_CELL_LINES lines of the terminal's width.
    const maxChars = width ? Math.max(4096, width * (MAX_CELL_LINES + 1)) : undefined
    return { color: this.opts.color ?? streamTakesColour(stream), now: this.opts.now ?? new Date(), maxChars }
  }

  private get tableWidth(): number | undefined {
    const cols = this.opts.columns ?? (this.opts.stdout as unknown as { columns?: number }).columns
    return cols && cols > 0 ? cols : undefined
  }

  /**
   * Rows as a table (terminal) or TSV (pipe). Both stream: a table takes its column widths
   * from the first page (fitted to the terminal) and keeps them, so memory stays flat
   * however many rows follow.
   */
  async printRows<T>(pages: AsyncIterable<T[]> | Iterable<T[]>, columns: Column<T>[]): Promise<number> {
    let n = 0
    if (this.mode === 'tsv') {
      // Piped: no colour unless FORCE_COLOR asks for it; times stay ISO.
      const color = this.opts.color ?? streamTakesColour(this.opts.stdout)
      for await (const page of pages) {
        let chunk = ''
        for (const row of page) {
          chunk += columns.map((c) => colourCell(tsvField(c.value(row)), color)).join('\t') + '\n'
          n++
        }
        if (chunk) await this.emit(chunk)
      }
      return n
    }
    const style = this.cellStyle
    const headers = columns.map((c) => c.header)
    let layout: TableLayout | undefined
    for await (const page of pages) {
      if (!page.length) continue
      const cells = page.map((row) => columns.map((c) => plainCell(c.value(row), style)))
      const first = !layout
      // Columns of times (relative on a terminal) keep room for the longest ("11 minutes ago") on later pages.
      const times = columns.map((c) => (style.now && page.every((row) => { const v = c.value(row); return v == null || isIsoTime(v) }) && page.some((row) => c.value(row) != null) ? 14 : undefined))
      layout ??= layoutTable(headers, cells, {
        maxWidth: this.tableWidth,
        shrink: columns.map((c, i) => c.shrink ?? (times[i] ? 'none' : undefined)),
        optional: columns.map((c) => c.optional),
        minWidth: times,
      })
      await this.emit(renderTable(headers, cells, layout, { color: style.color, header: first }).join('\n') + '\n')
      n += page.length
    }
    // No rows: nothing on stdout (the command says on stderr that the list is empty).
    if (layout?.hidden.length) {
      this.status(`(${layout.hidden.join(', ')} hidden to fit ${this.tableWidth} columns; pipe or use --json for every column)`)
    }
    return n
  }

  /**
   * [identity] One JSON object whose `key` array streams, one element per line, between the
   * fields of `head` and the fields `tail()` gives once the array is done (a long report and
   * its summary, memory flat). A failure mid-way closes the array and the object, so stdout
   * is still one JSON document; the error goes to stderr and the exit code.
   */
  async printJsonReport<T>(head: Record<string, unknown>, key: string, pages: AsyncIterable<T[]>, tail: () => Record<string, unknown>): Promise<number> {
    const field = (k: string, v: unknown) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`
    const opening = ['{', ...Object.entries(head).map(([k, v]) => field(k, v) + ','), `  ${JSON.stringify(key)}: [`].join('\n')
    let n = 0
    let opened = false
    const open = async () => {
      if (opened) return
      opened = true
      await this.write(opening)
      this.wroteDocument = true
    }
    try {
      for await (const page of pages) {
        if (!page.length) continue
        await open()
        let chunk = ''
        for (const item of page) chunk += (n++ === 0 ? '\n    ' : ',\n    ') + JSON.stringify(item)
        await this.write(chunk)
      }
    } catch (err) {
      if (opened) await this.write(`${n ? '\n  ' : ''}]\n}\n`)
      throw err
    }
    await open()
    const rest = Object.entries(tail()).map(([k, v]) => ',\n' + field(k, v)).join('')
    await this.write(`${n ? '\n  ' : ''}]${rest}\n}\n`)
    return n
  }

  async printTable<T>(rows: T[], columns: Column<T>[]): Promise<void> {
    await this.printRows([rows], columns)
  }

  /** Key/value pairs: aligned on a terminal (times relative, with the ISO time), `key<TAB>value` when piped. */
  async printFields(fields: Array<[string, unknown]>): Promise<void> {
    if (this.mode === 'tsv') {
      await this.emit(fields.map(([k, v]) => `${tsvField(k)}\t${tsvField(v)}`).join('\n') + '\n')
      return
    }
    const style = this.cellStyle
    const width = Math.max(...fields.map(([k]) => k.length))
    // plainCell escapes the value (a line break pdsctl meant, from cellLines, indents under it).
    const show = (v: unknown) => (isIsoTime(v) ? `${plainCell(v, style)} (${v})` : colourCell(plainCell(v, style), style.color).replace(/\n/g, '\n' + ' '.repeat(width + 3)))
    await this.emit(fields.map(([k, v]) => `${terminalLine((k + ':').padEnd(width + 1))}  ${show(v)}`).join('\n') + '\n')
  }
}

/** A stderr line: secrets out first (before any escaping), then every control character visible. */
export function stderrLine(text: string): string {
  return terminalLine(cutMiddleChars(redact(text.endsWith('\n') ? text.slice(0, -1) : text), STDERR_LINE_KEEP))
}

/** A line on stderr shows at most this many characters of each end (a server's 3 MB error message is not a 3 MB line). */
const STDERR_LINE_KEEP = 4096
