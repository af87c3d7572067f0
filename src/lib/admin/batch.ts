// Many subjects at once: `pdsctl account takedown -` reads one account per line from
// stdin. One failure does not stop the rest; the caller reports each result and a
// summary, and exits 5 when some failed. Lines are worked through in windows: each window
// is prepared in bulk (e.g. one existence check per 100 accounts), then its items run a
// few in flight, and their results come out in input order before the next window starts,
// so memory stays flat however long the input is.
import { PdsctlError } from '../errors.js'

/** One line's outcome (the JSON shape of `results[]` in a batch run). */
export interface BatchResult<T> {
  input: string
  ok: boolean
  result?: T
  error?: string
}

/** Lines of stdin: trimmed, blank lines and `#` comments skipped. */
export function parseBatchLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
}

export interface BatchOptions {
  /** Items in flight (default 8). */
  concurrency?: number
  /** Items per window (default 1000). */
  window?: number
  /** Runs before each window's items (bulk checks); a failure here fails the whole run. */
  prepare?: (items: string[]) => Promise<void>
  /** Runs after each window (to drop what `prepare` cached). */
  release?: () => void
}

/** Each item's result, in input order, streamed window by window. */
export async function* streamBatch<T>(items: string[], fn: (item: string) => Promise<T>, opts: BatchOptions = {}): AsyncGenerator<BatchResult<T>> {
  const width = opts.concurrency ?? 8
  const size = opts.window ?? 1000
  for (let start = 0; start < items.length; start += size) {
    const window = items.slice(start, start + size)
    await opts.prepare?.(window)
    try {
      // A fixed number of workers take items in order; each result settles its own slot,
      // and the slots are awaited in order, so the first rows print while the rest run.
      const settle: Array<(r: BatchResult<T>) => void> = []
      const slots = window.map(() => new Promise<BatchResult<T>>((r) => settle.push(r)))
      let next = 0
      const worker = async () => {
        while (next < window.length) {
          const i = next++
          const item = window[i]
          try {
            settle[i]({ input: item, ok: true, result: await fn(item) })
          } catch (err) {
            settle[i]({ input: item, ok: false, error: err instanceof PdsctlError ? err.line : err instanceof Error ? err.message : String(err) })
          }
        }
      }
      const workers = Promise.all(Array.from({ length: Math.min(width, window.length) }, worker))
      for (let i = 0; i < slots.length; i++) {
        yield await slots[i]
        slots[i] = undefined as never
      }
      await workers
    } finally {
      opts.release?.()
    }
  }
}

/** The whole batch as an array (for callers that want it all at once). */
export async function runBatch<T>(items: string[], fn: (item: string) => Promise<T>, opts: BatchOptions = {}): Promise<BatchResult<T>[]> {
  const out: BatchResult<T>[] = []
  for await (const r of streamBatch(items, fn, opts)) out.push(r)
  return out
}
