// `pdsctl backup restore DIR ACCOUNT`: what XRPC lets an account do with its own saved
// repository. Logged in as the account (its password, never the admin's), it imports the
// saved repository (com.atproto.repo.importRepo: the full CAR and its diffs sent as one
// CAR whose root is the newest commit) and uploads every blob the PDS then reports
// missing (repo.listMissingBlobs + repo.uploadBlob, streamed from the backup).
// What the PDS refuses (a taken-down account, an account that no longer exists) is
// reported as the PDS's error; nothing is printed as restored unless the PDS confirmed it.
//
// A restore restores only what it proves (issue 17), before any request: the manifest's
// entry must parse into the paths pdsctl writes (safePaths.ts: no `..`, no CID that is not
// one), no file it names may be a link, every CAR's commit must be the account's, the
// newest must be the head the entry names, and the signature must match the account's key
// in its DID document when that can be fetched. Then, on the PDS: the backup's PDS (its
// service DID, else its URL) must be this one unless --allow-other-pds, and a handle given
// must not belong to another DID there.
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { NotFoundError, PdsctlError, UsageError } from '../errors.js'
import type { PdsClient, RawRequest } from '../pds/xrpcClient.js'
import { checkOwnFolder, lstatIfAny, LinkRefusedError, openNoFollow, resolveInside } from '../cli/safeFiles.js'
import { backupPaths, quoted } from './safePaths.js'
import { IN_BACKUP, entryProblems, hashFile, readJson, type AccountState, type Manifest } from './layout.js'
import { readCommit } from './backup.js'

export interface RestorePlan {
  did: string
  handle: string | null
  rev: string
  head: string
  cars: string[]
  blobs: number
  bytes: number
  /** The PDS the backup was taken from, as its manifest says (shown before anything is sent). */
  pds: { url: string | null; did: string | null; version: string | null }
  /** The saved commit's signature checked against the account's DID document. */
  signatureVerified: boolean
  warnings: string[]
}

/** The `--json` result of `pdsctl backup restore`. */
export interface RestoreResult extends RestorePlan {
  dryRun: boolean
  imported: boolean
  blobsUploaded: number
  /** Blobs the PDS still misses after the upload (not in the backup, damaged in it, or refused). */
  blobsStillMissing: string[]
}

export interface PlanOptions {
  /** Fetch a DID document (for the signature); undefined: not checked, said in a warning. */
  resolveDidDoc?: (did: string) => Promise<unknown>
}

const refuse = (message: string, hint = 'Check the folder with `pdsctl backup verify`; restore only from a backup pdsctl wrote') => new UsageError(message, { hint })

/** Find ACCOUNT (DID or handle) in the backup and prove what it holds: no request to the PDS. */
export async function planRestore(dir: string, account: string, opts: PlanOptions = {}): Promise<{ plan: RestorePlan; state: AccountState }> {
  const shownDir = path.resolve(dir)
  const warnings: string[] = []
  const real = await checkOwnFolder(shownDir, 'the backup folder').catch((err) => {
    if (!(err instanceof UsageError)) throw err
    // Read-only here, and everything read is checked below: said, not refused.
    warnings.push(`${err.message}: what it holds may have been changed by someone else`)
    return path.resolve(dir)
  })
  const manifest = await readJson<Manifest>(path.join(real, 'manifest.json'), path.join(shownDir, 'manifest.json')).catch((err) => {
    if (err instanceof PdsctlError) throw err
    throw new UsageError(`${path.join(shownDir, 'manifest.json')} is not readable (${(err as Error).message})`, { hint: 'Check it with `pdsctl backup verify`' })
  })
  if (!manifest || !Array.isArray(manifest.accounts)) {
    throw new UsageError(`${dir} holds no finished backup (no manifest.json)`, { hint: 'Give the folder `pdsctl backup` wrote' })
  }
  const want = account.trim().replace(/^@/, '').toLowerCase()
  const state = manifest.accounts.find((a) => (typeof a?.did === 'string' && a.did.toLowerCase() === want) || (typeof a?.handle === 'string' && a.handle.toLowerCase() === want))
  if (!state) throw new NotFoundError(`${account} is not in the backup ${dir}`, { hint: 'Name it by DID or by the handle it had when backed up (see manifest.json)' })

  // Every name parses into the paths pdsctl writes; nothing else is ever opened.
  const problems = entryProblems(state)
  if (problems.length) throw refuse(`the backup's entry for ${quoted(state.did)} cannot be trusted: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `, and ${problems.length - 3} more` : ''}`)
  const did = state.did
  const cars = [state.repo, ...state.diffs]
  const shown = (rel: string) => path.join(shownDir, rel)
  for (const c of cars) {
    const fh = await openNoFollow(resolveInside(real, c.path), shown(c.path), IN_BACKUP)
    const size = fh ? (await fh.stat()).size : undefined
    await fh?.close()
    if (size !== c.size) throw new UsageError(`${shown(c.path)} is missing or damaged in the backup`, { hint: 'Run `pdsctl backup verify` on it' })
  }
  for (const b of state.blobs) {
    const st = await lstatIfAny(resolveInside(real, backupPaths.blob(did, b.cid)))
    if (st?.isSymbolicLink()) throw new LinkRefusedError(shown(backupPaths.blob(did, b.cid)), IN_BACKUP)
  }

  // Every CAR is this account's; the newest is the head and rev the entry names.
  let last: Awaited<ReturnType<typeof readCommit>> | undefined
  for (const c of cars) {
    try {
      last = await readCommit(resolveInside(real, c.path), shown(c.path))
    } catch (err) {
      if (err instanceof PdsctlError) throw err
      throw refuse(`${shown(c.path)} is not a readable CAR (${(err as Error).message})`)
    }
    if (last.commit.did !== did) throw refuse(`${shown(c.path)} holds a repository of ${quoted(last.commit.did)}, not of ${did}: the backup was changed`)
  }
  if (!last || last.root !== state.head || last.commit.rev !== state.rev) {
    throw refuse(`the newest saved commit of ${did} (${last?.root ?? 'none'}, rev ${last?.commit.rev ?? 'none'}) is not the head ${state.head} (rev ${state.rev}) the manifest names`)
  }
  const signatureVerified = await checkSignature(real, state, opts, warnings)

  const plan: RestorePlan = {
    did,
    handle: typeof state.handle === 'string' ? state.handle : null,
    rev: state.rev,
    head: state.head,
    cars: cars.map((c) => c.path),
    blobs: state.blobs.length,
    bytes: cars.reduce((n, c) => n + c.size, 0) + state.blobs.reduce((n, b) => n + b.size, 0),
    pds: {
      url: typeof manifest.pds?.url === 'string' ? manifest.pds.url : null,
      did: typeof manifest.pds?.did === 'string' ? manifest.pds.did : null,
      version: typeof manifest.pds?.version === 'string' ? manifest.pds.version : null,
    },
    signatureVerified,
    warnings,
  }
  return { plan, state }
}

/**
 * The whole saved repository (full CAR + diffs) walked from its head: every block against
 * its CID, the MST complete, the commit the account's; and its signature against the
 * signing key of the DID document when that can be fetched (a warning when it cannot).
 */
async function checkSignature(real: string, state: AccountState, opts: PlanOptions, warnings: string[]): Promise<boolean> {
  const { readCarWithRoot, BlockMap, verifyRepo } = await import('@atproto/repo')
  const { signingKeyOf } = await import('./verify.js')
  const blocks = new BlockMap()
  let root: unknown
  for (const c of [state.repo, ...state.diffs]) {
    const fh = await openNoFollow(resolveInside(real, c.path), c.path, IN_BACKUP)
    if (!fh) throw refuse(`${c.path} is missing in the backup`)
    try {
      const car = await readCarWithRoot(await fh.readFile())
      blocks.addMap(car.blocks)
      root = car.root
    } finally {
      await fh.close()
    }
  }
  let key: string | undefined
  if (opts.resolveDidDoc) {
    try {
      key = await signingKeyOf(await opts.resolveDidDoc(state.did))
    } catch (err) {
      warnings.push(`${state.did}: signature not checked: cannot get its DID document (${err instanceof PdsctlError ? err.line : (err as Error).message})`)
    }
  } else warnings.push(`${state.did}: signature not checked (no DID document asked for)`)
  try {
    await verifyRepo(blocks, root as never, state.did, key)
  } catch (err) {
    const msg = (err as Error).message
    throw refuse(
      key
        ? `the saved repository of ${state.did} does not verify: its commit signature does not match the account's signing key, or its blocks are not whole (${msg})`
        : `the saved repository of ${state.did} does not verify (${msg})`,
    )
  }
  return key !== undefined
}

export async function restoreAccount(
  client: PdsClient,
  opts: { dir: string; state: AccountState; plan: RestorePlan; password: string; allowOtherPds?: boolean; namedHandle?: string; onStatus?: (line: string) => void },
): Promise<RestoreResult> {
  const dir = await realpath(path.resolve(opts.dir))
  const { state, plan } = opts
  const say = opts.onStatus ?? (() => {})

  await checkSamePds(client, plan, opts.allowOtherPds ?? false)
  if (opts.namedHandle) await checkHandle(client, opts.namedHandle, state.did)

  const session = (await client.procedure('com.atproto.server.createSession', { identifier: state.did, password: opts.password }, 'none')) as {
    did?: string
    accessJwt?: string
  }
  if (typeof session.accessJwt !== 'string' || session.did !== state.did) {
    throw new PdsctlError(`com.atproto.server.createSession answered for ${quoted(session.did ?? 'no account')}, not ${state.did}`)
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
  const { CID } = await import('multiformats/cid')
  for await (const cid of missingBlobs(client, auth)) {
    const b = byCid.get(cid)
    if (!b) continue
    // Only bytes that hash to the CID the PDS asks for, read without following a link.
    const rel = backupPaths.blob(state.did, cid)
    const file = resolveInside(dir, rel)
    const got = await hashFile(file, rel).catch(() => undefined)
    if (!got || got.size !== b.size || got.sha256 !== Buffer.from(CID.parse(cid).multihash.digest).toString('hex')) continue
    const fh = await openNoFollow(file, rel, IN_BACKUP)
    if (!fh) continue
    const up = await client.stream(
      { method: 'POST', path: '/xrpc/com.atproto.repo.uploadBlob', contentType: b.mimeType ?? 'application/octet-stream', auth, name: 'com.atproto.repo.uploadBlob' },
      { body: fh.createReadStream(), contentLength: b.size },
    )
    const text = await readAll(up.body)
    let ref: string | undefined
    try {
      ref = (JSON.parse(text) as { blob?: { ref?: { $link?: string } } }).blob?.ref?.$link
    } catch {
      /* checked below */
    }
    if (ref !== cid) throw new PdsctlError(`com.atproto.repo.uploadBlob for ${cid} answered ${ref ? `with ${quoted(ref)}` : 'without a blob ref'}`)
    uploaded++
    if (uploaded % 50 === 0) say(`${uploaded} blobs uploaded…`)
  }
  const still: string[] = []
  for await (const cid of missingBlobs(client, auth)) still.push(cid)
  return { ...plan, dryRun: false, imported: true, blobsUploaded: uploaded, blobsStillMissing: still }
}

/** The PDS the backup was taken from must be this one: same service DID, else (an older manifest) same URL. */
async function checkSamePds(client: PdsClient, plan: RestorePlan, allowOther: boolean): Promise<void> {
  const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.server.describeServer', name: 'com.atproto.server.describeServer' })
  const here = (res.body as { did?: unknown } | undefined)?.did
  const hereDid = typeof here === 'string' ? here : null
  const same = plan.pds.did && hereDid ? plan.pds.did === hereDid : plan.pds.url !== null && sameUrl(plan.pds.url, client.url)
  if (same || allowOther) return
  throw new UsageError(
    `the backup was taken from ${plan.pds.url ?? 'an unnamed PDS'}${plan.pds.did ? ` (${plan.pds.did})` : ''}, not from this PDS, ${client.url}${hereDid ? ` (${hereDid})` : ''}`,
    { hint: 'Pass --allow-other-pds to restore into this PDS anyway' },
  )
}

function sameUrl(a: string, b: string): boolean {
  try {
    const x = new URL(a)
    const y = new URL(b)
    return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '')
  } catch {
    return false
  }
}

/** A handle given on the command line that is another DID's on this PDS: restoring the backup's DID needs its DID named. */
async function checkHandle(client: PdsClient, handle: string, did: string): Promise<void> {
  let other: unknown
  try {
    const res = await client.call({ method: 'GET', path: '/xrpc/com.atproto.identity.resolveHandle', query: { handle }, name: 'com.atproto.identity.resolveHandle' })
    other = (res.body as { did?: unknown } | undefined)?.did
  } catch {
    return // not a handle here (any more): the DID from the backup, shown before, is what is restored
  }
  if (typeof other === 'string' && other !== did) {
    throw new UsageError(`${handle} is ${other} on this PDS, but ${did} in the backup`, { hint: `To restore ${did}, name it by its DID` })
  }
}

/** One CAR: header rooted at the newest commit, then the blocks of the full CAR and every diff (never read through a link). */
async function* combinedCar(dir: string, state: AccountState): AsyncGenerator<Uint8Array> {
  const { readCarStream, writeCarStream } = await import('@atproto/repo')
  const { CID } = await import('multiformats/cid')
  const files = [state.repo, ...state.diffs].map((f) => f.path)
  async function* blocks() {
    for (const rel of files) {
      const fh = await openNoFollow(resolveInside(dir, rel), rel, IN_BACKUP)
      if (!fh) throw new UsageError(`${rel} is missing in the backup`)
      const input = fh.createReadStream({ highWaterMark: 1 << 20 })
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
