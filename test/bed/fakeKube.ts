// A fake Kubernetes API server that the real kubectl can drive: legacy discovery, a
// Service, its Pod, Secrets, and port-forward (the WebSocket attempt refused with 400 so
// kubectl falls back to SPDY/3.1, whose data streams are piped to a backend port — the
// test PDS). Facts: ../shared/notes/kubectl-port-forward.md.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { serveSpdy } from './spdy.js'

export interface FakeKubeOptions {
  backendPort: number
  namespace?: string
  service?: string
  pod?: string
  podPhase?: 'Running' | 'Pending'
  /** The Service selects no pod: the list is empty and the watch is held open. */
  noPods?: boolean
  /** https with a self-signed certificate and a bearer token in the kubeconfig. */
  tls?: boolean
  /** Answer the SPDY upgrade with 403 Forbidden. */
  forbidUpgrade?: boolean
  /** Secrets: name → {key: plaintext}; served base64-encoded. */
  secrets?: Record<string, Record<string, string>>
}

export interface FakeKube {
  url: string
  kubeconfigPath: string
  cacheDir: string
  /** Environment for child processes: KUBECONFIG, KUBECACHEDIR, NO_PROXY. */
  env: Record<string, string>
  requests: Array<{ method: string; path: string; authorization?: string }>
  setPodPhase(phase: 'Running' | 'Pending'): void
  /**
   * Forwarded connections fail as a kubelet's do (kubectl then exits 1 with "lost
   * connection to pod"): every one from now on, or with `once` only the next.
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
  let phase = opts.podPhase ?? 'Running'
  let forwardError: string | null = null
  let forwardErrorOnce = false
  const dir = mkdtempSync(path.join(tmpdir(), 'fakekube-'))
  const requests: FakeKube['requests'] = []
  const sessions = new Set<net.Socket>()
  const held = new Set<http.ServerResponse>()

  const pod = () => ({
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: podName, namespace: ns, labels: { app: svc }, uid: 'fake-uid' },
    spec: { nodeName: 'node-1', containers: [{ name: 'pds', ports: [{ name: 'http', containerPort: 3000 }] }] },
    status: { phase },
  })
  const status = (res: http.ServerResponse, code: number, reason: string, message: string) =>
    send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code })

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization })
    const p = url.pathname
    const nsPrefix = `/api/v1/namespaces/${ns}`
    if (p === '/version') return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' })
    if (p === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] })
    if (p === '/apis') return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] })
    if (p === '/api/v1') {
      const r = (name: string, kind: string, namespaced = true, shortNames?: string[]) => ({ name, singularName: '', namespaced, kind, verbs: ['get', 'list', 'watch'], ...(shortNames ? { shortNames } : {}) })
      return send(res, 200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [r('namespaces', 'Namespace', false, ['ns']), r('pods', 'Pod', true, ['po']), r('pods/portforward', 'PodPortForwardOptions'), r('services', 'Service', true, ['svc']), r('secrets', 'Secret')],
      })
    }
    const nsMatch = /^\/api\/v1\/namespaces\/([^/]+)(\/.*)?$/.exec(p)
    if (nsMatch && nsMatch[1] !== ns) return status(res, 404, 'NotFound', `namespaces "${nsMatch[1]}" not found`)
    if (p === nsPrefix) return send(res, 200, { kind: 'Namespace', apiVersion: 'v1', metadata: { name: ns }, status: { phase: 'Active' } })
    if (p.startsWith(`${nsPrefix}/services/`)) {
      const name = p.slice(`${nsPrefix}/services/`.length)
      if (name !== svc) return status(res, 404, 'NotFound', `services "${name}" not found`)
      return send(res, 200, {
        kind: 'Service',
        apiVersion: 'v1',
        metadata: { name: svc, namespace: ns },
        spec: { selector: { app: svc }, ports: [{ name: 'http', port: 3000, targetPort: 3000, protocol: 'TCP' }], clusterIP: '10.0.0.10' },
      })
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
    if (p === `${nsPrefix}/pods/${podName}`) return send(res, 200, pod())
    if (p.startsWith(`${nsPrefix}/secrets/`)) {
      const name = p.slice(`${nsPrefix}/secrets/`.length)
      const secret = opts.secrets?.[name]
      if (!secret) return status(res, 404, 'NotFound', `secrets "${name}" not found`)
      const data = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
      return send(res, 200, { kind: 'Secret', apiVersion: 'v1', metadata: { name, namespace: ns }, type: 'Opaque', data })
    }
    if (p === `${nsPrefix}/pods/${podName}/portforward`) return status(res, 400, 'BadRequest', 'upgrade required')
    return status(res, 404, 'NotFound', 'the server could not find the requested resource')
  }

  let server: http.Server
  let certPem = ''
  if (opts.tls) {
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' })
    certPem = readFileSync(cert, 'utf8')
    server = https.createServer({ key: readFileSync(key), cert: certPem }, handler)
  } else {
    server = http.createServer(handler)
  }
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization })
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase()
    if (!req.url?.startsWith(`/api/v1/namespaces/${ns}/pods/${podName}/portforward`) || upgrade === 'websocket') {
      // Refusing the WebSocket tunnel makes kubectl fall back to plain SPDY.
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      return
    }
    if (opts.forbidUpgrade) {
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: `pods "${podName}" is forbidden: User "test" cannot create resource "pods/portforward" in the namespace "${ns}"` })
      socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
      return
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n')
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
      '    token: test-token',
      'contexts:',
      '- name: fake',
      `  context: {cluster: fake, user: fake, namespace: ${ns}}`,
      'current-context: fake',
      '',
    ].join('\n'),
  )
  const cacheDir = path.join(dir, 'cache')
  return {
    url,
    kubeconfigPath,
    cacheDir,
    env: { KUBECONFIG: kubeconfigPath, KUBECACHEDIR: cacheDir, NO_PROXY: '127.0.0.1,localhost' },
    requests,
    setPodPhase: (p) => (phase = p),
    setForwardError: (m, o) => {
      forwardError = m
      forwardErrorOnce = o?.once ?? false
    },
    dropConnections: () => {
      for (const s of sessions) s.destroy()
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy()
        for (const h of held) h.destroy()
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

function send(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
