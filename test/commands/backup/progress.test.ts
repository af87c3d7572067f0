// pdsctl backup's progress: on a terminal one line redrawn in place (accounts, blobs,
// bytes, rate), with a bar when the number of accounts is known; piped, plain status lines
// on stderr, and stdout untouched.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestBed, type TestBed } from '../../bed/pds.js'
import { runCli } from '../../helpers/cli.js'
import { runPty } from '../../helpers/pty.js'

describe('pdsctl backup progress', () => {
  let bed: TestBed
  const dirs: string[] = []
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'pdsctl-progress-'))
    dirs.push(d)
    return d
  }
  before(async () => {
    bed = await startTestBed()
    await bed.seed(2, 'prog')
  })
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
    await bed.close()
  })

  test('on a terminal: one line redrawn in place with accounts, blobs, bytes and rate', async () => {
    const pty = runPty(['backup', dir()], { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
    await pty.waitFor(/2 accounts, 0 blobs fetched, 0 skipped, [\d.]+ [KMG]?i?B \([\d.]+ [KMG]?i?B\/s\)/)
    assert.equal(await pty.exited, 0, pty.screen)
    assert.match(pty.raw, /\r\x1b\[2K/, 'the line is redrawn in place')
  })

  test('piped: plain status lines on stderr, nothing on stdout but the result', async () => {
    const res = await runCli(['backup', dir()], { env: { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword } })
    assert.equal(res.code, 0, res.stderr)
    assert.match(res.stderr, /^Backing up every account of http:\/\/127\.0\.0\.1:\d+ to .*…$/m)
    assert.match(res.stderr, /^2 accounts, 0 blobs fetched, 0 skipped, /m)
    assert.doesNotMatch(res.stderr, /\x1b\[/, 'no terminal codes in a pipe')
  })
})
