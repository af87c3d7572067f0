// The floor for `account migrate`: the same XRPC calls in goat's order (account, repo,
// preferences, blobs, identity, activation, deactivation), made with node:http and nothing
// else: no state file, no reads of where things stand, no verification. Bodies stream
// from one PDS into the other (getRepo → importRepo, getBlob → uploadBlob) with the same
// concurrency as pdsctl's blob copy. Two phases, as a script runs pdsctl: PHASE=1 up to
// mailing the PLC token, PHASE=2 with TOKEN from the mail.
// Env: OLD_URL, NEW_URL, DID, OLD_PASSWORD, NEW_PASSWORD, NEW_HANDLE, EMAIL, PHASE, TOKEN, CONCURRENCY.
const http = process.getBuiltinModule('node:http')

const env = process.env
const oldUrl = new URL(env.OLD_URL)
const newUrl = new URL(env.NEW_URL)
const did = env.DID
const concurrency = Number(env.CONCURRENCY ?? 4)
const agents = new Map()
const agentFor = (u) => {
  if (!agents.has(u.host)) agents.set(u.host, new http.Agent({ keepAlive: true, maxSockets: 8 }))
  return agents.get(u.host)
}

/** One request; resolves with the response stream (status checked by the caller). */
function send(base, method, path, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, method, path, agent: agentFor(base), headers }, resolve)
    req.on('error', reject)
    if (body && typeof body.pipe === 'function') body.pipe(req)
    else req.end(body)
  })
}
async function text(res) {
  const chunks = []
  for await (const c of res) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}
async function call(base, method, nsid, { query, body, bearer } = {}) {
  const qs = query ? '?' + new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined)).toString() : ''
  const headers = { accept: 'application/json' }
  if (bearer) headers.authorization = `Bearer ${bearer}`
  let data
  if (method === 'POST') {
    data = body === undefined ? '' : JSON.stringify(body)
    headers['content-type'] = 'application/json'
    headers['content-length'] = Buffer.byteLength(data)
  }
  const res = await send(base, method, `/xrpc/${nsid}${qs}`, { headers, body: data })
  const t = await text(res)
  if (res.statusCode !== 200) throw new Error(`${nsid}: HTTP ${res.statusCode} ${t.slice(0, 200)}`)
  return t ? JSON.parse(t) : undefined
}

const login = (base, password) => call(base, 'POST', 'com.atproto.server.createSession', { body: { identifier: did, password } })

if (env.PHASE === '1') {
  const old = await login(oldUrl, env.OLD_PASSWORD)
  const desc = await call(newUrl, 'GET', 'com.atproto.server.describeServer')
  const sa = await call(oldUrl, 'GET', 'com.atproto.server.getServiceAuth', {
    query: { aud: desc.did, lxm: 'com.atproto.server.createAccount', exp: String(Math.floor(Date.now() / 1000) + 180) },
    bearer: old.accessJwt,
  })
  const created = await call(newUrl, 'POST', 'com.atproto.server.createAccount', {
    body: { did, handle: env.NEW_HANDLE, email: env.EMAIL, password: env.NEW_PASSWORD },
    bearer: sa.token,
  })
  const nb = created.accessJwt
  // The repository, streamed from one PDS into the other.
  const car = await send(oldUrl, 'GET', `/xrpc/com.atproto.sync.getRepo?did=${encodeURIComponent(did)}`, { headers: { authorization: `Bearer ${old.accessJwt}` } })
  if (car.statusCode !== 200) throw new Error(`getRepo: HTTP ${car.statusCode}`)
  const headers = { authorization: `Bearer ${nb}`, 'content-type': 'application/vnd.ipld.car' }
  if (car.headers['content-length']) headers['content-length'] = car.headers['content-length']
  const imported = await send(newUrl, 'POST', '/xrpc/com.atproto.repo.importRepo', { headers, body: car })
  const it = await text(imported)
  if (imported.statusCode !== 200) throw new Error(`importRepo: HTTP ${imported.statusCode} ${it}`)
  const prefs = await call(oldUrl, 'GET', 'app.bsky.actor.getPreferences', { bearer: old.accessJwt })
  await call(newUrl, 'POST', 'app.bsky.actor.putPreferences', { body: prefs, bearer: nb })
  // Blobs: every missing one, `concurrency` at a time, each body streamed through.
  let cursor
  for (;;) {
    const page = await call(newUrl, 'GET', 'com.atproto.repo.listMissingBlobs', { query: { limit: '500', cursor }, bearer: nb })
    const cids = page.blobs.map((b) => b.cid)
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < cids.length) {
          const cid = cids[next++]
          const src = await send(oldUrl, 'GET', `/xrpc/com.atproto.sync.getBlob?did=${encodeURIComponent(did)}&cid=${cid}`, { headers: { authorization: `Bearer ${old.accessJwt}` } })
          if (src.statusCode !== 200) throw new Error(`getBlob: HTTP ${src.statusCode}`)
          const h = { authorization: `Bearer ${nb}`, 'content-type': src.headers['content-type'] ?? 'application/octet-stream' }
          if (src.headers['content-length']) h['content-length'] = src.headers['content-length']
          const up = await send(newUrl, 'POST', '/xrpc/com.atproto.repo.uploadBlob', { headers: h, body: src })
          const ut = await text(up)
          if (up.statusCode !== 200 || JSON.parse(ut).blob.ref.$link !== cid) throw new Error(`uploadBlob ${cid}: HTTP ${up.statusCode} ${ut.slice(0, 200)}`)
        }
      }),
    )
    if (!page.cursor || cids.length < 500) break
    cursor = page.cursor
  }
  await call(newUrl, 'GET', 'com.atproto.server.checkAccountStatus', { bearer: nb })
  await call(oldUrl, 'POST', 'com.atproto.identity.requestPlcOperationSignature', { bearer: old.accessJwt })
} else {
  const [old, neu] = await Promise.all([login(oldUrl, env.OLD_PASSWORD), login(newUrl, env.NEW_PASSWORD)])
  const creds = await call(newUrl, 'GET', 'com.atproto.identity.getRecommendedDidCredentials', { bearer: neu.accessJwt })
  const signed = await call(oldUrl, 'POST', 'com.atproto.identity.signPlcOperation', { body: { token: env.TOKEN, ...creds }, bearer: old.accessJwt })
  await call(newUrl, 'POST', 'com.atproto.identity.submitPlcOperation', { body: { operation: signed.operation }, bearer: neu.accessJwt })
  await call(newUrl, 'POST', 'com.atproto.server.activateAccount', { bearer: neu.accessJwt })
  await call(oldUrl, 'POST', 'com.atproto.server.deactivateAccount', { body: {}, bearer: old.accessJwt })
}
process.stdout.write('{"ok":true}\n')
for (const a of agents.values()) a.destroy()
