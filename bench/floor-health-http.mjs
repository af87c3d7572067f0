// The node:http floor for `pdsctl health --json`: the same two calls (_health, then
// describeServer) on one keep-alive connection, the report printed as JSON.
// node:http is taken with getBuiltinModule, not `import`: an ES import of node:http builds
// its namespace from every export, and the lazy WebSocket/CloseEvent/MessageEvent getters
// then load Node's internal undici (~25 ms; measured). The strongest floor avoids that.
const http = process.getBuiltinModule('node:http')

const base = new URL(process.env.PDS_URL)
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const get = (path) =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    http
      .get({ host: base.hostname, port: base.port, path, agent, headers: { accept: 'application/json' } }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (c) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text), ms: Math.round(performance.now() - started) }))
      })
      .on('error', reject)
  })
const h = await get('/xrpc/_health')
const d = (await get('/xrpc/com.atproto.server.describeServer')).body
process.stdout.write(
  JSON.stringify(
    {
      url: process.env.PDS_URL,
      healthy: h.status === 200,
      version: h.body.version ?? null,
      rttMs: h.ms,
      server: { did: d.did, inviteCodeRequired: Boolean(d.inviteCodeRequired), availableUserDomains: d.availableUserDomains ?? [], contactEmail: d.contact?.email ?? null, links: { privacyPolicy: d.links?.privacyPolicy ?? null, termsOfService: d.links?.termsOfService ?? null } },
      problems: [],
    },
    null,
    2,
  ) + '\n',
)
agent.destroy()
