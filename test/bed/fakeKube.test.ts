// The fake Kubernetes API server itself: its REST answers, its upgrade handling, the SPDY
// subset on the wire (with a small hand-written SPDY client), and then the real kubectl
// against it, since kubectl is what it must satisfy.
import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { startFakeKube, startLoopbackBackend, patternBytes, type FakeKube, type FakeKubeOptions, type LoopbackBackend } from './fakeKube.js'
import { controlFrame, dataFrame, frameReader, headerDecoder, FLAG_FIN, GOAWAY, PING, SYN_REPLY, SYN_STREAM } from './spdy.js'
import { SPDY3_DICTIONARY } from './spdyDictionary.js'
import { kubectlsUsing, reapKubectls } from '../helpers/processes.js'

const PF_PATH = '/api/v1/namespaces/bluesky/pods/bluesky-0/portforward'

describe('the fake Kubernetes API server', () => {
  let backend: LoopbackBackend
  const fakes: FakeKube[] = []
  const fake = async (opts: Partial<FakeKubeOptions> = {}) => {
    const k = await startFakeKube({ backendPort: backend.port, ...opts })
    fakes.push(k)
    return k
  }
  before(async () => {
    backend = await startLoopbackBackend()
  })
  afterEach(async () => {
    const left: number[] = []
    for (const k of fakes.splice(0)) {
      left.push(...(await reapKubectls(k.cacheDir)))
      await k.close()
    }
    assert.deepEqual(left, [], 'no kubectl survives the test')
  })
  after(() => backend.close())

  test('REST: pinned /version, legacy discovery with the svc short name, the objects kubectl needs, 404 Status', async () => {
    const k = await fake({ secrets: { pds: { adminPassword: 'pw' } } })
    const get = async (p: string) => {
      const res = await fetch(`${k.url}${p}`)
      return { status: res.status, body: (await res.json()) as any }
    }
    assert.equal((await get('/version?timeout=5s')).body.minor, '32')
    assert.deepEqual((await get('/api')).body.versions, ['v1'])
    assert.deepEqual((await get('/apis')).body.groups.map((g: any) => g.preferredVersion.groupVersion), ['apps/v1'])
    const resources = (await get('/api/v1')).body.resources as Array<{ name: string; shortNames?: string[] }>
    assert.deepEqual(resources.find((r) => r.name === 'services')?.shortNames, ['svc'])
    assert.ok(['pods', 'secrets', 'namespaces'].every((n) => resources.some((r) => r.name === n)))

    const svc = (await get('/api/v1/namespaces/bluesky/services/bluesky')).body
    assert.deepEqual([svc.kind, svc.apiVersion, svc.metadata.namespace], ['Service', 'v1', 'bluesky'])
    assert.deepEqual(svc.spec.selector, { app: 'bluesky' })
    assert.deepEqual([svc.spec.ports[0].port, svc.spec.ports[0].targetPort], [3000, 3000])
    const list = (await get('/api/v1/namespaces/bluesky/pods?labelSelector=app%3Dbluesky')).body
    assert.equal(list.metadata.resourceVersion, '100')
    assert.deepEqual(list.items.map((p: any) => [p.metadata.name, p.status.phase]), [['bluesky-0', 'Running']])
    k.setPodPhase('Pending')
    assert.equal((await get('/api/v1/namespaces/bluesky/pods/bluesky-0')).body.status.phase, 'Pending')
    assert.equal((await get('/api/v1/namespaces/bluesky')).body.kind, 'Namespace')
    assert.deepEqual((await get('/api/v1/namespaces/bluesky/secrets/pds')).body.data, { adminPassword: Buffer.from('pw').toString('base64') })

    const notFound = [
      ['/api/v1/namespaces/bluesky/services/nosvc', 'services "nosvc" not found'],
      ['/api/v1/namespaces/otherns/services/bluesky', 'namespaces "otherns" not found'],
      ['/api/v1/namespaces/otherns', 'namespaces "otherns" not found'],
      ['/api/v1/namespaces/bluesky/secrets/nope', 'secrets "nope" not found'],
      ['/api/v1/namespaces/bluesky/pods/nopod', 'pods "nopod" not found'],
      ['/apis/batch/v1', 'the server could not find the requested resource'],
    ]
    for (const [p, message] of notFound) {
      const res = await get(p)
      assert.equal(res.status, 404, p)
      assert.deepEqual([res.body.kind, res.body.reason, res.body.code, res.body.message], ['Status', 'NotFound', 404, message], p)
    }
    assert.ok(k.requests.some((r) => r.method === 'GET' && r.path === '/version?timeout=5s'), 'requests are logged with their query')
  })

  test('workloads: apps/v1 discovery, a patched template rolls out (new ReplicaSet revision, pod Pending → Running, old pod gone) and is seen by a watch; a JSON patch back reuses the old ReplicaSet', async () => {
    const k = await fake({ image: 'pds:1', startDelayMs: 100 })
    const get = async (p: string) => (await (await fetch(`${k.url}${p}`)).json()) as any
    const apps = await get('/apis/apps/v1')
    assert.deepEqual(apps.resources.filter((r: any) => r.shortNames).map((r: any) => [r.name, r.shortNames]), [['deployments', ['deploy']], ['replicasets', ['rs']]])
    const core = (await get('/api/v1')).resources.map((r: any) => r.name)
    assert.ok(core.includes('persistentvolumeclaims') && core.includes('events'))
    const d0 = await get('/apis/apps/v1/namespaces/bluesky/deployments/bluesky')
    assert.deepEqual([d0.kind, d0.metadata.annotations['deployment.kubernetes.io/revision'], d0.spec.template.spec.containers[0].image, d0.status.availableReplicas], ['Deployment', '1', 'pds:1', 1])

    const watch = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${k.url}/apis/apps/v1/namespaces/bluesky/deployments?fieldSelector=metadata.name%3Dbluesky&resourceVersion=${d0.metadata.resourceVersion}&watch=true`, resolve).on('error', reject)
    })
    let seen = ''
    watch.setEncoding('utf8').on('data', (d: string) => (seen += d))
    const patch = (type: string, body: unknown) => fetch(`${k.url}/apis/apps/v1/namespaces/bluesky/deployments/bluesky`, { method: 'PATCH', headers: { 'content-type': type }, body: JSON.stringify(body) })
    const res = await patch('application/strategic-merge-patch+json', { spec: { template: { spec: { $setElementOrder: [{ name: 'pds' }], containers: [{ name: 'pds', image: 'pds:2' }] } } } })
    assert.equal(res.status, 200)
    const during = await get('/api/v1/namespaces/bluesky/pods?labelSelector=app%3Dbluesky')
    assert.deepEqual(during.items.map((p: any) => [p.spec.containers[0].image, p.status.phase]).sort(), [['pds:1', 'Running'], ['pds:2', 'Pending']])
    await sleep(250)
    const after = await get('/api/v1/namespaces/bluesky/pods')
    assert.deepEqual(after.items.map((p: any) => [p.spec.containers[0].image, p.status.phase, p.status.containerStatuses[0].ready]), [['pds:2', 'Running', true]])
    const rs = (await get('/apis/apps/v1/namespaces/bluesky/replicasets?labelSelector=app%3Dbluesky')).items
    assert.deepEqual(rs.map((r: any) => [r.metadata.annotations['deployment.kubernetes.io/revision'], r.spec.replicas, r.metadata.ownerReferences[0].uid]), [['1', 0, d0.metadata.uid], ['2', 1, d0.metadata.uid]])
    const events = seen.trim().split('\n').map((l) => JSON.parse(l))
    assert.ok(events.length >= 2 && events.every((e) => e.type === 'MODIFIED'))
    assert.equal(events.at(-1).object.status.updatedReplicas, 1)

    // kubectl rollout undo's patch: the old template back (with creationTimestamp: null).
    const old = rs[0].spec.template
    delete old.metadata.labels['pod-template-hash']
    old.metadata.creationTimestamp = null
    assert.equal((await patch('application/json-patch+json', [{ op: 'replace', path: '/spec/template', value: old }])).status, 200)
    await sleep(250)
    assert.deepEqual(k.state().replicaSets.map((r) => [r.image, r.revision, r.replicas]), [['pds:1', 3, 1], ['pds:2', 2, 0]])
    assert.equal((await patch('application/apply-patch+yaml', {})).status, 415)
  })

  test('crash-looping pods, PVC Pending and Warning events by fieldSelector', async () => {
    const k = await fake({ initialScenario: 'crash', pvcPhase: 'Pending' })
    const get = async (p: string) => (await (await fetch(`${k.url}${p}`)).json()) as any
    const pod = await get('/api/v1/namespaces/bluesky/pods/bluesky-0')
    const c = pod.status.containerStatuses[0]
    assert.deepEqual([pod.status.phase, c.ready, c.restartCount, c.state.waiting.reason, c.lastState.terminated.exitCode], ['Running', false, 4, 'CrashLoopBackOff', 1])
    const pvc = await get('/api/v1/namespaces/bluesky/persistentvolumeclaims/bluesky-data')
    assert.deepEqual([pvc.status.phase, pvc.spec.storageClassName], ['Pending', 'longhorn'])
    const warnings = await get('/api/v1/namespaces/bluesky/events?fieldSelector=type%3DWarning')
    assert.deepEqual(warnings.items.map((e: any) => e.reason).sort(), ['BackOff', 'ProvisioningFailed'])
    assert.deepEqual((await get('/api/v1/namespaces/bluesky/events?fieldSelector=type%3DNormal')).items, [])
  })

  test('no pods: an empty list and a watch held open until close()', async () => {
    const k = await fake({ noPods: true })
    assert.deepEqual(((await (await fetch(`${k.url}/api/v1/namespaces/bluesky/pods`)).json()) as any).items, [])
    const watch = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.get(`${k.url}/api/v1/namespaces/bluesky/pods?watch=true&resourceVersion=100`, resolve)
      req.on('error', reject)
    })
    assert.equal(watch.statusCode, 200)
    let ended = false
    watch.on('close', () => (ended = true))
    watch.resume()
    await sleep(300)
    assert.equal(ended, false, 'the watch stays open')
    await k.close()
    await sleep(50)
    assert.equal(ended, true, 'close() ends it')
  })

  test('upgrades: the WebSocket attempt gets 400, SPDY gets 101 with the protocol header, forbidUpgrade gets a 403 Status', async () => {
    const k = await fake()
    const ws = await rawUpgrade(k, 'GET', 'websocket')
    assert.match(ws.head, /^HTTP\/1\.1 400 /)
    ws.socket.destroy()
    const spdy = await rawUpgrade(k, 'POST', 'SPDY/3.1')
    assert.match(spdy.head, /^HTTP\/1\.1 101 /)
    assert.match(spdy.head, /\r\nX-Stream-Protocol-Version: portforward\.k8s\.io\r\n/)
    spdy.socket.destroy()

    const no = await fake({ forbidUpgrade: true })
    const forbidden = await rawUpgrade(no, 'POST', 'SPDY/3.1')
    assert.match(forbidden.head, /^HTTP\/1\.1 403 /)
    const body = JSON.parse(forbidden.rest.toString())
    assert.deepEqual([body.kind, body.reason, body.code], ['Status', 'Forbidden', 403])
    assert.match(body.message, /^pods "bluesky-0" is forbidden/)
    assert.deepEqual(no.requests.map((r) => r.upgrade), ['SPDY/3.1'])
  })

  test('SPDY on the wire: PING echoed, one zlib stream across SYN_STREAMs, data piped, error stream FINed with the data stream', async () => {
    const k = await fake()
    const c = await spdyClient(k)
    try {
      const ping = Buffer.from([0, 0, 0, 7])
      c.send(controlFrame(PING, 0, ping))
      const pong = await c.next((f) => f.control && f.type === PING)
      assert.ok(pong.payload.equals(ping))

      // requestid 0: a request whose answer ends with the backend closing (HTTP/1.0).
      const first = await c.openPair(1, '0')
      c.send(dataFrame(first.dataId, Buffer.from('GET /hello HTTP/1.0\r\n\r\n'), true))
      const answer = await c.readStream(first.dataId)
      assert.match(answer.toString(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\{"hello":"from the backend","path":"\/hello"\}$/)
      assert.equal((await c.readStream(first.errorId)).length, 0, 'the error stream ends, empty, with the data stream')

      // requestid 1: the header block only decodes if the server kept the zlib stream going.
      k.setForwardError('error forwarding port 3000 to pod bluesky-0: connection refused', { once: true })
      const failed = await c.openPair(5, '1')
      assert.equal((await c.readStream(failed.errorId)).toString(), 'error forwarding port 3000 to pod bluesky-0: connection refused')
      assert.equal((await c.readStream(failed.dataId)).length, 0)

      // requestid 2: `once` means the next connection works again; a large body both ways.
      const big = patternBytes(200_000)
      const third = await c.openPair(9, '2')
      c.send(dataFrame(third.dataId, Buffer.from(`POST /echo HTTP/1.0\r\ncontent-length: ${big.length}\r\n\r\n`)))
      for (let off = 0; off < big.length; off += 32 * 1024) c.send(dataFrame(third.dataId, big.subarray(off, off + 32 * 1024), off + 32 * 1024 >= big.length))
      const echoed = await c.readStream(third.dataId)
      assert.ok(echoed.subarray(echoed.indexOf('\r\n\r\n') + 4).equals(big))

      // Every SYN_REPLY carried a valid (empty) header block of one zlib stream.
      const decode = headerDecoder()
      const replies = c.frames.filter((f) => f.control && f.type === SYN_REPLY)
      assert.deepEqual(replies.map((f) => f.payload.readUInt32BE(0)), [1, 3, 5, 7, 9, 11])
      for (const r of replies) assert.deepEqual(decode(r.payload.subarray(4)), {})
      assert.equal(k.forwardSessions, 1)
      c.send(controlFrame(GOAWAY, 0, Buffer.alloc(8)))
      await c.closed
    } finally {
      c.socket.destroy()
    }
  })

  test('the real kubectl: the kubeconfig context namespace, objects, setPodPhase', async () => {
    const k = await fake()
    const kubectl = (...args: string[]) => run('kubectl', args, k.env)
    assert.equal(await kubectl('get', 'pod', 'bluesky-0', '-o', 'jsonpath={.status.phase}'), 'Running')
    k.setPodPhase('Pending')
    assert.equal(await kubectl('get', 'pod', 'bluesky-0', '-o', 'jsonpath={.status.phase}'), 'Pending')
    assert.equal(await kubectl('get', 'svc', 'bluesky', '-o', 'jsonpath={.spec.ports[0].targetPort}'), '3000')
    await assert.rejects(kubectl('get', 'svc', 'nosvc'), /Error from server \(NotFound\): services "nosvc" not found/)
  })

  test('the real kubectl: port-forward with read-until-EOF clients and 4 MB down, then dropConnections() ends it', async () => {
    const k = await fake()
    const pf = await kubectlForward(k)
    try {
      // An HTTP/1.0 client reads to EOF: that EOF needs the error stream FINed too.
      const replies = await Promise.all(Array.from({ length: 4 }, () => readToEof(pf.port, 'GET /hello HTTP/1.0\r\n\r\n')))
      for (const r of replies) assert.match(r.toString(), /"hello":"from the backend"/)
      const big = await readToEof(pf.port, 'GET /bytes?n=4000000 HTTP/1.0\r\n\r\n')
      assert.ok(big.subarray(big.indexOf('\r\n\r\n') + 4).equals(patternBytes(4_000_000)))
      assert.equal(k.forwardSessions, 1)

      k.dropConnections()
      const exit = await pf.exit
      assert.equal(exit.code, 1)
      assert.match(exit.stderr, /error: lost connection to pod/)
    } finally {
      pf.child.kill('SIGKILL')
    }
  })

  test('tls: a self-signed certificate and a kubeconfig that skips verification and carries the token', async () => {
    const k = await fake({ tls: true })
    assert.match(k.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    const kubeconfig = readFileSync(k.kubeconfigPath, 'utf8')
    assert.match(kubeconfig, /insecure-skip-tls-verify: true/)
    assert.match(kubeconfig, /token: test-token/)
    assert.match(kubeconfig, /current-context: fake/)
    const version = await new Promise<string>((resolve, reject) => {
      https.get(`${k.url}/version`, { rejectUnauthorized: false, headers: { authorization: 'Bearer x' } }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve(body))
      }).on('error', reject)
    })
    assert.equal(JSON.parse(version).minor, '32')
    assert.equal(k.requests.at(-1)?.authorization, 'Bearer x')
    assert.deepEqual(Object.keys(k.env).sort(), ['KUBECACHEDIR', 'KUBECONFIG', 'NO_PROXY'])
  })

  test('close(): the port is released, live forwards end, the temp dir is removed', async () => {
    const k = await fake()
    const pf = await kubectlForward(k)
    await k.close()
    assert.equal((await pf.exit).code, 1, 'kubectl loses its connection')
    await assert.rejects(fetch(`${k.url}/version`))
    assert.equal(existsSync(k.kubeconfigPath), false)
    await k.close() // twice is fine
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  return promisify(execFile)(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }).then(
    (r) => r.stdout,
    (e: { stderr?: string; message: string }) => Promise.reject(new Error(e.stderr || e.message)),
  )
}

/** kubectl port-forward run directly (not through pdsctl's helper), up once it prints the line. */
async function kubectlForward(k: FakeKube) {
  const child = spawn('kubectl', ['port-forward', '--address', '127.0.0.1', '-n', 'bluesky', 'svc/bluesky', ':3000'], {
    env: { PATH: process.env.PATH ?? '', ...k.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
  const exit = new Promise<{ code: number | null; stderr: string }>((r) => child.once('close', (code) => r({ code, stderr })))
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d
      const m = /^Forwarding from 127\.0\.0\.1:(\d+) -> 3000$/m.exec(out)
      if (m) resolve(Number(m[1]))
    })
    void exit.then(() => reject(new Error(`kubectl exited before forwarding: ${stderr}`)))
  })
  assert.equal(kubectlsUsing(k.cacheDir).length, 1)
  return { child, port, exit }
}

function readToEof(port: number, request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const s = net.connect(port, '127.0.0.1', () => s.write(request))
    s.setTimeout(10_000, () => s.destroy(new Error('no EOF within 10 s')))
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('end', () => resolve(Buffer.concat(chunks)))
    s.on('error', reject)
  })
}

async function rawUpgrade(k: FakeKube, method: string, upgrade: string): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  const url = new URL(k.url)
  const socket = net.connect(Number(url.port), '127.0.0.1')
  const extra = upgrade === 'websocket' ? 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n' : 'X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n'
  socket.write(`${method} ${PF_PATH} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n${extra}\r\n`)
  let buf = Buffer.alloc(0)
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = buf.subarray(0, end + 4).toString()
      const length = /content-length: (\d+)/i.exec(head)
      const rest = buf.subarray(end + 4)
      if (length && rest.length < Number(length[1])) return
      socket.off('data', onData)
      resolve({ socket, head, rest })
    }
    socket.on('data', onData)
    socket.on('error', reject)
  })
}

interface Frame {
  control: boolean
  type: number
  streamId: number
  flags: number
  payload: Buffer
}

/** A minimal SPDY/3.1 client, shaped like kubectl's: zlib-compressed headers with the dictionary. */
async function spdyClient(k: FakeKube) {
  const { socket, rest } = await rawUpgrade(k, 'POST', 'SPDY/3.1')
  const frames: Frame[] = []
  const waiters: Array<() => void> = []
  const read = frameReader((head, payload) => {
    const control = (head[0] & 0x80) !== 0
    frames.push({ control, type: control ? head.readUInt16BE(2) : 0, streamId: control ? 0 : head.readUInt32BE(0) & 0x7fffffff, flags: head[4], payload })
    for (const w of waiters.splice(0)) w()
  })
  socket.on('data', read)
  if (rest.length) read(rest)
  const closed = new Promise<void>((r) => socket.once('close', () => r()))
  const deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY })
  const encodeHeaders = (headers: Record<string, string>) =>
    new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [u32(Object.keys(headers).length)]
      for (const [n, v] of Object.entries(headers)) parts.push(u32(n.length), Buffer.from(n), u32(v.length), Buffer.from(v))
      deflate.write(Buffer.concat(parts))
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out: Buffer[] = []
        for (let c: Buffer | null; (c = deflate.read() as Buffer | null) !== null; ) out.push(c)
        resolve(Buffer.concat(out))
      })
    })
  const next = async (pred: (f: Frame) => boolean, from = 0): Promise<Frame> => {
    const deadline = Date.now() + 10_000
    for (;;) {
      const f = frames.slice(from).find(pred)
      if (f) return f
      if (Date.now() > deadline || socket.destroyed) throw new Error('no such frame arrived')
      await new Promise<void>((r) => {
        waiters.push(r)
        setTimeout(r, 200)
      })
    }
  }
  const send = (b: Buffer) => socket.write(b)
  const synStream = async (streamId: number, headers: Record<string, string>) => {
    const block = await encodeHeaders(headers)
    send(controlFrame(SYN_STREAM, 0, Buffer.concat([u32(streamId), u32(0), Buffer.from([0, 0]), block])))
    await next((f) => f.control && f.type === SYN_REPLY && f.payload.readUInt32BE(0) === streamId)
  }
  return {
    socket,
    frames,
    closed,
    send,
    next,
    /** As kubectl does: the error stream, its half-close, then the data stream. */
    async openPair(errorId: number, requestId: string) {
      await synStream(errorId, { streamtype: 'error', port: '3000', requestid: requestId })
      send(dataFrame(errorId, Buffer.alloc(0), true))
      await synStream(errorId + 2, { streamtype: 'data', port: '3000', requestid: requestId })
      return { errorId, dataId: errorId + 2 }
    },
    /** Everything the server sent on a stream, once it FINs it. */
    async readStream(streamId: number): Promise<Buffer> {
      await next((f) => !f.control && f.streamId === streamId && (f.flags & FLAG_FIN) !== 0)
      return Buffer.concat(frames.filter((f) => !f.control && f.streamId === streamId).map((f) => f.payload))
    },
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n, 0)
  return b
}

