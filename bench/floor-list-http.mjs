// The node:http floor for `account list --json` (what the fastest small script can do):
// keep-alive agent, listRepos pages fetched ahead (the next page is asked for as soon as
// the cursor is known), getAccountInfos batches of 100 from every page sharing one pool of
// 8 in flight, rows written in order in pdsctl's JSON shape. Reads PDS_URL and
// PDS_ADMIN_PASSWORD; LIMIT optionally.
// node:http is taken with getBuiltinModule, not `import`: an ES import of node:http builds
// its namespace from every export, and the lazy WebSocket/CloseEvent/MessageEvent getters
// then load Node's internal undici (~25 ms; measured). The strongest floor avoids that.
const http = process.getBuiltinModule('node:http')

const base = new URL(process.env.PDS_URL)
const auth = 'Basic ' + Buffer.from(`admin:${process.env.PDS_ADMIN_PASSWORD}`).toString('base64')
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
const get = (path, headers = {}) =>
  new Promise((resolve, reject) => {
    http
      .get({ host: base.hostname, port: base.port, path, agent, headers: { accept: 'application/json', ...headers } }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`HTTP ${res.statusCode} ${path}`))))
        res.on('error', reject)
      })
      .on('error', reject)
  })

const WIDTH = 8
let active = 0
const waiting = []
const slot = () => (active < WIDTH ? (active++, Promise.resolve()) : new Promise((r) => waiting.push(r)))
const release = () => (waiting.length ? waiting.shift()() : active--)
const infos = async (repos) => {
  await slot()
  try {
    const res = await get(`/xrpc/com.atproto.admin.getAccountInfos?${repos.map((r) => `dids=${encodeURIComponent(r.did)}`).join('&')}`, { authorization: auth })
    const byDid = new Map(res.infos.map((i) => [i.did, i]))
    return repos.map((r) => {
      const i = byDid.get(r.did)
      return {
        did: r.did,
        handle: i?.handle ?? null,
        email: i?.email ?? null,
        emailConfirmed: Boolean(i?.emailConfirmedAt),
        emailConfirmedAt: i?.emailConfirmedAt ?? null,
        status: r.active === false ? (r.status ?? 'inactive') : 'active',
        createdAt: i?.indexedAt ?? null,
        deactivatedAt: i?.deactivatedAt ?? null,
        invitesDisabled: i?.invitesDisabled ?? false,
      }
    })
  } finally {
    release()
  }
}

const queue = [] // batches in order
let done = false
let wake
;(async () => {
  let cursor
  let left = Number(process.env.LIMIT ?? Infinity)
  do {
    const q = new URLSearchParams({ limit: String(Math.min(1000, left)) })
    if (cursor) q.set('cursor', cursor)
    const page = await get(`/xrpc/com.atproto.sync.listRepos?${q}`)
    const repos = page.repos.slice(0, left)
    left -= repos.length
    for (let i = 0; i < repos.length; i += 100) {
      const p = infos(repos.slice(i, i + 100))
      p.catch(() => {})
      queue.push(p)
    }
    wake?.()
    cursor = page.repos.length && left > 0 ? page.cursor : undefined
  } while (cursor)
  done = true
  wake?.()
})().catch((e) => {
  process.stderr.write(String(e) + '\n')
  process.exit(1)
})

let n = 0
for (;;) {
  if (!queue.length) {
    if (done) break
    await new Promise((r) => (wake = r))
    continue
  }
  let chunk = ''
  for (const row of await queue.shift()) chunk += (n++ === 0 ? '[\n  ' : ',\n  ') + JSON.stringify(row)
  if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r))
}
process.stdout.write(n === 0 ? '[]\n' : '\n]\n')
agent.destroy()
