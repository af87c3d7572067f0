// Many subjects at once: `pdsctl account takedown -` reads one account per line from
// stdin. One failure does not stop the rest; the caller reports each result and a
// summary, and exits 5 when some failed.
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

export async function runBatch<T>(items: string[], fn: (item: string) => Promise<T>, opts: { concurrency?: number } = {}): Promise<BatchResult<T>[]> {
  const results: BatchResult<T>[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      try {
        results[i] = { input: items[i], ok: true, result: await fn(items[i]) }
      } catch (err) {
        results[i] = { input: items[i], ok: false, error: err instanceof PdsctlError ? err.line : err instanceof Error ? err.message : String(err) }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, items.length) }, worker))
  return results
}
