// The durable floor for `pdsctl backup DIR`: the same calls with node:http (listRepos;
// per account getAccountInfo, getRepo, listBlobs, getBlob), 8 accounts and 4 blobs of each
// in flight, and every body written to its own file in OUT, hashed (sha256) and fsynced, as
// a backup must be to survive a crash. Nothing else: no state, no manifest, no CAR parsing.
// Env: PDS_URL, PDS_ADMIN_PASSWORD, OUT.
const http = process.getBuiltinModule('node:http')
const fs = process.getBuiltinModule('node:fs')
const { createHash } = process.getBuiltinModule('node:crypto')
const path = process.getBuiltinModule('node:path')

const base = new URL(process.env.PDS_URL)
const out = process.env.OUT
const auth = 'Basic ' + Buffer.from(`admin:${process.env.PDS_ADMIN_PASSWORD}`).toString('base64')
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })

function get(p) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: p, method: 'GET', agent, headers: { authorization: auth, accept: '*/*' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume()
        reject(new Error(`HTTP ${res.statusCode} ${p}`))
      } else resolve(res)
    })
    req.on('error', reject)
    req.end()
  })
}
async function json(p) {
  const res = await get(p)
  const chunks = []
  for await (const c of res) chunks.push(c)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}
/** A body into a file: written as it arrives, hashed, fsynced. */
async function save(p, file) {
  const res = await get(p)
  const fh = await fs.promises.open(file, 'w', 0o600)
  const hash = createHash('sha256')
  for await (const chunk of res) {
    hash.update(chunk)
    await fh.write(chunk)
  }
  await fh.sync()
  await fh.close()
  return hash.digest('hex')
}
const q = encodeURIComponent

const dids = []
let cursor
for (;;) {
  const page = await json(`/xrpc/com.atproto.sync.listRepos?limit=1000${cursor ? `&cursor=${q(cursor)}` : ''}`)
  for (const r of page.repos) dids.push(r.did)
  if (!page.cursor || page.repos.length === 0) break
  cursor = page.cursor
}
let next = 0
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < dids.length) {
      const did = dids[next++]
      const dir = path.join(out, did.replace(/:/g, '_'))
      fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true })
      const info = Buffer.from(JSON.stringify(await json(`/xrpc/com.atproto.admin.getAccountInfo?did=${q(did)}`)))
      const fh = await fs.promises.open(path.join(dir, 'account.json'), 'w', 0o600)
      await fh.write(info)
      createHash('sha256').update(info).digest('hex')
      await fh.sync()
      await fh.close()
      await save(`/xrpc/com.atproto.sync.getRepo?did=${q(did)}`, path.join(dir, 'repo.car'))
      const cids = []
      let bc
      for (;;) {
        const page = await json(`/xrpc/com.atproto.sync.listBlobs?did=${q(did)}&limit=1000${bc ? `&cursor=${q(bc)}` : ''}`)
        cids.push(...page.cids)
        if (!page.cursor || page.cids.length === 0) break
        bc = page.cursor
      }
      let n = 0
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (n < cids.length) {
            const cid = cids[n++]
            await save(`/xrpc/com.atproto.sync.getBlob?did=${q(did)}&cid=${q(cid)}`, path.join(dir, 'blobs', cid))
          }
        }),
      )
    }
  }),
)
process.stdout.write(JSON.stringify({ accounts: dids.length }) + '\n')
agent.destroy()
