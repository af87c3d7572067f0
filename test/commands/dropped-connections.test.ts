// A tunnel or proxy in front of the PDS that drops a kept-alive connection without saying
// so (no Keep-Alive hint; many proxies' idle timeouts): pdsctl's next request on that
// connection meets a reset before any answer. A read is sent again on a new connection (the
// XRPC client's retry policy, src/lib/pds/xrpcClient.ts: safe reads on a dropped
// connection); a write is not, since the server may have carried it out, and the reset is
// the error, exit 1. Stand-in: a loopback server in front of the real PDS that resets a
// client connection when a second request arrives on it.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { startTestBed, type SeededAccount, type TestBed } from '../bed/pds.js'
import { bedEnv, runCli } from '../helpers/cli.js'
import type { AccountInfo } from '../../src/lib/admin/accountAdmin.js'

describe('a proxy that drops kept-alive connections', () => {
  let bed: TestBed
  let accounts: SeededAccount[]
  let proxy: http.Server
  let url: string
  /** What reached the PDS through the proxy, and what was reset instead. */
  const log: string[] = []
  before(async () => {
    bed = await startTestBed()
    accounts = await bed.seed(2, 'drop')
    const served = new WeakMap<Socket, number>()
    const upstream = new URL(bed.url)
    proxy = http.createServer((req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1
      served.set(req.socket, n)
      const line = `${req.method} ${req.url?.split('?')[0]}`
      if (n > 1) {
        log.push(`reset ${line}`)
        req.socket.resetAndDestroy()
        return
      }
      log.push(`passed ${line}`)
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      })
      out.on('error', () => res.destroy())
      req.pipe(out)
    })
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  })
  after(async () => {
    proxy.closeAllConnections()
    await new Promise<void>((r) => proxy.close(() => r()))
    await bed.close()
  })

  test('reads: each request that met a dropped connection is sent again on a new one, and the command succeeds', async () => {
    log.length = 0
    const res = await runCli(['account', 'info', accounts[0].handle, '--json'], { env: bedEnv(bed, { PDS_URL: url }) })
    assert.equal(res.code, 0, res.stderr)
    assert.equal((JSON.parse(res.stdout) as AccountInfo).did, accounts[0].did)
    const resets = log.filter((l) => l.startsWith('reset '))
    assert.ok(resets.length >= 1, `the command made more than one request on a connection: ${log.join(', ')}`)
    // Every GET that was reset reached the PDS right after, on a new connection.
    for (const reset of resets) assert.ok(log.includes(reset.replace('reset', 'passed')), log.join(', '))
    const list = await runCli(['account', 'list', '--json'], { env: bedEnv(bed, { PDS_URL: url }) })
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(new Set((JSON.parse(list.stdout) as Array<{ did: string }>).map((a) => a.did)), new Set(accounts.map((a) => a.did)))
  })

  test('a write is not sent again: the reset is the error, and the PDS never saw it', async () => {
    log.length = 0
    const res = await runCli(['account', 'takedown', accounts[1].handle, '--yes'], { env: bedEnv(bed, { PDS_URL: url }) })
    // Its reads (resolveHandle, getAccountInfo) leave the POST on a kept-alive connection.
    assert.deepEqual(
      log.filter((l) => l.includes('POST')),
      ['reset POST /xrpc/com.atproto.admin.updateSubjectStatus'],
      `sent once, and reset: ${log.join(', ')}`,
    )
    assert.equal(res.code, 1, res.stderr) // the network failed (README, exit codes)
    assert.equal(res.stdout, '')
    assert.match(res.stderr, /^Error: com\.atproto\.admin\.updateSubjectStatus: the connection to http:\/\/127\.0\.0\.1:\d+ was reset\. A proxy or the port-forward may have dropped it; try again\n$/)
    const status = await runCli(['account', 'info', accounts[1].handle, '--json'], { env: bedEnv(bed) })
    assert.equal(status.code, 0, status.stderr)
    assert.equal((JSON.parse(status.stdout) as AccountInfo).takendown, false)
  })
})
