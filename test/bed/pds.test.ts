// The test bed's ports: a PDS must know its port before it binds it (its public URL names
// it), so the bed chooses one first. A clean-clone CI lost a whole suite when another
// socket took that port in between (EADDRINUSE in the PDS 0.4.x child); the bed now chooses
// below the kernel's ephemeral range and chooses again when the port is taken.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { freePort, isAddressInUse, startTestBed } from './pds.js'
import { holdPort } from '../helpers/ports.js'

describe('test bed ports', () => {
  test('freePort: bindable, and below the ephemeral range (where listen(0) and source ports land)', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    const ports = new Set<number>()
    for (let i = 0; i < 20; i++) {
      const port = await freePort()
      assert.ok(port >= 20_000 && port < low, `${port} is in [20000, ${low})`)
      const srv = net.createServer()
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve))
      await new Promise<void>((r) => srv.close(() => r()))
      ports.add(port)
    }
    assert.ok(ports.size >= 15, `random: ${ports.size} distinct ports of 20`)
  })

  test('isAddressInUse: a listen error, a 0.4.x child exit quoting it, nothing else', () => {
    assert.equal(isAddressInUse(Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:1'), { code: 'EADDRINUSE' })), true)
    assert.equal(isAddressInUse(new Error('PDS 0.4.x exited (1) before it could start\npds04 server: Error: listen EADDRINUSE: address already in use 127.0.0.1:32821')), true)
    assert.equal(isAddressInUse(new Error('PDS 0.4.x exited (1) before it could start\nSqliteError: disk I/O error')), false)
    assert.equal(isAddressInUse(undefined), false)
  })

  for (const line of ['0.5', '0.4'] as const) {
    test(`PDS ${line}.x: a taken port is given up for another, and the PDS answers there`, async () => {
      const taken = await holdPort()
      try {
        const bed = await startTestBed({ line, firstPort: taken.port })
        try {
          assert.notEqual(bed.port, taken.port)
          assert.equal(bed.url, `http://127.0.0.1:${bed.port}`)
          assert.equal(bed.publicUrl, `http://localhost:${bed.port}`)
          const health = await fetch(`${bed.url}/xrpc/_health`)
          assert.equal(health.status, 200)
          const account = await bed.createAccount(`port${bed.handleDomain}`)
          assert.match(account.did, /^did:plc:/)
        } finally {
          await bed.close()
        }
      } finally {
        await taken.close()
      }
    })
  }
})
