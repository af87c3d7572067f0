// The baseline for `npm run bench`: the least a script can do to list every account with
// handle and email — global fetch, the same calls pdsctl makes (listRepos pages of 1000,
// getAccountInfos in batches of 100, 4 in flight), JSON out. Reads PDS_URL and
// PDS_ADMIN_PASSWORD from the environment.
const url = process.env.PDS_URL
const auth = 'Basic ' + Buffer.from(`admin:${process.env.PDS_ADMIN_PASSWORD}`).toString('base64')
const out = []
let cursor
do {
  const q = new URLSearchParams({ limit: '1000' })
  if (cursor) q.set('cursor', cursor)
  const page = await (await fetch(`${url}/xrpc/com.atproto.sync.listRepos?${q}`)).json()
  const batches = []
  for (let i = 0; i < page.repos.length; i += 100) batches.push(page.repos.slice(i, i + 100))
  const infos = new Map()
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(4, batches.length) }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]
        const qs = batch.map((r) => `dids=${encodeURIComponent(r.did)}`).join('&')
        const res = await (await fetch(`${url}/xrpc/com.atproto.admin.getAccountInfos?${qs}`, { headers: { authorization: auth } })).json()
        for (const info of res.infos) infos.set(info.did, info)
      }
    }),
  )
  for (const r of page.repos) {
    const i = infos.get(r.did)
    out.push({ did: r.did, handle: i?.handle ?? null, email: i?.email ?? null, status: r.active ? 'active' : r.status })
  }
  cursor = page.repos.length ? page.cursor : undefined
} while (cursor)
process.stdout.write(JSON.stringify(out) + '\n')
