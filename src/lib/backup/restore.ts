// `pdsctl backup restore DIR ACCOUNT`: what XRPC lets an account do with its own saved
// repository. Logged in as the account (its password, never the admin's), it imports the
// saved repository (com.atproto.repo.importRepo: the full CAR and its diffs sent as one
// CAR whose root is the newest commit) and uploads every blob the PDS then reports
// missing (repo.listMissingBlobs + repo.uploadBlob, streamed from the backup).
// What the PDS refuses (a taken-down account, an account that no longer exists) is
// reported as the PDS's error; nothing is printed as restored unless the PDS confirmed it.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { NotFoundError, PdsctlError, UsageError } from '../errors.js'
import type { PdsClient, RawRequest } from '../pds/xrpcClient.js'
import { readJson, type AccountState, type Manifest } from './layout.js'

export interface RestorePlan {
  did: string
  handle: string | null
  rev: string
  head: string
  cars: string[]
  blobs: number
  bytes: number
}

/** The `--json` result of `pdsctl backup restore`. */
export interface RestoreResult extends RestorePlan {
  dryRun: boolean
  imported: boolean
  blobsUploaded: number
  /** Blobs the PDS still misses after the upload (not in the backup, or refused). */
  blobsStillMissing: string[]
}

/** Find ACCOUNT (DID or handle) in the backup's manifest: no network. */
export async function planRestore(dir: string, account: string): Promise<{ plan: RestorePlan; state: AccountState }> {
  const manifest = await readJson<Manifest>(path.join(path.resolve(dir), 'manifest.json')).catch((err) => {
    throw new UsageError(`${dir}/manifest.json is not readable (${(err as Error).message})`, { hint: 'Check it with `pdsctl backup verify`' })
  })
  if (!manifest || !Array.isArray(manifest.accounts)) {
    throw new UsageError(`${dir} holds no finished backup (no manifest.json)`, { hint: 'Give the folder `pdsctl backup` wrote' })
  }
  const want = account.trim().replace(/^@/, '').toLowerCase()
  const state = manifest.accounts.find((a) => a.did.toLowerCase() === want || (a.handle ?? '').toLowerCase() === want)
  if (!state) throw new NotFoundError(`${account} is not in the backup ${dir}`, { hint: 'Name it by DID or by the handle it had when backed up (see manifest.json)' })
  const cars = [state.repo, ...state.diffs]
  const plan: RestorePlan = {
    did: state.did,
    handle: state.handle,
    rev: state.rev,
    head: state.head,
    cars: cars.map((c) => c.path),
    blobs: state.blobs.length,
    bytes: cars.reduce((n, c) => n + c.size, 0) + state.blobs.reduce((n, b) => n + b.size, 0),
  }
  for (const c of cars) {
    const st = await stat(path.join(path.resolve(dir), c.path)).catch(() => undefined)
    if (!st || st.size !== c.size) throw new UsageError(`${c.path} is missing or damaged in the backup`, { hint: 'Run `pdsctl backup verify` on it' })
  }
  return { plan, state }
}

export async function restoreAccount(
  client: PdsClient,
  opts: { dir: string; state: AccountState; plan: RestorePlan; password: string; onStatus?: (line: string) => void },
): Promise<RestoreResult> {
  const dir = path.resolve(opts.dir)
  const { state, plan } = opts
  const say = opts.onStatus ?? (() => {})

  const session = (await client.procedure('com.atproto.server.createSession', { identifier: state.did, password: opts.password }, 'none')) as {
    did?: string
    accessJwt?: string
  }
  if (typeof session.accessJwt !== 'string' || session.did !== state.did) {
    throw new PdsctlError(`com.atproto.server.createSession answered for ${session.did ?? 'no account'}, not ${state.did}`)
  }
  const auth = { bearer: session.accessJwt }

  say(`Importing the repository at rev ${state.rev} (${plan.cars.length} CAR file${plan.cars.length === 1 ? '' : 's'})…`)
  const res = await client.stream(
    { method: 'POST', path: '/xrpc/com.atproto.repo.importRepo', contentType: 'application/vnd.ipld.car', auth, name: 'com.atproto.repo.importRepo' },
    { body: Readable.from(combinedCar(dir, state)) },
  )
  res.body.resume()
  await new Promise((r) => res.body.once('end', r).once('close', r))

  let uploaded = 0
  const byCid = new Map(state.blobs.map((b) => [b.cid, b]))
  for await (const cid of missingBlobs(client, auth)) {
    const b = byCid.get(cid)
    if (!b) continue
    const file = path.join(dir, path.dirname(state.repo.path), 'blobs', cid)
    const up = await client.stream(
      { method: 'POST', path: '/xrpc/com.atproto.repo.uploadBlob', contentType: b.mimeType ?? 'application/octet-stream', auth, name: 'com.atproto.repo.uploadBlob' },
      { body: createReadStream(file), contentLength: b.size },
    )
    const text = await readAll(up.body)
    let got: string | undefined
    try {
      got = (JSON.parse(text) as { blob?: { ref?: { $link?: string } } }).blob?.ref?.$link
    } catch {
      /* checked below */
    }
    if (got !== cid) throw new PdsctlError(`com.atproto.repo.uploadBlob for ${cid} answered ${got ? `with ${got}` : 'without a blob ref'}`)
    uploaded++
    if (uploaded % 50 === 0) say(`${uploaded} blobs uploaded…`)
  }
  const still: string[] = []
  for await (const cid of missingBlobs(client, auth)) still.push(cid)
  return { ...plan, dryRun: false, imported: true, blobsUploaded: uploaded, blobsStillMissing: still }
}

/** One CAR: header rooted at the newest commit, then the blocks of the full CAR and every diff. */
async function* combinedCar(dir: string, state: AccountState): AsyncGenerator<Uint8Array> {
  const { readCarStream, writeCarStream } = await import('@atproto/repo')
  const { CID } = await import('multiformats/cid')
  const files = [state.repo, ...state.diffs].map((f) => path.join(dir, f.path))
  async function* blocks() {
    for (const f of files) {
      const input = createReadStream(f, { highWaterMark: 1 << 20 })
      try {
        const car = await readCarStream(input)
        for await (const block of car.blocks) yield block
      } finally {
        input.destroy()
      }
    }
  }
  yield* writeCarStream(CID.parse(state.head) as never, blocks())
}

async function* missingBlobs(client: PdsClient, auth: { bearer: string }): AsyncGenerator<string> {
  let cursor: string | undefined
  for (;;) {
    const req: RawRequest = { method: 'GET', path: '/xrpc/com.atproto.repo.listMissingBlobs', query: { limit: 1000, cursor }, auth, name: 'com.atproto.repo.listMissingBlobs' }
    const res = await client.call(req)
    const body = res.body as { cursor?: string; blobs?: Array<{ cid?: string }> }
    if (!Array.isArray(body?.blobs)) throw new PdsctlError('com.atproto.repo.listMissingBlobs answered without a blobs list')
    for (const b of body.blobs) if (typeof b.cid === 'string') yield b.cid
    if (!body.cursor || body.blobs.length === 0) return
    cursor = body.cursor
  }
}

async function readAll(body: Readable): Promise<string> {
  let s = ''
  for await (const c of body) s += (c as Buffer).toString('utf8')
  return s
}
