// Everything pdsctl writes to stdout goes through here. Three shapes:
// - json: the documented JSON shape (arrays stream element by element);
// - table: aligned columns fitted to the terminal (table.ts), for people;
// - tsv: tab-separated rows when piped, no header, no colour, ISO timestamps (cut/awk-friendly).
// Status and progress go to stderr (`status`), never to stdout.
import { once } from 'node:events'
import { layoutTable, plainCell, renderTable, streamTakesColour, colourCell, isIsoTime, type CellStyle, type TableColumn, type TableLayout } from './table.js'

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

  /** A line for people on stderr: progress, what happened, how to continue. */
  status(text: string): void {
    if (!this.opts.quiet && !this.silenced) this.opts.stderr.write(text.endsWith('\n') ? text : text + '\n')
  }

  /** A warning on stderr, shown even with --quiet. */
  warn(text: string): void {
    if (!this.silenced) this.opts.stderr.write(`Warning: ${text}\n`)
  }

  async write(text: string): Promise<void> {
    if (this.silenced) return new Promise<void>(() => {})
    if (!this.opts.stdout.write(text)) await once(this.opts.stdout as never, 'drain')
  }

  async line(text: string): Promise<void> {
    await this.write(text + '\n')
  }

  async printJson(value: unknown): Promise<void> {
    await this.write(JSON.stringify(value, null, 2) + '\n')
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
          chunk += (n === 0 ? '[\n  ' : ',\n  ') + JSON.stringify(item)
          n++
        }
        if (chunk) {
          await this.write(chunk)
          this.wroteDocument = true
        }
      }
    } catch (err) {
      if (n > 0) await this.write('\n]\n')
      throw err
    }
    await this.write(n === 0 ? '[]\n' : '\n]\n')
    this.wroteDocument = true
    return n
  }

  /** How table cells look: relative times, colour where the stream takes it. */
  private get cellStyle(): CellStyle {
    const stream = this.opts.stdout as unknown as { columns?: number }
    return { color: this.opts.color ?? streamTakesColour(stream), now: this.opts.now ?? new Date() }
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
          chunk += columns.map((c) => colourCell(tsvCell(c.value(row)), color)).join('\t') + '\n'
          n++
        }
        if (chunk) await this.write(chunk)
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
      await this.write(renderTable(headers, cells, layout, { color: style.color, header: first }).join('\n') + '\n')
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
      await this.write(fields.map(([k, v]) => `${k}\t${tsvCell(v)}`).join('\n') + '\n')
      return
    }
    const style = this.cellStyle
    const width = Math.max(...fields.map(([k]) => k.length))
    const show = (v: unknown) => (isIsoTime(v) ? `${plainCell(v, style)} (${v})` : colourCell(plainCell(v, style), style.color))
    await this.write(fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${show(v)}`).join('\n') + '\n')
  }
}

function tsvCell(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return v.map(tsvCell).join(',')
  return String(v).replace(/[\t\n\r]/g, ' ')
}
