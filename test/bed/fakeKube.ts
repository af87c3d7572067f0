// A fake Kubernetes API server that the real kubectl can drive: legacy discovery, one
// Namespace, one Service and its Pod, Secrets, and port-forward (kubectl's WebSocket
// attempt refused with 400 so it falls back to SPDY/3.1, whose data streams are piped to a
// backend port, e.g. the test PDS). Facts: /work/shared/notes/kubectl-port-forward.md.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { serveSpdy } from './spdy.js'

export type PodPhase = 'Running' | 'Pending'

export interface FakeKubeOptions {
  /** The loopback port forwarded data streams connect to (the test PDS). */
  backendPort: number
  namespace?: string
  /** The Service's name (default 'bluesky'): port 3000 → targetPort 3000, selector app=NAME. */
  service?: string
  pod?: string
  podPhase?: PodPhase
  /** The Service selects no pod: the list is empty and the watch is held open. */
  noPods?: boolean
  /** https with a self-signed certificate; kubectl then sends the kubeconfig's bearer token. */
  tls?: boolean
  /** Answer the SPDY upgrade with 403 Forbidden. */
  forbidUpgrade?: boolean
  /** Secrets: name → {key: plaintext}; served base64-encoded. */
  secrets?: Record<string, Record<string, string>>
}

export interface FakeKubeRequest {
  method: string
  /** Path and query, as sent. */
  path: string
  authorization?: string
  /** The Upgrade header, on the port-forward requests. */
  upgrade?: string
}

export interface FakeKube {
  url: string
  kubeconfigPath: string
  /** KUBECACHEDIR for kubectl: unique to this fake, so tests also find their kubectl children by it. */
  cacheDir: string
  /** Environment for child processes: KUBECONFIG, KUBECACHEDIR, NO_PROXY. */
  env: Record<string, string>
  requests: FakeKubeRequest[]
  /** The SPDY port-forward sessions accepted so far. */
  readonly forwardSessions: number
  setPodPhase(phase: PodPhase): void
  /**
   * Forwarded connections fail as a kubelet's do (kubectl then exits 1 with "lost
   * connection to pod"): every one from now on, or with `once` only the next; null ends it.
   */
  setForwardError(message: string | null, opts?: { once?: boolean }): void
  /** Kill the live port-forward sessions (the pod restarting, the apiserver dropping). */
  dropConnections(): void
  close(): Promise<void>
}

export async function startFakeKube(opts: FakeKubeOptions): Promise<FakeKube> {
  const ns = opts.namespace ?? 'bluesky'
  const svc = opts.service ?? 'bluesky'
  const podName = opts.pod ?? 'bluesky-0'
  let phase: PodPhase = opts.podPhase ?? 'Running'
  let forwardError: string | null = null
  let forwardErrorOnce = false
  let forwardSessions = 0
  const dir = mkdtempSync(path.join(tmpdir(), 'fakekube-'))
  const requests: FakeKubeRequest[] = []
  const sessions = new Set<net.Socket>()
  const held = new Set<http.ServerResponse>()
  const nsPrefix = `/api/v1/namespaces/${ns}`
  const portForwardPath = `${nsPrefix}/pods/${podName}/portforward`

  const pod = () => ({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: podName, namespace: ns, labels: { app: svc }, uid: 'fake-uid', resourceVersion: '100' },
    spec: { nodeName: 'node-1', containers: [{ name: 'pds', ports: [{ name: 'http', containerPort: 3000 }] }] },
    status: { phase },
  })
  const service = () => ({
    kind: 'Service',
    apiVersion: 'v1',
    // metadata.namespace matters: kubectl lists the pods in the Service's namespace.
    metadata: { name: svc, namespace: ns },
    spec: { selector: { app: svc }, ports: [{ name: 'http', port: 3000, targetPort: 3000, protocol: 'TCP' }], clusterIP: '10.0.0.10' },
  })
  const apiResources = () => {
    const r = (name: string, kind: string, namespaced: boolean, shortNames?: string[]) => ({ name, singularName: '', namespaced, kind, verbs: ['get', 'list', 'watch'], ...(shortNames ? { shortNames } : {}) })
    // shortNames ["svc"] is what lets kubectl resolve `svc/NAME`.
    return [r('namespaces', 'Namespace', false, ['ns']), r('pods', 'Pod', true, ['po']), r('pods/portforward', 'PodPortForwardOptions', true), r('services', 'Service', true, ['svc']), r('secrets', 'Secret', true)]
  }
  const notFound = (res: http.ServerResponse, message: string) => status(res, 404, 'NotFound', message)

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization })
    const url = new URL(req.url ?? '/', 'http://x')
    const p = url.pathname
    // /version decides which kubectl the gcloud dispatcher runs: 32 pins its embedded 1.32.
    if (p === '/version') return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' })
    if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] })
    if (p === '/apis') return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] })
    if (p === '/api/v1') return send(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: apiResources() })
    const nsMatch = /^\/api\/v1\/namespaces\/([^/]+)(\/.*)?$/.exec(p)
    if (nsMatch && nsMatch[1] !== ns) return notFound(res, `namespaces "${nsMatch[1]}" not found`)
    if (p === nsPrefix) return send(res, 200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns }, status: { phase: 'Active' } })
    const named = /^\/api\/v1\/namespaces\/[^/]+\/(services|pods|secrets)\/([^/]+)$/.exec(p)
    if (named?.[1] === 'services') return named[2] === svc ? send(res, 200, service()) : notFound(res, `services "${named[2]}" not found`)
    if (named?.[1] === 'pods') return named[2] === podName && !opts.noPods ? send(res, 200, pod()) : notFound(res, `pods "${named[2]}" not found`)
    if (named?.[1] === 'secrets') {
      const secret = opts.secrets?.[named[2]]
      if (!secret) return notFound(res, `secrets "${named[2]}" not found`)
      const data = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
      return send(res, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: named[2], namespace: ns }, type: 'Opaque', data })
    }
    if (p === `${nsPrefix}/pods`) {
      if (url.searchParams.get('watch') === 'true') {
        // No pod will ever come: hold the watch open until kubectl gives up.
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
        res.flushHeaders()
        held.add(res)
        res.on('close', () => held.delete(res))
        return
      }
      return send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '100' }, items: opts.noPods ? [] : [pod()] })
    }
    // Reached only without an Upgrade header (upgrades go to the 'upgrade' event).
    if (p === portForwardPath) return status(res, 400, 'BadRequest', 'port-forward needs an upgrade to SPDY/3.1')
    return notFound(res, 'the server could not find the requested resource')
  }

  let server: http.Server
  if (opts.tls) {
    // A fresh self-signed pair per fake; EC keys are generated in milliseconds.
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, handler)
  } else {
    server = http.createServer(handler)
  }
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const upgrade = String(req.headers.upgrade ?? '')
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, upgrade })
    socket.on('error', () => socket.destroy())
    if (req.url !== portForwardPath || upgrade.toLowerCase() !== 'spdy/3.1') {
      // Refusing the WebSocket tunnel makes kubectl fall back to plain SPDY.
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    if (opts.forbidUpgrade) {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Forbidden', code: 403, message: `pods "${podName}" is forbidden: User "test" cannot create resource "pods/portforward" in API group "" in the namespace "${ns}"` })
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    // X-Stream-Protocol-Version is required: kubectl checks the negotiated protocol.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n')
    forwardSessions++
    sessions.add(socket)
    socket.on('close', () => sessions.delete(socket))
    serveSpdy(socket, {
      backendPort: opts.backendPort,
      takeForwardError: () => {
        const e = forwardError
        if (forwardErrorOnce) forwardError = null
        return e
      },
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`
  const kubeconfigPath = path.join(dir, 'kubeconfig')
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${url}`,
      ...(opts.tls ? ['    insecure-skip-tls-verify: true'] : []),
      'users:',
      '- name: fake',
      '  user:',
      // kubectl sends it only over https.
      '    token: test-token',
      'contexts:',
      '- name: fake',
      `  context: {cluster: fake, user: fake, namespace: ${ns}}`,
      'current-context: fake',
      '',
    ].join('\n'),
  )
  const cacheDir = path.join(dir, 'cache')
  let closed: Promise<void> | undefined
  return {
    url,
    kubeconfigPath,
    cacheDir,
    env: { KUBECONFIG: kubeconfigPath, KUBECACHEDIR: cacheDir, NO_PROXY: '127.0.0.1,localhost' },
    requests,
    get forwardSessions() {
      return forwardSessions
    },
    setPodPhase: (p) => {
      phase = p
    },
    setForwardError: (m, o) => {
      forwardError = m
      forwardErrorOnce = o?.once ?? false
    },
    dropConnections: () => {
      for (const s of sessions) s.destroy()
    },
    close: () =>
      (closed ??= new Promise<void>((r) => {
        for (const s of sessions) s.destroy()
        for (const h of held) h.destroy()
        server.closeAllConnections()
        server.close(() => {
          rmSync(dir, { recursive: true, force: true })
          r()
        })
      })),
  }
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** An error as the apiserver sends it; kubectl prints `Error from server (<reason>): <message>`. */
function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code })
}

export interface LoopbackBackend {
  port: number
  url: string
  /** TCP connections accepted so far (each forwarded local connection is one). */
  readonly connections: number
  close(): Promise<void>
}

/**
 * A plain HTTP server on loopback to forward to when the real PDS is not needed:
 * GET /hello → JSON; POST /echo → the body back; GET /bytes?n=N → N patterned bytes;
 * GET /barrier?n=K → answers once K such requests are open at the same time (proves
 * parallel connections); an HTTP/1.0 request gets its answer and then EOF.
 */
export async function startLoopbackBackend(): Promise<LoopbackBackend> {
  let connections = 0
  let waiting: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/hello') return send(res, 200, { hello: 'from the backend', path: url.pathname })
    if (url.pathname === '/echo') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
        res.end(body)
      })
      return
    }
    if (url.pathname === '/bytes') return void res.end(patternBytes(Number(url.searchParams.get('n'))))
    if (url.pathname === '/barrier') {
      waiting.push(res)
      if (waiting.length >= Number(url.searchParams.get('n'))) {
        const all = waiting
        waiting = []
        for (const r of all) send(r, 200, { together: all.length })
      }
      return
    }
    send(res, 404, { error: 'NotFound' })
  })
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** n bytes of a pattern that shifts every 251 bytes, so a dropped or repeated chunk shows. */
export function patternBytes(n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + Math.floor(i / 251)) & 0xff
  return b
}
