// A stale oclif.manifest.json silently hides commands: the manifest must list exactly the
// command files under src/commands, at package.json's version.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './helpers/cli.js'

function commandIds(dir: string, prefix: string[] = []): string[] {
  const ids: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) ids.push(...commandIds(path.join(dir, entry.name), [...prefix, entry.name]))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const name = entry.name.replace(/\.ts$/, '')
      ids.push([...prefix, ...(name === 'index' ? [] : [name])].join(':'))
    }
  }
  return ids
}

test('oclif.manifest.json is fresh: same commands as src/commands, same version as package.json', () => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8'))
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  assert.equal(manifest.version, pkg.version)
  assert.deepEqual(Object.keys(manifest.commands).sort(), commandIds(path.join(ROOT, 'src/commands')).sort())
  for (const [id, cmd] of Object.entries<{ summary?: string; description?: string }>(manifest.commands)) {
    assert.ok(cmd.summary || cmd.description, `${id} has help text`)
  }
})
