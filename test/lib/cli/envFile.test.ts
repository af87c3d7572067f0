import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseEnvFile, readEnvFile } from '../../../src/lib/cli/envFile.js'
import { UsageError } from '../../../src/lib/errors.js'

test('parses a pds.env as data: quotes, export, comments, values bash would break on', () => {
  const env = parseEnvFile(
    [
      '# written by the installer',
      'PDS_HOSTNAME=pds.example.com',
      'export PDS_ADMIN_PASSWORD="p@ss word $HOME `rm -rf /` \\"q\\""',
      "PDS_JWT_SECRET='lit$eral'",
      'PDS_CRAWLERS=https://bsky.network,https://relay.example  # two relays',
      '',
      'EMPTY=',
      'WITH_EQUALS=a=b=c',
    ].join('\n'),
  )
  assert.deepEqual(env, {
    PDS_HOSTNAME: 'pds.example.com',
    PDS_ADMIN_PASSWORD: 'p@ss word $HOME `rm -rf /` "q"',
    PDS_JWT_SECRET: 'lit$eral',
    PDS_CRAWLERS: 'https://bsky.network,https://relay.example',
    EMPTY: '',
    WITH_EQUALS: 'a=b=c',
  })
})

test('a line that is not KEY=VALUE is an error naming the line, and nothing runs', () => {
  assert.throws(() => parseEnvFile('A=1\n$(touch /tmp/pwned)\n', 'pds.env'), (err: unknown) => {
    assert.ok(err instanceof UsageError)
    assert.match(err.message, /^pds\.env:2: not a KEY=VALUE line/)
    return true
  })
  assert.throws(() => parseEnvFile('A="unterminated'), /unterminated double quote/)
})

test('a missing file is a usage error naming the flag', async () => {
  await assert.rejects(readEnvFile('/nonexistent/pds.env'), /cannot read env file \/nonexistent\/pds\.env \(ENOENT\)/)
  const dir = mkdtempSync(path.join(tmpdir(), 'envf-'))
  writeFileSync(path.join(dir, 'pds.env'), 'PDS_HOSTNAME=x.example\r\n')
  assert.deepEqual(await readEnvFile(path.join(dir, 'pds.env')), { PDS_HOSTNAME: 'x.example' })
})
