// Everything pdsctl writes to stdout goes through here. Three shapes:
// - json: the documented JSON shape (arrays stream element by element);
// - table: cli-table3 on a terminal, for people;
// - tsv: tab-separated rows when piped, no header, no colour, ISO timestamps (cut/awk-friendly).
// Status and progress go to stderr (`status`), never to stdout.
import { once } from 'node:events'

export type OutputMode = 'json' | 'table' | 'tsv'

export interface Column<T> {
  header: string
  value: (row: T) => unknown
}

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

  /** Rows as a table (terminal) or TSV (pipe). TSV streams; a table needs every row for its widths. */
  async printRows<T>(pages: AsyncIterable<T[]> | Iterable<T[]>, columns: Column<T>[]): Promise<number> {
    let n = 0
    if (this.mode === 'tsv') {
      for await (const page of pages) {
        let chunk = ''
        for (const row of page) {
          chunk += columns.map((c) => tsvCell(c.value(row))).join('\t') + '\n'
          n++
        }
        if (chunk) await this.write(chunk)
      }
      return n
    }
    const rows: T[] = []
    for await (const page of pages) rows.push(...page)
    await this.printTable(rows, columns)
    return rows.length
  }

  async printTable<T>(rows: T[], columns: Column<T>[]): Promise<void> {
    if (this.mode === 'tsv') {
      await this.printRows([rows], columns)
      return
    }
    const { default: Table } = await import('cli-table3')
    const table = new Table({
      head: columns.map((c) => c.header),
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      chars: {
        top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
        bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
        left: '', 'left-mid': '', mid: '', 'mid-mid': '',
        right: '', 'right-mid': '', middle: '  ',
      },
    })
    for (const row of rows) table.push(columns.map((c) => ttyCell(c.value(row))))
    await this.write(table.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n')
  }

  /** Key/value pairs: aligned on a terminal, `key<TAB>value` when piped. */
  async printFields(fields: Array<[string, unknown]>): Promise<void> {
    if (this.mode === 'tsv') {
      await this.write(fields.map(([k, v]) => `${k}\t${tsvCell(v)}`).join('\n') + '\n')
      return
    }
    const width = Math.max(...fields.map(([k]) => k.length))
    await this.write(fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${ttyCell(v)}`).join('\n') + '\n')
  }
}

function tsvCell(v: unknown): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return v.map(tsvCell).join(',')
  return String(v).replace(/[\t\n\r]/g, ' ')
}

function ttyCell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-'
  if (v === true) return 'yes'
  if (v === false) return 'no'
  if (Array.isArray(v)) return v.length ? v.map(ttyCell).join(', ') : '-'
  return String(v)
}
