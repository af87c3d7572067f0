// A loopback HTTP server that records every request and answers from a handler. For the
// wire-level facts a real PDS will not show on demand (a proxy's 502 page, a reset
// connection) and for asserting exactly what pdsctl sends.
import http from 'node:http'

export interface RecordedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

export type Handler = (req: RecordedRequest, res: http.ServerResponse, raw: http.IncomingMessage) => unknown

export interface Recorder {
  url: string
  port: number
  requests: RecordedRequest[]
  setHandler(h: Handler): void
  close(): Promise<void>
}

export async function startRecorder(handler: Handler = (_q, res) => json(res, 200, {})): Promise<Recorder> {
  let current = handler
  const requests: RecordedRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }
      requests.push(rec)
      try {
        await current(rec, res, req)
      } catch (err) {
        res.destroy(err as Error)
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setHandler: (h) => (current = h),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
