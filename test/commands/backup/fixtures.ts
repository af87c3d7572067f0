// Accounts with real content for the backup tests: posts with images, made through each
// account's own session (uploadBlob + createRecord), as an app would.
import { randomBytes } from 'node:crypto'
import type { SeededAccount } from '../../bed/pds.js'

export async function session(url: string, acct: { handle: string; password: string }): Promise<{ did: string; accessJwt: string }> {
  const res = await fetch(`${url}/xrpc/com.atproto.server.createSession`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ identifier: acct.handle, password: acct.password }),
  })
  const json: any = await res.json()
  if (!res.ok) throw new Error(`createSession: ${res.status} ${json.error} ${json.message}`)
  return json
}

export async function uploadBlob(url: string, jwt: string, bytes: Buffer, mimeType = 'image/png'): Promise<any> {
  const res = await fetch(`${url}/xrpc/com.atproto.repo.uploadBlob`, {
    method: 'POST',
    headers: { 'content-type': mimeType, authorization: `Bearer ${jwt}` },
    body: bytes,
  })
  const json: any = await res.json()
  if (!res.ok) throw new Error(`uploadBlob: ${res.status} ${json.error} ${json.message}`)
  return json.blob
}

export async function createPost(url: string, s: { did: string; accessJwt: string }, text: string, blob?: any): Promise<{ uri: string; cid: string }> {
  const record: any = { $type: 'app.bsky.feed.post', text, createdAt: new Date().toISOString() }
  if (blob) record.embed = { $type: 'app.bsky.embed.images', images: [{ alt: text, image: blob }] }
  const res = await fetch(`${url}/xrpc/com.atproto.repo.createRecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessJwt}` },
    body: JSON.stringify({ repo: s.did, collection: 'app.bsky.feed.post', record }),
  })
  const json: any = await res.json()
  if (!res.ok) throw new Error(`createRecord: ${res.status} ${json.error} ${json.message}`)
  return json
}

/** Random bytes behind a PNG signature: the PDS sniffs the type, it does not decode images. */
export function fakeImage(size: number): Buffer {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([sig, randomBytes(size - sig.length)])
}

/** `posts` posts per account, `images` of them with an image each. Returns the blob CIDs per DID. */
export async function fillAccounts(url: string, accounts: SeededAccount[], posts: number, images: number): Promise<Map<string, string[]>> {
  const blobs = new Map<string, string[]>()
  for (const a of accounts) {
    const s = await session(url, a)
    const cids: string[] = []
    for (let i = 0; i < posts; i++) {
      let blob
      if (i < images) {
        blob = await uploadBlob(url, s.accessJwt, fakeImage(2000 + i * 100))
        cids.push(blob.ref.$link)
      }
      await createPost(url, s, `post ${i} of ${a.handle}`, blob)
    }
    blobs.set(a.did, cids)
  }
  return blobs
}

/**
 * A slow link in front of the PDS: every getBlob answer is held `delayMs`, so that a kill
 * lands mid-run. Counts the getBlob requests it let through. Errors from a client killed
 * mid-request are swallowed (that is the point of the tests that use it).
 */
export async function startSlowLink(upstream: string, delayMs: number): Promise<{ url: string; blobRequests: () => number; close(): Promise<void> }> {
  const http = await import('node:http')
  let blobs = 0
  const server = http.createServer((req, res) => {
    const isBlob = req.url?.startsWith('/xrpc/com.atproto.sync.getBlob') ?? false
    if (isBlob) blobs++
    req.on('error', () => {})
    res.on('error', () => {})
    setTimeout(() => {
      const up = http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers)
        upRes.on('error', () => res.destroy())
        upRes.pipe(res)
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    }, isBlob ? delayMs : 0)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    blobRequests: () => blobs,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}
