// A relay stand-in on loopback: records every request (method, path, headers, body) and
// answers requestCrawl and getHostStatus as a relay would.
import { json, startRecorder, type Recorder } from '../helpers/recorder.js'

export async function startRelay(opts: { knownHosts?: Record<string, { status: string; accountCount: number }> } = {}): Promise<Recorder> {
  return startRecorder((req, res) => {
    const url = new URL(req.url, 'http://x')
    if (req.method === 'POST' && url.pathname === '/xrpc/com.atproto.sync.requestCrawl') {
      const body = JSON.parse(req.body || '{}') as { hostname?: string }
      if (!body.hostname) return json(res, 400, { error: 'InvalidRequest', message: 'hostname required' })
      res.writeHead(200).end()
      return
    }
    if (req.method === 'GET' && url.pathname === '/xrpc/com.atproto.sync.getHostStatus') {
      const hostname = url.searchParams.get('hostname') ?? ''
      const known = opts.knownHosts?.[hostname]
      if (!known) return json(res, 400, { error: 'HostNotFound', message: `host not found: ${hostname}` })
      return json(res, 200, { hostname, status: known.status, accountCount: known.accountCount, seq: 42 })
    }
    json(res, 404, { error: 'XRPCNotSupported', message: 'not supported' })
  })
}
