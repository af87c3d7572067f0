// The batched floor for `account takedown - --yes --json`: DIDs from stdin, existence
// checked with one getAccountInfos per 100, then the updateSubjectStatus writes 8 in
// flight over keep-alive node:http, results in input order as JSON.
// node:http is taken with getBuiltinModule, not `import`: an ES import of node:http builds
// its namespace from every export, and the lazy WebSocket/CloseEvent/MessageEvent getters
// then load Node's internal undici (~25 ms; measured). The strongest floor avoids that.
const http = process.getBuiltinModule('node:http')

const base = new URL(process.env.PDS_URL)
const auth = 'Basic ' + Buffer.from(`admin:${process.env.PDS_ADMIN_PASSWORD}`).toString('base64')
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
const call = (method, path, body) =>
  new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const headers = { accept: 'application/json', authorization: auth }
    if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) })
    const req = http.request({ host: base.hostname, port: base.port, path, method, agent, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString() || 'null')) : reject(new Error(`HTTP ${res.statusCode} ${path}`))))
    })
    req.on('error', reject)
    req.end(data)
  })

let input = ''
for await (const c of process.stdin) input += c
const dids = input.split('\n').map((l) => l.trim()).filter(Boolean)
const infos = new Map()
const batches = []
for (let i = 0; i < dids.length; i += 100) batches.push(dids.slice(i, i + 100))
await Promise.all(
  batches.map(async (b) => {
    const res = await call('GET', `/xrpc/com.atproto.admin.getAccountInfos?${b.map((d) => `dids=${encodeURIComponent(d)}`).join('&')}`)
    for (const i of res.infos) infos.set(i.did, i)
  }),
)
const results = new Array(dids.length)
let next = 0
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < dids.length) {
      const i = next++
      const did = dids[i]
      const info = infos.get(did)
      if (!info) {
        results[i] = { input: did, ok: false, error: 'not found' }
        continue
      }
      const res = await call('POST', '/xrpc/com.atproto.admin.updateSubjectStatus', { subject: { $type: 'com.atproto.admin.defs#repoRef', did }, takedown: { applied: true } })
      results[i] = { input: did, ok: Boolean(res.subject), result: { did, handle: info.handle, action: 'takedown', dryRun: false } }
    }
  }),
)
process.stdout.write(JSON.stringify({ results, ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length }, null, 2) + '\n')
agent.destroy()
