// The proxy tests' tinyproxy must be the server on the port they send pdsctl to. Its port is
// chosen before it binds it, as the PDS beds' are (test/bed/pds.test.ts): another socket may
// take it in between. A port that merely answers used to pass for tinyproxy; now the bed asks
// for a stats page only this tinyproxy knows the name of, and chooses again otherwise.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { spawn } from 'node:child_process'
import { startForwardProxy, waitForTinyproxy } from './forwardProxy.js'
import { holdPort } from '../helpers/ports.js'

/** GET url through the proxy at proxyUrl (absolute-form request, as to any HTTP proxy). */
function getThrough(proxyUrl: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const proxy = new URL(proxyUrl)
  return new Promise((resolve, reject) => {
    http
      .get({ host: proxy.hostname, port: proxy.port, path: url, headers: { host: new URL(url).host, ...headers } }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
      // A proxy port held by the wrong server may never answer: fail, not hang.
      .setTimeout(5000, function (this: http.ClientRequest) {
        this.destroy(new Error(`no answer through ${proxyUrl} in 5 s`))
      })
  })
}

/** An HTTP server behind the proxy (0.0.0.0: loopback, not named as loopback). */
async function target(): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((_req, res) => res.end('behind the proxy'))
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  return { url: `http://0.0.0.0:${(srv.address() as net.AddressInfo).port}/`, close: () => new Promise((r) => srv.close(() => r())) }
}

describe('test bed: tinyproxy on its own port', () => {
  const cases = [
    { name: 'a server that accepts and says nothing', answer: undefined },
    // What tinyproxy itself answers a plain request: the check must not take it for ours.
    { name: 'a server that answers as a tinyproxy does', answer: 'HTTP/1.0 400 Bad Request\r\nServer: tinyproxy/1.11.1\r\nConnection: close\r\n\r\nBad Request' },
  ]
  for (const { name, answer } of cases) {
    test(`its first port held by ${name}: it starts on another, and requests go through it`, async () => {
      const held = await holdPort(answer)
      const behind = await target()
      const proxy = await startForwardProxy({ firstPort: held.port })
      try {
        assert.ok(held.connections() >= 1, 'the bed looked at the held port')
        const res = await getThrough(proxy.url, behind.url)
        assert.deepEqual(res, { status: 200, body: 'behind the proxy' })
        assert.match(proxy.log(), new RegExp(`GET ${behind.url.replaceAll('.', '\\.')}`), "tinyproxy's own log has the request: the bed talks to it")
      } finally {
        await proxy.close()
        await behind.close()
        await held.close()
      }
    })
  }

  test('with BasicAuth: the check authenticates; a request without credentials is 407', async () => {
    const behind = await target()
    const proxy = await startForwardProxy({ auth: { user: 'u', password: 'p' } })
    try {
      assert.equal((await getThrough(proxy.url, behind.url)).status, 407)
      const ok = await getThrough(proxy.url, behind.url, { 'proxy-authorization': `Basic ${Buffer.from('u:p').toString('base64')}` })
      assert.deepEqual(ok, { status: 200, body: 'behind the proxy' })
    } finally {
      await proxy.close()
      await behind.close()
    }
  })

  test("waitForTinyproxy: 'taken' or 'exited' for a port another server holds, never 'ours'", async () => {
    // Even a server answering 200 as tinyproxy, with a stats page: not the one with this token.
    const held = await holdPort('HTTP/1.0 200 Statistic requested\r\nServer: tinyproxy/1.11.1\r\n\r\n<p>pdsctl test bed tinyproxy 0000000000000000</p>')
    // Not tinyproxy at all: a process that stays up, as a tinyproxy that has not yet tried to bind.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' })
    try {
      assert.equal(await waitForTinyproxy(held.port, child, '0123456789abcdef'), 'taken')
      const exited = new Promise((r) => child.once('exit', r))
      child.kill()
      await exited
      assert.equal(await waitForTinyproxy(held.port, child, '0123456789abcdef'), 'exited')
    } finally {
      child.kill()
      await held.close()
    }
  })
})
