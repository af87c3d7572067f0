// `pdsctl version` with a connection: the PDS's own version from /xrpc/_health.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { ROOT, runCli } from '../helpers/cli.js'
import { startLyingServer } from '../bed/lying.js'

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
    // The bed runs @atproto/pds from npm: it reports its package's version, e.g. 0.5.35.
    assert.match(health.version, /^0\.5\.\d+$/)
    const patch = health.version.split('.')[2]
    assert.deepEqual(out.pds, { url: bed.url, version: health.version, reported: true, pdsVersion: health.version, imageTag: `0.4.5${patch.padStart(3, '0')}` })
    assert.equal(out.node, process.versions.node)
  })

  // The real 0.4.x line when scripts/pds04.sh installed it (scripts/dev.sh test does); the
  // stand-in above answers as it does otherwise.
  const has04 = existsSync(path.join(ROOT, 'test/bed/pds04/node_modules/@atproto/pds-04'))
  test('a real PDS 0.4.x (npm) reports no version: version null, reported false', { skip: !has04 && 'the 0.4.x bed is not installed (scripts/pds04.sh)' }, async () => {
    const bed04 = await startTestBed({ line: '0.4' })
    try {
      const res = await runCli(['version', '--url', bed04.url, '--json'])
      assert.equal(res.code, 0, res.stderr)
      assert.deepEqual(JSON.parse(res.stdout).pds, { url: bed04.url, version: null, reported: false, pdsVersion: null, imageTag: null })
    } finally {
      await bed04.close()
    }
  })

  test('a PDS that reports no version (as 0.4.x from npm answers): version null, reported false', async () => {
    const res = await runCli(['version', '--url', silentUrl, '--json'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout).pds, { url: silentUrl, version: null, reported: false, pdsVersion: null, imageTag: null })
    const human = await runCli(['version', '--url', silentUrl])
    assert.match(human.stdout, /^pds version\tnot reported \(a 0\.4\.x PDS from npm reports none\)$/m)
  })

  test('the official image reports its tag: 0.4.5026 is shown as PDS 0.5.26 with its image tag, 0.4.219 as itself', async () => {
    const liar = await startLyingServer({ upstream: bed.url })
    try {
      liar.answer('_health', () => ({ json: { version: '0.4.5026' } }))
      const res = await runCli(['version', '--url', liar.url, '--json'])
      assert.equal(res.code, 0, res.stderr)
      assert.deepEqual(JSON.parse(res.stdout).pds, { url: liar.url, version: '0.4.5026', reported: true, pdsVersion: '0.5.26', imageTag: '0.4.5026' })
      const human = await runCli(['version', '--url', liar.url])
      assert.match(human.stdout, /^pds version\t0\.5\.26 \(image tag 0\.4\.5026, as reported\)$/m)

      liar.answer('_health', () => ({ json: { version: '0.4.219' } }))
      const old = await runCli(['version', '--url', liar.url])
      assert.match(old.stdout, /^pds version\t0\.4\.219$/m)
      liar.answer('_health', () => ({ json: { version: 'custom-build' } }))
      const odd = await runCli(['version', '--url', liar.url, '--json'])
      assert.deepEqual(JSON.parse(odd.stdout).pds, { url: liar.url, version: 'custom-build', reported: true, pdsVersion: null, imageTag: null })
    } finally {
      await liar.close()
    }
  })
})
