// A synthetic PLC directory for the bench's `identity check` at scale: the audit log of
// each synthetic account (syntheticDid(i)), computed from its index, never stored. Every
// account is healthy: created by the synthetic PDS's rotation key, pointing at the
// synthetic PDS, handle user{i}.synthetic.test, signing key the one its commits are
// signed with (syntheticRepos). Only what `identity check` reads: a check does not verify
// the directory's own signatures or CIDs (identity show does), so those are placeholders.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Secp256k1Keypair } from '@atproto/crypto'
import { BlockMap, blocksToCarFile, signCommit } from '@atproto/repo'
import { syntheticDid, type SyntheticRepos } from './synthetic.js'

export interface SyntheticPlc {
  url: string
  /** Requests answered (GET /DID/log/audit). */
  requests(): number
  close(): Promise<void>
}

/** One signed commit per account, made up front (signing is the server's cost, not pdsctl's). */
export async function syntheticRepos(accounts: number, signingKey: Secp256k1Keypair): Promise<SyntheticRepos> {
  const data = await new BlockMap().add({ e: [], l: null })
  const heads: string[] = []
  const cars: Buffer[] = []
  for (let i = 0; i < accounts; i++) {
    const commit = await signCommit({ did: syntheticDid(i), version: 3, data, rev: '3jzfcijpj2z2a', prev: null }, signingKey)
    const blocks = new BlockMap()
    heads.push((await blocks.add(commit as never)).toString())
    cars.push(Buffer.from(await blocksToCarFile(null, blocks)))
  }
  return { head: (i) => heads[i], commitCar: (i) => cars[i] }
}

export async function startSyntheticPlc(accounts: number, opts: { pdsUrl: string; rotationKey: string; signingKey: string }): Promise<SyntheticPlc> {
  let served = 0
  const B32 = 'abcdefghijklmnopqrstuvwxyz234567'
  const indexOf = (did: string) => {
    let n = 0
    for (const c of did.slice(8)) n = n * 32 + B32.indexOf(c)
    return n
  }
  const server = http.createServer((req, res) => {
    const m = /^\/(did:plc:[a-z2-7]{24})\/log\/audit$/.exec(req.url ?? '')
    const i = m ? indexOf(m[1]) : -1
    if (!m || i >= accounts) {
      res.writeHead(404, { 'content-type': 'application/json' })
      return res.end(JSON.stringify({ message: `DID not registered: ${m?.[1] ?? req.url}` }))
    }
    served++
    const did = syntheticDid(i)
    const operation = {
      type: 'plc_operation',
      rotationKeys: [opts.rotationKey],
      verificationMethods: { atproto: opts.signingKey },
      alsoKnownAs: [`at://user${i}.synthetic.test`],
      services: { atproto_pds: { type: 'AtprotoPersonalDataServer', endpoint: opts.pdsUrl } },
      prev: null,
      sig: 'c3ludGhldGlj',
    }
    const body = JSON.stringify([{ did, operation, cid: 'bafyreigsyntheticsyntheticsyntheticsynthetic', nullified: false, createdAt: '2026-01-01T00:00:00.000Z' }])
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  server.keepAliveTimeout = 10_000
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => served,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
