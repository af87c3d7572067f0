// The lean undici loading in src/lib/pds/http.ts: node:http2 stays unloaded while the
// PDS speaks HTTP/1.1, and HTTP/2 still works when TLS negotiates it (the stand-in loads
// the real module then). Run in a fresh process, since the test runner may load http2.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { ROOT } from '../../helpers/cli.js'

const child = (url: string, agentOpts: string) => `
import { Agent, requestVia, http2Loaded } from ${JSON.stringify(path.join(ROOT, 'dist/lib/pds/http.js'))}
const before = http2Loaded()
const agent = new Agent(${agentOpts})
const u = new URL(${JSON.stringify(url)})
const res = await requestVia.call(agent, { origin: u.origin, path: '/xrpc/_health', method: 'GET' })
const body = await res.body.text()
await agent.close()
console.log(JSON.stringify({ before, after: http2Loaded(), status: res.statusCode, body }))
`
// Asynchronous: the servers answer from this process.
async function runChild(url: string, agentOpts: string) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', child(url, agentOpts)], { encoding: 'utf8', timeout: 30_000 })
  return JSON.parse(stdout) as { before: boolean; after: boolean; status: number; body: string }
}

test('HTTP/1.1: requests work and node:http2 is never loaded', async () => {
  const server = http.createServer((_req, res) => res.end('{"version":"x"}'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const out = await runChild(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '{}')
    assert.deepEqual(out, { before: false, after: false, status: 200, body: '{"version":"x"}' })
  } finally {
    server.close()
  }
})

test('HTTP/2 negotiated over TLS: the real client-h2 module is loaded on demand and the request works', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-h2-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' })
    const server = http2.createSecureServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
      res.end(JSON.stringify({ version: `h${req.httpVersion}` }))
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const out = await runChild(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, '{ allowH2: true, connect: { rejectUnauthorized: false } }')
      assert.deepEqual(out, { before: false, after: true, status: 200, body: '{"version":"h2.0"}' })
    } finally {
      server.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
