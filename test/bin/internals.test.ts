// Nothing in pdsctl rests on undocumented internals of Node, V8 or oclif (issue 21): no V8
// or Node flag changed at run time (v8.setFlagsFromString: "may result in unpredictable
// behavior, including crashes and data loss; or it may simply do nothing"), no module
// swapped in require.cache, no property of process redefined. Memory stays flat by what
// the code holds (src/lib/admin/accounts.ts; bench/: peak RSS), start-up lean by what it loads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from '../helpers/cli.js'

const FORBIDDEN = /setFlagsFromString|require\.cache|defineProperty\(process|process\.binding\(|internalBinding\(/

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => /\.(ts|js|mjs|cjs)$/.test(f))
}

test('src and bin change no V8 or Node flag at run time and touch no module cache or process property', () => {
  const files = [...sources('src'), ...sources('bin')]
  assert.ok(files.length > 50, `only ${files.length} files found`)
  const hits = files.flatMap((f) =>
    readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .map((line, i) => ({ f, i, line }))
      .filter(({ line }) => FORBIDDEN.test(line))
      .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim()}`),
  )
  assert.deepEqual(hits, [])
})
