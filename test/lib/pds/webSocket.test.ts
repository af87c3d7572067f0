// pdsctl's WebSocket client (src/lib/pds/webSocket.ts) against a server on loopback that
// writes its frames byte by byte as RFC 6455 lays them out: what the real PDS's firehose
// sends is covered by test/lib/federation/firehoseSeq.test.ts; here, the protocol's corners
// and a server that misbehaves.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { Duplex } from 'node:stream'
import { frameHeader } from '../../bed/lying.js'
import { PdsctlWebSocket, type WebSocketEventMap } from '../../../src/lib/pds/webSocket.js'

type Script = (socket: Duplex, received: Buffer[]) => void

describe('PdsctlWebSocket', () => {
  let server: http.Server
  let script: Script
  let accept: (key: string) => string = (key) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
  const received: Buffer[] = []
  // The server's side of each upgraded connection (http.Server lets go of them at the upgrade).
  const upgraded = new Set<Duplex>()
  let url = ''
  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(404).end('not here'))
    server.on('upgrade', (req, socket: Duplex) => {
      upgraded.add(socket)
      socket.on('close', () => upgraded.delete(socket))
      socket.on('error', () => {})
      if (req.url === '/no-upgrade-here') return void socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      socket.on('data', (b: Buffer) => received.push(b))
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n`)
      script(socket, received)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/xrpc/com.atproto.sync.subscribeRepos`
  })
  after(async () => {
    for (const s of upgraded) s.destroy()
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  })

  /** Everything the socket reported until it closed (or 5 s), in order. */
  function run(s: Script, opts: { maxMessageBytes?: number; path?: string; closeAfter?: number } = {}): Promise<Array<[string, unknown]>> {
    script = s
    received.length = 0
    return new Promise((resolve) => {
      const events: Array<[string, unknown]> = []
      const ws = new PdsctlWebSocket(opts.path ? url.replace(/\/xrpc.*/, opts.path) : url, { maxMessageBytes: opts.maxMessageBytes })
      const timer = setTimeout(() => resolve(events), 5000)
      for (const type of ['open', 'message', 'error', 'close'] as const) {
        ws.addEventListener(type, (ev: WebSocketEventMap[typeof type]) => {
          events.push([type, type === 'message' ? (ev as WebSocketEventMap['message']).data : ev])
          if (type === 'message' && opts.closeAfter !== undefined && events.filter(([t]) => t === 'message').length >= opts.closeAfter) ws.close()
          if (type === 'close' || (type === 'message' && opts.closeAfter !== undefined && events.filter(([t]) => t === 'message').length >= opts.closeAfter)) {
            clearTimeout(timer)
            setTimeout(() => resolve(events), 50)
          }
        })
      }
    })
  }
  const frame = (opcode: number, payload: Buffer | string, fin = true) => {
    const body = Buffer.from(payload)
    const h = frameHeader(opcode, body.length)
    if (!fin) h[0] &= 0x7f
    return Buffer.concat([h, body])
  }

  test('binary and text messages, fragmented, sent one byte at a time; a ping answered with a masked pong', async () => {
    const events = await run((socket) => {
      const bytes = Buffer.concat([
        frame(2, Buffer.from([1, 2, 3])),
        frame(9, 'hi'),
        frame(1, 'hel', false),
        frame(0, 'lo', true),
        frame(2, Buffer.alloc(70_000, 7)),
        frame(8, Buffer.from([0x03, 0xe8])),
      ])
      let i = 0
      const next = () => {
        if (i < 40) socket.write(bytes.subarray(i, ++i), next)
        else socket.write(bytes.subarray(i))
      }
      next()
    })
    assert.deepEqual(events.map(([t]) => t), ['open', 'message', 'message', 'message', 'close'])
    assert.deepEqual([...new Uint8Array(events[1][1] as ArrayBuffer)], [1, 2, 3])
    assert.equal(events[2][1], 'hello')
    assert.equal((events[3][1] as ArrayBuffer).byteLength, 70_000)
    assert.deepEqual(events[4][1], { code: 1000, reason: '' })
    const sent = Buffer.concat(received)
    // The pong: FIN + opcode 10, masked, 2 bytes ("hi" under the mask).
    const at = sent.indexOf(0x8a)
    assert.ok(at >= 0, 'a pong was sent')
    assert.equal(sent[at + 1], 0x80 | 2)
    const mask = sent.subarray(at + 2, at + 6)
    assert.equal(Buffer.from([sent[at + 6] ^ mask[0], sent[at + 7] ^ mask[1]]).toString(), 'hi')
  })

  test('close() sends a masked close frame and ends the connection without waiting for the server', async () => {
    let serverSawEnd = false
    const t0 = Date.now()
    const events = await run(
      (socket) => {
        socket.on('end', () => (serverSawEnd = true))
        // A server that streams on and never answers a close.
        const timer = setInterval(() => socket.write(frame(2, Buffer.from([0xa0, 0xa0]))), 5)
        socket.on('close', () => clearInterval(timer))
      },
      { closeAfter: 3 },
    )
    assert.ok(events.filter(([t]) => t === 'message').length >= 3)
    await new Promise((r) => setTimeout(r, 100))
    assert.ok(serverSawEnd, 'the connection ended from our side')
    assert.ok(Date.now() - t0 < 2000)
    const sent = Buffer.concat(received)
    assert.equal(sent[0], 0x88, 'a close frame')
    assert.equal(sent[1], 0x80 | 2, 'masked, 2 bytes (the code)')
  })

  test('a server that misbehaves fails the socket with one reason: too large, masked, reserved bits, unknown opcode, no valid accept, no upgrade', async () => {
    const cases: Array<[string, Script, RegExp, { maxMessageBytes?: number; path?: string }?]> = [
      ['announced too large', (s) => s.write(frameHeader(2, 2 ** 40)), /a message of \d+ bytes, more than the 8388608 pdsctl reads/],
      ['fragments too large', (s) => s.write(Buffer.concat([frame(2, Buffer.alloc(600), false), frame(0, Buffer.alloc(600), false)])), /more than the 1000 pdsctl reads/, { maxMessageBytes: 1000 }],
      ['masked', (s) => s.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5])), /masked frame/],
      ['reserved bits', (s) => s.write(Buffer.from([0xc2, 0x01, 0x00])), /reserved bits/],
      ['unknown opcode', (s) => s.write(Buffer.from([0x83, 0x00])), /unknown opcode 3/],
      ['a long ping', (s) => s.write(Buffer.concat([frameHeader(9, 200), Buffer.alloc(200)])), /control frame longer than 125 bytes/],
    ]
    for (const [label, s, why, opts] of cases) {
      const events = await run(s, opts)
      assert.deepEqual(events.map(([t]) => t), ['open', 'error', 'close'], label)
      assert.match((events[1][1] as { message: string }).message, why, label)
      assert.equal((events[2][1] as { code: number }).code, 1006, label)
    }
    accept = () => 'not-the-hash'
    const bad = await run(() => {})
    accept = (key) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64')
    assert.deepEqual(bad.map(([t]) => t), ['error', 'close'])
    assert.match((bad[0][1] as { message: string }).message, /without a valid Sec-WebSocket-Accept/)
    const refused = await run(() => {}, { path: '/no-upgrade-here' })
    assert.deepEqual(refused.map(([t]) => t), ['error', 'close'])
    assert.match((refused[0][1] as { message: string }).message, /refused with HTTP 404/)
  })

  test('--debug: a line as the WebSocket is asked for (its URL, never credentials) and one as it opens or fails', async () => {
    const lines: string[] = []
    const opened = new Promise<void>((resolve) => {
      script = () => {}
      const withCreds = url.replace('ws://', 'ws://ops:s3cret@')
      const ws = new PdsctlWebSocket(withCreds, { debug: (l) => lines.push(l) })
      ws.addEventListener('open', () => {
        ws.close()
        resolve()
      })
    })
    await opened
    assert.equal(lines.length, 2, lines.join('\n'))
    assert.equal(lines[0], `→ WebSocket ${url}`)
    assert.match(lines[1], new RegExp(`^← 101 WebSocket ${url.replaceAll('.', '\\.')} \\(\\d+ ms\\)$`))
    assert.doesNotMatch(lines.join('\n'), /s3cret|ops/)
    const failed: string[] = []
    await new Promise<void>((resolve) => {
      const ws = new PdsctlWebSocket(url.replace(/\/xrpc.*/, '/no-upgrade-here'), { debug: (l) => failed.push(l) })
      ws.addEventListener('close', () => resolve())
    })
    assert.match(failed.at(-1) ?? '', /^← WebSocket ws:\/\/127\.0\.0\.1:\d+\/no-upgrade-here failed: .*refused with HTTP 404/)
  })
})
