// `pdsctl version` with a connection: the PDS's own version from /xrpc/_health.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { ROOT, cliNodeVersion, runCli } from '../helpers/cli.js'

describe('pdsctl version with a connection', () => {
  let bed: TestBed
  let silent: Server
  let silentUrl: string
  before(async () => {
    bed = await startTestBed()
    // What a 0.4.x PDS run from the npm package answers: 200 and `{}` (no version in its environment).
    silent = createServer((req, res) => {
      if (req.url === '/xrpc/_health') res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      else res.writeHead(404).end()
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`
  })
  after(async () => {
    silent.close()
    await bed.close()
  })

  test('--json: the PDS version as reported, no password needed', async () => {
    const health = (await (await fetch(`${bed.url}/xrpc/_health`)).json()) as { version: string }
    const res = await runCli(['version', '--json'], { env: { PDS_URL: bed.url } })
    assert.equal(res.code, 0, res.stderr)
    const out = JSON.parse(res.stdout)
    assert.deepEqual(out.pds, { url: bed.url, version: health.version, reported: true })
    assert.equal(out.node, cliNodeVersion())
  })

  // The real 0.4.x line when scripts/pds04.sh installed it (scripts/dev.sh test does); the
  // stand-in above answers as it does otherwise.
  const has04 = existsSync(path.join(ROOT, 'test/bed/pds04/node_modules/@atproto/pds-04'))
  test('a real PDS 0.4.x (npm) reports no version: version null, reported false', { skip: !has04 && 'the 0.4.x bed is not installed (scripts/pds04.sh)' }, async () => {
    const bed04 = await startTestBed({ line: '0.4' })
    try {
      const res = await runCli(['version', '--url', bed04.url, '--json'])
      assert.equal(res.code, 0, res.stderr)
      assert.deepEqual(JSON.parse(res.stdout).pds, { url: bed04.url, version: null, reported: false })
    } finally {
      await bed04.close()
    }
  })

  test('a PDS that reports no version (as 0.4.x from npm answers): version null, reported false', async () => {
    const res = await runCli(['version', '--url', silentUrl, '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout).pds, { url: silentUrl, version: null, reported: false })
    const human = await runCli(['version', '--url', silentUrl])
    assert.match(human.stdout, /^pds version\tnot reported \(a 0\.4\.x PDS from npm reports none\)$/m)
  })
})
