// The hostile-data suite, the firehose: what pdsctl reads over a WebSocket (the PDS's
// com.atproto.sync.subscribeRepos, where `relay status` finds the PDS's latest seq and
// `doctor` watches its test event arrive) is as untrusted as any XRPC answer. A lying server
// in front of the real PDS 0.5.x passes every request and upgrade through, except the
// firehose, which it answers itself (test/bed/lying.ts, `webSocket`): escape sequences in an
// error frame, a frame that announces a terabyte, CBOR nested 100,000 deep,
// text frames, a stream of stale events that never stops. Each run must end within its
// deadline with a documented exit code and show no raw control character. (A `__proto__`
// key: test/lib/federation/firehoseSeq.test.ts.)
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestBed, type TestBed } from '../bed/pds.js'
import { startRelay, type RelayStandIn } from '../bed/relay.js'
import { startLyingServer, frameHeader, type HostileSocket, type LyingServer } from '../bed/lying.js'
import { runCli, type CliResult } from '../helpers/cli.js'

// ---- just enough DAG-CBOR to write frames (a header map, then a body map) ----
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n])
  if (n < 256) return Buffer.from([(major << 5) | 24, n])
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 255])
  const b = Buffer.alloc(5)
  b[0] = (major << 5) | 26
  b.writeUInt32BE(n, 1)
  return b
}
function cbor(v: unknown): Buffer {
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v)
  if (typeof v === 'string') {
    const s = Buffer.from(v)
    return Buffer.concat([head(3, s.length), s])
  }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)])
  // Entries as given, `__proto__` included (Object.entries would not list an inherited one).
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object)
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])])
}
const frame = (header: unknown, body: unknown) => Buffer.concat([cbor(header), cbor(body)])

const ESC = '\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eevil'
/** Any raw control, C1 or bidi character: none may reach a terminal, a TSV row or a JSON document unescaped. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

describe('hostile suite: the firehose (subscribeRepos over a WebSocket), PDS 0.5.x', () => {
  let bed: TestBed
  let relay: RelayStandIn
  let lying: LyingServer
  before(async () => {
    bed = await startTestBed()
    await bed.seed(2, 'fh')
    relay = await startRelay({ knownHosts: { 'pds.example.com': { status: 'active', accountCount: 2, seq: 1 } } })
    lying = await startLyingServer({ upstream: bed.url })
  })
  after(async () => {
    await lying?.close()
    await relay?.close()
    await bed?.close()
  })

  const env = () => ({ PDS_URL: lying.url, PDS_ADMIN_PASSWORD: bed.adminPassword })
  const status = (json: boolean) => runCli(['relay', 'status', '--relay', relay.url, '--hostname', 'pds.example.com', ...(json ? ['--json'] : [])], { env: env(), timeoutMs: 60_000 })
  const clean = (label: string, r: CliResult) => {
    assert.doesNotMatch(r.stdout, RAW_CONTROL, `${label}: a raw control character on stdout: ${JSON.stringify(r.stdout)}`)
    assert.doesNotMatch(r.stderr, RAW_CONTROL, `${label}: a raw control character on stderr: ${JSON.stringify(r.stderr)}`)
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${label}: a stack trace`)
  }
  /** relay status in text and --json: the PDS side's seq and where it came from. */
  async function pdsSide(label: string): Promise<{ seq: number | null; seqSource: string }> {
    const text = await status(false)
    assert.equal(text.code, 0, `${label}: ${text.stderr}`)
    clean(`${label} (text)`, text)
    const json = await status(true)
    assert.equal(json.code, 0, `${label}: ${json.stderr}`)
    clean(`${label} (--json)`, json)
    const pds = (JSON.parse(json.stdout) as { pds: { seq: number | null; seqSource: string } }).pds
    return { seq: pds.seq, seqSource: pds.seqSource }
  }

  test("passed through, the real firehose gives the PDS's latest seq (the lying server carries WebSockets)", async () => {
    lying.clear()
    const before = lying.upgrades.get('com.atproto.sync.subscribeRepos') ?? 0
    const side = await pdsSide('passed through')
    assert.equal(typeof side.seq, 'number', side.seqSource)
    assert.ok(side.seq! > 0, side.seqSource)
    assert.match(side.seqSource, /^subscribeRepos cursor probe \(\d+ connections?\)$/)
    assert.ok((lying.upgrades.get('com.atproto.sync.subscribeRepos') ?? 0) > before, 'the probes went through the lying server')
  })

  test('an error frame full of escape sequences: its words are shown with the escapes made visible, the seq unknown', async () => {
    lying.clear()
    lying.webSocket('com.atproto.sync.subscribeRepos', (_req, ws) => {
      ws.send(frame({ op: -1 }, { error: `Bad${ESC}`, message: `no${ESC}` }))
      ws.close()
    })
    const side = await pdsSide('error frame')
    assert.equal(side.seq, null)
    assert.match(side.seqSource, /^subscribeRepos cursor probe failed: the firehose answered Bad.*pwned/)
  })

  test('a frame that announces a terabyte and sends a few bytes: pdsctl neither waits for it nor allocates it', async () => {
    lying.clear()
    lying.webSocket('com.atproto.sync.subscribeRepos', (_req, ws) => {
      ws.raw(Buffer.concat([frameHeader(2, 2 ** 40), Buffer.from([0xa1, 0x62])]))
    })
    const t0 = Date.now()
    const side = await pdsSide('a terabyte announced')
    assert.equal(side.seq, null, side.seqSource)
    assert.match(side.seqSource, /the server sent a message of \d+ bytes, more than the 8388608 pdsctl reads/)
    assert.ok(Date.now() - t0 < 50_000, 'ended within the deadlines')
  })

  test('CBOR nested 100,000 deep, a text frame, a truncated map: "unreadable", no crash, no stack trace', async () => {
    for (const [label, send] of [
      ['nested', (ws: HostileSocket) => ws.send(Buffer.concat([cbor({ op: 1, t: '#commit' }), Buffer.alloc(100_000, 0x81), Buffer.from([0xa0])]))],
      ['text frame', (ws: HostileSocket) => ws.send(`{"op":1}${ESC}`, 1)],
      ['truncated', (ws: HostileSocket) => ws.send(Buffer.concat([cbor({ op: 1, t: '#commit' }), Buffer.from([0xa3, 0x63, 0x73, 0x65])]))],
    ] as const) {
      lying.clear()
      lying.webSocket('com.atproto.sync.subscribeRepos', (_req, ws) => send(ws))
      const side = await pdsSide(label)
      assert.equal(side.seq, null, `${label}: ${side.seqSource}`)
      assert.match(side.seqSource, /^subscribeRepos cursor probe failed: /, label)
    }
  })

  test('stale events without end: the probe gives up within its deadline', async () => {
    lying.clear()
    lying.webSocket('com.atproto.sync.subscribeRepos', (req, ws) => {
      const cursor = Number(req.query.get('cursor') ?? 0)
      const timer = setInterval(() => ws.send(frame({ op: 1, t: '#identity' }, { seq: Math.max(0, cursor - 1), did: `did:plc:${ESC}` })), 5)
      ws.onGone(() => clearInterval(timer))
    })
    const t0 = Date.now()
    const json = await status(true)
    assert.equal(json.code, 0, json.stderr)
    clean('stale events', json)
    assert.ok(Date.now() - t0 < 45_000, `ended after ${Date.now() - t0} ms`)
  })

  test("doctor's firehose check: an error frame's escapes are made visible in its line", async () => {
    lying.clear()
    lying.webSocket('com.atproto.sync.subscribeRepos', (_req, ws) => {
      ws.send(frame({ op: -1 }, { error: `Bad${ESC}`, message: `no${ESC}` }))
    })
    for (const json of [false, true]) {
      const r = await runCli(['doctor', '--no-relays', '--public-url', lying.url, ...(json ? ['--json'] : [])], { env: { ...env(), PDS_HOSTNAME: 'pds.example.com' }, timeoutMs: 60_000 })
      assert.ok([0, 6].includes(r.code ?? -1), r.stderr)
      clean(`doctor${json ? ' --json' : ''}`, r)
      assert.match(r.stdout, /firehose/)
    }
  })
})
