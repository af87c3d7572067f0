// A synthetic PDS for the bench: just enough of com.atproto.sync.listRepos and
// com.atproto.admin.getAccountInfos (their lexicon shapes) to list N accounts, without
// holding N rows (each row is computed from its index). It also records when the first
// request of each connection-less run arrives, to time "first request leaves". And a
// synthetic relay (getRepoStatus, getHostStatus) for `relay accounts` over N accounts: the
// first `limit` accounts active at the PDS's rev, the rest throttled, as a relay's per-host
// account limit leaves them.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SyntheticPds {
  url: string
  adminPassword: string
  /** Wall-clock ms (Date.now()) of each first request since reset(). */
  firstRequestAt(): number | undefined
  reset(): void
  close(): Promise<void>
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
export function syntheticDid(i: number): string {
  let s = ''
  let n = i
  for (let k = 0; k < 24; k++) {
    s = B32[n % 32] + s
    n = Math.floor(n / 32)
  }
  return `did:plc:${s}`
}
/** Account i's rev: a valid TID (13 base32-sortable characters), the same on the PDS and the relay. */
const TID_CHARS = '234567abcdefghijklmnopqrstuvwxyz'
export function syntheticRev(i: number): string {
  let s = ''
  let n = i
  for (let k = 0; k < 8; k++) {
    s = TID_CHARS[n % 32] + s
    n = Math.floor(n / 32)
  }
  return '3m2aa' + s
}
function indexOf(did: string): number {
  const s = did.slice(8)
  let n = 0
  for (const c of s) n = n * 32 + B32.indexOf(c)
  return n
}

/** [identity] What the identity check reads of account i: its latest commit (CID, and a CAR with its block). */
export interface SyntheticRepos {
  head(i: number): string
  commitCar(i: number): Buffer
}

export async function startSyntheticPds(accounts: number, opts: { adminPassword?: string; repos?: SyntheticRepos } = {}): Promise<SyntheticPds> {
  const adminPassword = opts.adminPassword ?? 'bench-admin-password'
  const auth = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64')
  let first: number | undefined
  const server = http.createServer((req, res) => {
    first ??= Date.now()
    const url = new URL(req.url ?? '/', 'http://x')
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    switch (url.pathname) {
      case '/xrpc/_health':
        return send(200, '{"version":"0.5.0-synthetic"}')
      case '/xrpc/com.atproto.server.describeServer':
        return send(200, JSON.stringify({ did: 'did:web:synthetic.test', availableUserDomains: ['.synthetic.test'], inviteCodeRequired: false, links: {}, contact: {} }))
      case '/xrpc/com.atproto.sync.listRepos': {
        const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 500))
        const start = url.searchParams.has('cursor') ? indexOf(url.searchParams.get('cursor')!) + 1 : 0
        const end = Math.min(accounts, start + limit)
        const repos: string[] = []
        for (let i = start; i < end; i++) repos.push(`{"did":"${syntheticDid(i)}","head":"${opts.repos?.head(i) ?? 'bafyreib2rxk3rh6kzwq'}","rev":"${syntheticRev(i)}","active":true}`)
        const cursor = end > start ? `,"cursor":"${syntheticDid(end - 1)}"` : ''
        return send(200, `{"repos":[${repos.join(',')}]${cursor}}`)
      }
      case '/xrpc/com.atproto.admin.getAccountInfos': {
        if (req.headers.authorization !== auth) return send(401, '{"error":"AuthMissing","message":"Authentication Required"}')
        const infos = url.searchParams.getAll('dids').map((did) => {
          const i = indexOf(did)
          return `{"did":"${did}","handle":"user${i}.synthetic.test","email":"user${i}@synthetic.test","indexedAt":"2026-01-01T00:00:00.000Z","invitesDisabled":false}`
        })
        return send(200, `{"infos":[${infos.join(',')}]}`)
      }
      // One account's view and an empty invite list: enough for the first request of a
      // command that names an account (`account takedown DID --dry-run`) or lists invites.
      case '/xrpc/com.atproto.admin.getAccountInfo': {
        if (req.headers.authorization !== auth) return send(401, '{"error":"AuthMissing","message":"Authentication Required"}')
        const did = url.searchParams.get('did') ?? ''
        const i = indexOf(did)
        if (!did.startsWith('did:plc:') || i >= accounts) return send(400, '{"error":"NotFound","message":"Account not found"}')
        return send(200, `{"did":"${did}","handle":"user${i}.synthetic.test","email":"user${i}@synthetic.test","indexedAt":"2026-01-01T00:00:00.000Z","invitesDisabled":false}`)
      }
      case '/xrpc/com.atproto.admin.getInviteCodes':
        if (req.headers.authorization !== auth) return send(401, '{"error":"AuthMissing","message":"Authentication Required"}')
        return send(200, '{"codes":[]}')
      // [identity] What identity check asks of each account: its handle, both ways, and its latest commit's block.
      case '/xrpc/com.atproto.identity.resolveHandle': {
        const m = /^user(\d+)\.synthetic\.test$/.exec(url.searchParams.get('handle') ?? '')
        if (!m || Number(m[1]) >= accounts) return send(400, '{"error":"HandleNotFound","message":"Unable to resolve handle"}')
        return send(200, `{"did":"${syntheticDid(Number(m[1]))}"}`)
      }
      case '/.well-known/atproto-did': {
        const m = /^user(\d+)\.synthetic\.test$/.exec((req.headers.host ?? '').replace(/:\d+$/, ''))
        if (!m || Number(m[1]) >= accounts) return send(404, 'User not found')
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
        return res.end(syntheticDid(Number(m[1])))
      }
      case '/xrpc/com.atproto.sync.getBlocks': {
        const did = url.searchParams.get('did') ?? ''
        const i = indexOf(did)
        if (!opts.repos || !did.startsWith('did:plc:') || i >= accounts || url.searchParams.get('cids') !== opts.repos.head(i)) return send(400, '{"error":"InvalidRequest","message":"Could not find cids"}')
        const car = opts.repos.commitCar(i)
        res.writeHead(200, { 'content-type': 'application/vnd.ipld.car', 'content-length': car.length })
        return res.end(car)
      }
      default:
        return send(404, '{"error":"MethodNotImplemented","message":"Method Not Implemented"}')
    }
  })
  server.keepAliveTimeout = 10_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    adminPassword,
    firstRequestAt: () => first,
    reset: () => {
      first = undefined
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

export interface SyntheticRelay {
  url: string
  /** getRepoStatus requests answered. */
  requests(): number
  close(): Promise<void>
}

/** A relay that knows the synthetic PDS's accounts: the first `limit` active and in sync, the rest throttled. */
export async function startSyntheticRelay(opts: { limit: number; hostname?: string }): Promise<SyntheticRelay> {
  let answered = 0
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    if (req.headers.authorization) return send(400, '{"error":"InvalidRequest","message":"a credential was sent to the relay"}')
    if (url.pathname === '/xrpc/com.atproto.sync.getRepoStatus') {
      answered++
      const did = url.searchParams.get('did') ?? ''
      if (!did.startsWith('did:plc:')) return send(400, '{"error":"RepoNotFound","message":"account not found"}')
      const i = indexOf(did)
      return send(200, i < opts.limit ? `{"did":"${did}","active":true,"rev":"${syntheticRev(i)}"}` : `{"did":"${did}","active":false,"status":"throttled"}`)
    }
    if (url.pathname === '/xrpc/com.atproto.sync.getHostStatus') {
      return send(200, JSON.stringify({ hostname: url.searchParams.get('hostname'), seq: 0, accountCount: opts.limit, status: 'active' }))
    }
    send(404, '{"error":"MethodNotImplemented","message":"Method Not Implemented"}')
  })
  server.keepAliveTimeout = 10_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => answered,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
